package ws

// This file is presence: this gateway's entry in the shared registry, and
// the merged view (stats then user_list) its clients are sent.

import (
	"context"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// presenceLoop keeps this gateway's entry fresh, tells the other gateways
// when it changes, and sends every local client the merged view (stats then
// user_list) when it changes and every presenceRebroadcast.
func (h *Hub) presenceLoop(ctx context.Context) {
	defer h.wg.Done()
	refresh := time.NewTicker(domain.PresenceRefresh)
	defer refresh.Stop()
	var others []domain.GatewayPresence // last good list, for when the registry is unreachable
	var listedAt, lastFull time.Time
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
		}
		if h.reg.draining.Load() {
			continue
		}
		mine := h.reg.presence(h.o.GatewayID)
		if local || !remote {
			actx, cancel := context.WithTimeout(ctx, storeCallTimeout)
			err := h.o.Presence.Announce(actx, mine, domain.PresenceTTL)
			if err == nil && local {
				err = h.o.Bus.Publish(actx, ports.ChannelUserEvents, []byte(h.o.GatewayID))
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
			live := map[string]bool{h.o.GatewayID: true}
			for _, e := range entries {
				live[e.GatewayID] = true
				if e.GatewayID != h.o.GatewayID {
					others = append(others, e)
				}
			}
			h.dropCursorsOf(live)
		}
		view := domain.MergePresence(append(append([]domain.GatewayPresence(nil), others...), mine))
		now := h.o.Clock.Now()
		h.viewMu.Lock()
		changed := !view.Equal(h.view)
		h.view = view
		h.viewMu.Unlock()
		if changed || now.Sub(lastFull) >= presenceRebroadcast {
			lastFull = now
			h.broadcastPresence(view, now)
		}
		// Coalesce a burst of connects into one broadcast per interval.
		select {
		case <-ctx.Done():
			return
		case <-time.After(presenceMinInterval):
		}
	}
}

func (h *Hub) broadcastPresence(v domain.PresenceView, now time.Time) {
	h.reg.broadcast(encodePresence(v, now.UnixMilli()))
}

// View is the latest merged presence this gateway knows.
func (h *Hub) View() domain.PresenceView {
	h.viewMu.Lock()
	defer h.viewMu.Unlock()
	return h.view
}
