package ws

// This file is the hub's delivery goroutine: it feeds the sequencer
// (sequencer.go) with live events from the bus, the results of gap repairs
// and the store's latest seq on every sync tick, and carries out what the
// sequencer decides: fan events out through the registry, jump, or read
// history for a repair. The sequencer decides; this does the I/O.

import (
	"context"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// seqInput is what the delivery goroutine consumes besides its sync tick:
// exactly one of live events, a repair's result, or a resync request.
type seqInput struct {
	events []domain.Event // live events from the bus
	epoch  domain.Epoch   // the timeline they were published on
	repair *repairResult
	resync bool // the bus subscribed again: compare with the store now
}

// feed hands work to the delivery goroutine. It blocks while that goroutine
// is busy: the caller is the bus subscription's goroutine (or a repair), and
// holding it back pushes the backlog into the bus's own bounded buffer
// (Redis's output buffer, membus's queue), whose overflow is repaired from
// history.
func (h *Hub) feed(in seqInput) {
	select {
	case h.in <- in:
	case <-h.runCtx.Done():
	}
}

// Spacing of the delivery goroutine's flushes to clients: the events that
// arrive within the spacing go out together, framed once (shared.go), in one
// write(2) per connection, and that write is what a delivery costs the
// gateway (the kernel's send path: about 8 µs on our 2-core VM, loopback
// included). A flush costs about one write per connection, so the spacing
// grows with the connections: flushCostPerConn each (28 µs: flushes then
// take at most about a third of a core however many events arrive), at
// most maxFlushEvery. 1,000 clients at 1,000 events a second get a flush
// every 28 ms, twenty-eight events per write instead of one; 10 clients
// get one every 280 µs. An event after a quiet spell goes out at once, so
// the spacing adds latency only under load, and at most maxFlushEvery.
// 28 µs is where issue 13's 1,000 × 1,000 px/s point meets both its
// latency and its CPU goal on a quiet machine, for the playground and for
// a gateway on Redis: at 30 µs the gateway's p99 was 50.4–55 ms, at 27 µs
// the CPU per delivery reached 0.54 µs; 20 µs costs 0.64–0.71 µs, and
// 10 µs is worse on both, the clients then decoding more, smaller frames.
// docs/pixelbench.md has the A/Bs (27/28/30 µs under "2026-12-05", the
// earlier ones under "Flush spacing"), docs/performance.md the first
// measurements (10 µs against 20 µs).
const (
	flushCostPerConn = 28 * time.Microsecond
	maxFlushEvery    = 28 * time.Millisecond
)

// flushEvery is the spacing of flushes for conns connections.
func flushEvery(conns int) time.Duration {
	return min(maxFlushEvery, time.Duration(conns)*flushCostPerConn)
}

// deliveryLoop is the only goroutine that touches h.seq, and so the only
// one that advances what the registry has delivered.
func (h *Hub) deliveryLoop(ctx context.Context) {
	defer h.wg.Done()
	tick := time.NewTicker(h.o.SyncInterval)
	defer tick.Stop()
	f := newFlusher(h)
	defer f.timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.timer.C:
			f.armed = false
			f.flush()
		case <-tick.C:
			if head, ok := h.head(ctx); ok {
				f.carryOut(h.seq.synced(head, time.Now()))
			}
		case in := <-h.in:
			switch {
			case in.resync:
				if head, ok := h.head(ctx); ok {
					f.carryOut(h.seq.resubscribed(head, time.Now()))
				}
			case in.repair != nil:
				f.carryOut(h.seq.repaired(*in.repair, time.Now()))
			default:
				f.carryOut(h.seq.received(in.events, in.epoch, time.Now()))
			}
		}
	}
}

// head reads the store's head for a sync; an unreachable store skips the
// sync (the next tick tries again).
func (h *Hub) head(ctx context.Context) (domain.Head, bool) {
	cctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
	defer cancel()
	head, err := h.o.Store.Head(cctx)
	return head, err == nil
}

// flusher holds what the sequencer decided to deliver until the next
// flush (see flushEvery). Delivery goroutine only.
type flusher struct {
	h       *Hub
	pending []domain.Event
	last    time.Time // the last flush
	timer   *time.Timer
	armed   bool
}

func newFlusher(h *Hub) *flusher {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &flusher{h: h, timer: t}
}

// carryOut does what the sequencer decided, in its order: a jump goes out
// after the events decided before it and before those decided with it.
func (f *flusher) carryOut(s step) {
	h := f.h
	if j := s.jump; j != nil {
		f.flush()
		switch j.why {
		case gapTooLarge:
			h.log.Warn("gap too large to replay; clients will reload", "from", j.from, "to", j.to, "events", j.events)
		case historyGone:
			h.log.Warn("history does not cover the gap; clients will reload", "from", j.from, "to", j.to)
		case storeBehind:
			h.log.Warn("store is behind the gateway (data loss or reset of the backend); clients will reload", "store", j.to, "gateway", j.from)
		case epochChanged:
			h.log.Warn("the store is on a new timeline (it may have lost events it had published); clients will reload",
				"epoch", string(j.epoch), "seq", j.to, "gateway", j.from)
		}
		h.reg.jump(j.to, j.epoch, j.why == epochChanged)
	}
	if s.replayed > 0 {
		h.o.Metrics.Replayed.Add(float64(s.replayed))
	}
	if len(s.deliver) > 0 {
		f.pending = append(f.pending, s.deliver...) // a copy: the step's slice is the sequencer's
		if wait := flushEvery(h.reg.size()) - time.Since(f.last); wait <= 0 {
			f.flush()
		} else if !f.armed {
			f.armed = true
			f.timer.Reset(wait)
		}
	}
	if s.repair {
		go h.repair(s.repairAfter, s.repairEpoch)
	}
}

// flush fans out the events held since the last flush.
func (f *flusher) flush() {
	if len(f.pending) == 0 {
		return
	}
	h := f.h
	f.last = time.Now()
	n := h.reg.deliverEvents(f.pending, h.o.GatewayID)
	h.o.Metrics.EventsOut.Add(float64(n))
	now := h.o.Clock.Now()
	for _, e := range f.pending {
		if e.Time > 0 {
			if lag := now.Sub(e.Time.Time()); lag >= 0 {
				h.o.Metrics.FanoutLatency.Observe(lag.Seconds())
			}
		}
	}
	clear(f.pending)
	f.pending = f.pending[:0]
}

// repair reads the events after seq after on the timeline epoch from
// history (one more than it may replay, to tell "exactly that many" from
// "too many") and hands the result back to the delivery goroutine.
func (h *Hub) repair(after domain.Seq, epoch domain.Epoch) {
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
	defer cancel()
	got, err := h.o.Store.Since(ctx, after, epoch, maxReplay+1)
	if err != nil {
		h.o.Metrics.StoreErrors.Inc()
		h.log.Warn("gap repair failed; will retry at next sync", "after", after, "err", err)
		h.feed(seqInput{repair: &repairResult{failed: true}})
		return
	}
	h.feed(seqInput{repair: &repairResult{events: got.Events, complete: got.Complete, head: got.Head, asked: epoch}})
}
