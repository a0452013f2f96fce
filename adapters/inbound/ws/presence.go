package ws

// This file is presence: this gateway's entry in the shared registry, and
// the merged view its clients are sent (as changes to pixel.v2 clients, as
// the bounded stats and user_list pair to v1 clients: presencewire.go).

import (
	"context"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// presenceLoop keeps this gateway's entry fresh, tells the other gateways
// when it changes, and tells every local client the merged view: a v2
// client what changed, at most every presenceMinInterval; a v1 client the
// stats and user_list pair when it changes (a long list at most every
// v1SlowInterval) and every presenceRebroadcast.
func (h *Hub) presenceLoop(ctx context.Context) {
	defer h.wg.Done()
	refresh := time.NewTicker(domain.PresenceRefresh)
	defer refresh.Stop()
	var others []domain.GatewayPresence // last good list, for when the registry is unreachable
	var listedAt time.Time
	var v1 v1Presence
	for {
		local, remote := false, false
		select {
		case <-ctx.Done():
			return
		case <-h.presenceKick:
			local = true
		case <-h.remoteKick:
			remote = true
		case <-refresh.C:
		case <-v1.due:
		}
		if h.reg.draining.Load() {
			continue
		}
		mine := h.reg.presence(h.entryID)
		if local || !remote {
			actx, cancel := context.WithTimeout(ctx, storeCallTimeout)
			err := h.o.Presence.Announce(actx, mine, domain.PresenceTTL)
			if err == nil && local {
				err = h.o.Bus.Publish(actx, h.chUsers, []byte(h.entryID))
			}
			cancel()
			if err != nil {
				h.log.Warn("presence announce failed", "err", err)
			}
		}
		lctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
		entries, err := h.o.Presence.List(lctx)
		cancel()
		if err != nil && time.Since(listedAt) > domain.PresenceTTL {
			// Unreachable for longer than an entry lives: the other
			// gateways' entries would have expired by now, so stop
			// counting them rather than show the dead forever.
			others = others[:0]
		}
		if err == nil {
			listedAt = time.Now()
			others = others[:0]
			// Only this canvas's entries: every gateway's hub of the
			// canvas keeps one (domain.PresenceEntryID).
			live := map[string]bool{h.entryID: true}
			for _, e := range entries {
				if e.Canvas() != h.slug {
					continue
				}
				live[e.GatewayID] = true
				if e.GatewayID != h.entryID {
					others = append(others, e)
				}
			}
			h.dropCursorsOf(live)
		}
		view := domain.MergePresence(append(append([]domain.GatewayPresence(nil), others...), mine))
		now := h.o.Clock.Now()
		h.viewMu.Lock()
		h.view = view
		h.viewMu.Unlock()
		h.reg.publishPresence(view, v1.frames(view, now))
		// Coalesce a burst of connects into one broadcast per interval.
		select {
		case <-ctx.Done():
			return
		case <-time.After(presenceMinInterval):
		}
	}
}

// v1Presence decides when v1 clients are sent the stats and user_list
// pair. It belongs to the presence loop.
type v1Presence struct {
	sent    domain.PresenceView // what they were told last (names capped)
	sentAt  time.Time
	pending bool             // a change is held back until due
	due     <-chan time.Time // fires when a held-back change may go
}

// frames is the pair to send v1 clients now, or nil: when what they would
// be told changed (at once while the list is short, else once
// v1SlowInterval has passed since the last pair), and every
// presenceRebroadcast regardless.
func (p *v1Presence) frames(view domain.PresenceView, now time.Time) [][]byte {
	v := v1View(view)
	changed := !v.Equal(p.sent)
	since := now.Sub(p.sentAt)
	short := len(view.Users) <= v1SmallList && len(p.sent.Users) <= v1SmallList
	send := since >= presenceRebroadcast || (changed && (short || since >= v1SlowInterval))
	if !send {
		if changed && !p.pending {
			p.pending, p.due = true, time.After(v1SlowInterval-since)
		}
		if !changed {
			p.pending, p.due = false, nil
		}
		return nil
	}
	p.sent, p.sentAt, p.pending, p.due = v, now, false, nil
	stats, users := encodePresence(v, now.UnixMilli())
	return [][]byte{stats, users}
}

// View is the latest merged presence this gateway knows.
func (h *Hub) View() domain.PresenceView {
	h.viewMu.Lock()
	defer h.viewMu.Unlock()
	return h.view
}
