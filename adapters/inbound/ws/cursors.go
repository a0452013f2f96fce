package ws

// This file is cursors. They travel in two coalescing steps: each gateway
// collects its own clients' moves and publishes them once per flush; every
// gateway (itself included, through the bus) collects what it receives and
// sends its clients one `cursors` message per flush.

import (
	"context"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
)

func (h *Hub) cursorMove(c domain.Cursor) {
	h.cursorMu.Lock()
	h.localCursor.Move(c)
	h.cursorMu.Unlock()
}

func (h *Hub) cursorLeave(clientID string) {
	h.cursorMu.Lock()
	h.localCursor.Leave(clientID)
	h.cursorMu.Unlock()
}

func (h *Hub) applyRemoteCursors(b busmsg.Cursors) {
	h.cursorMu.Lock()
	defer h.cursorMu.Unlock()
	for _, c := range b.Moved {
		h.outCursor.Move(c)
		h.cursorNow[c.ClientID] = cursorEntry{cursor: c, gateway: b.GatewayID}
	}
	for _, id := range b.Gone {
		h.outCursor.Leave(id)
		delete(h.cursorNow, id)
	}
}

// dropCursorsOf forgets the cursors of gateways that are no longer alive,
// whose clients never said goodbye.
func (h *Hub) dropCursorsOf(live map[string]bool) {
	h.cursorMu.Lock()
	defer h.cursorMu.Unlock()
	for id, e := range h.cursorNow {
		if !live[e.gateway] {
			h.outCursor.Leave(id)
			delete(h.cursorNow, id)
		}
	}
}

// sendCursorState tells a newcomer where everybody's pointer is.
func (h *Hub) sendCursorState(c *Conn) {
	h.cursorMu.Lock()
	all := make([]domain.Cursor, 0, len(h.cursorNow))
	for _, e := range h.cursorNow {
		all = append(all, e.cursor)
	}
	h.cursorMu.Unlock()
	if len(all) > 0 {
		c.sendDroppable(encodeCursors(all, nil))
	}
}

func (h *Hub) cursorLoop(ctx context.Context) {
	defer h.wg.Done()
	tick := time.NewTicker(h.o.CursorFlush)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.cursorMu.Lock()
		var out busmsg.Cursors
		if !h.localCursor.Empty() {
			out.GatewayID = h.entryID // the presence entry its cursors live and die with
			out.Moved, out.Gone = h.localCursor.Flush()
		}
		var moved []domain.Cursor
		var gone []string
		if !h.outCursor.Empty() {
			moved, gone = h.outCursor.Flush()
		}
		h.cursorMu.Unlock()
		if out.GatewayID != "" {
			pctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
			if err := h.o.Bus.Publish(pctx, h.chCursors, busmsg.EncodeCursors(out)); err != nil {
				// Try again next flush: a lost "gone" would leave a ghost
				// cursor on every other gateway.
				h.log.Debug("cursor publish failed", "err", err)
				h.cursorMu.Lock()
				h.localCursor.Restore(out.Moved, out.Gone)
				h.cursorMu.Unlock()
			}
			cancel()
		}
		if len(moved) > 0 || len(gone) > 0 {
			h.reg.broadcastDroppable(encodeCursors(moved, gone))
		}
	}
}
