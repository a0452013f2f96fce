package ws

// This file is resuming: a client that reconnects with `?since=N` (or sends
// `resume`) is replayed the events after N from the store's history, then
// told `resumed`, then receives what arrived live meanwhile, with nothing
// missing and nothing twice.

import (
	"context"

	"github.com/pixelplayground/pixelplayground/domain"
)

// resume replays history after since to c, then `resumed`, then whatever
// arrived live meanwhile (the registry holds it in c's backlog until then).
// c must be catching up (registered so, or marked by resumeLive).
func (h *Hub) resume(c *Conn, since domain.Seq) {
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
	defer cancel()
	limit := maxReplay
	if h.o.HistoryLimit > 0 {
		limit = min(limit, h.o.HistoryLimit)
	}
	// One more than we replay: a client further behind than that reloads
	// its snapshot, which is cheaper for both sides than thousands of
	// frames and cannot overflow its send queue.
	events, complete, err := h.o.Store.Since(ctx, since, limit+1)
	if err != nil {
		h.o.Metrics.StoreErrors.Inc()
		h.log.Warn("resume: history unavailable", "client", c.id, "since", since, "err", err)
	}
	if len(events) > limit {
		complete = false
	}
	recovered := err == nil && complete
	if h.reg.finishCatchUp(c, since, events, recovered) && recovered {
		h.o.Metrics.Replayed.Add(float64(len(events)))
	}
}

// resumeLive handles a `resume` message on an open connection; one already
// catching up ignores it.
func (h *Hub) resumeLive(c *Conn, since domain.Seq) {
	if h.reg.startCatchUp(c) {
		h.resume(c, since)
	}
}
