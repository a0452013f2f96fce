package ws

// This file is resuming: a client that reconnects with `?since=N` (or sends
// `resume`) is replayed the events after N from the store's history, then
// told `resumed`, then receives what arrived live meanwhile, with nothing
// missing and nothing twice. Only if N is on the store's timeline: the
// client names it with `epoch`; a client that does not (old clients, bots)
// is replayed only up from a seq every timeline agrees on, the epoch's
// base (domain.Head.Continues); every other one reloads its snapshot.

import (
	"context"

	"github.com/pixelplayground/pixelplayground/domain"
)

// resume replays history after since (on the timeline epoch, "" if the
// client did not say) to c, then `resumed`, then whatever arrived live
// meanwhile (the registry holds it in c's backlog until then). c must be
// catching up (registered so, or marked by resumeLive).
func (h *Hub) resume(c *Conn, since domain.Seq, epoch domain.Epoch) {
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
	defer cancel()
	limit := maxReplay
	if h.o.HistoryLimit > 0 {
		limit = min(limit, h.o.HistoryLimit)
	}
	// One more than we replay: a client further behind than that reloads
	// its snapshot, which is cheaper for both sides than thousands of
	// frames and cannot overflow its send queue.
	got, err := h.o.Store.Since(ctx, since, epoch, limit+1)
	if err != nil {
		h.o.Metrics.StoreErrors.Inc()
		h.log.Warn("resume: history unavailable", "client", c.id, "since", since, "err", err)
	}
	complete := got.Complete && len(got.Events) <= limit
	registered, replayed := h.reg.finishCatchUp(c, since, got.Events, err == nil && complete, got.Head.Epoch)
	if replayed {
		h.o.Metrics.Replayed.Add(float64(len(got.Events)))
	}
	if registered && err == nil && got.Head.Epoch != h.reg.timeline() {
		h.feed(seqInput{resync: true}) // the store is on a timeline this gateway has not seen yet
	}
}

// resumeLive handles a `resume` message on an open connection; one already
// catching up ignores it.
func (h *Hub) resumeLive(c *Conn, since domain.Seq, epoch domain.Epoch) {
	if h.reg.startCatchUp(c) {
		h.resume(c, since, epoch)
	}
}
