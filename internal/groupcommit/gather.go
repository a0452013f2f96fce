package groupcommit

import (
	"fmt"
	"slices"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// request is one caller's Place: its writes, its deadline, and, once its
// batch returned, its share of the outcome.
type request struct {
	writes      []domain.Write
	deadline    time.Time
	hasDeadline bool

	// Written by the batch's sender before done is closed; read by the
	// caller after.
	events []domain.Event
	err    error
}

// batch is the writes of several callers, gathered (sealed false, under
// Store.mu) and then sent as one store call (sealed true; requests no
// longer change).
type batch struct {
	requests []*request
	writes   int // of every request
	sealed   bool
	timer    *time.Timer   // sends the batch when Window has passed
	done     chan struct{} // closed once every request has its outcome
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

func (b *batch) add(r *request) {
	b.requests = append(b.requests, r)
	b.writes += len(r.writes)
}

// join puts r in a batch: at once, alone, when the store is idle; else in
// the gathering batch (sealing a full one first). sendNow tells the caller
// to send b itself: the batch is sealed (idle store, or r filled it), and
// the caller's goroutine is the one with nothing better to do.
func (s *Store) join(r *request) (b *batch, sendNow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gathering == nil && s.inFlight == 0 {
		b = newBatch()
		b.add(r)
		s.seal(b)
		return b, true
	}
	if g := s.gathering; g != nil && g.writes+len(r.writes) > s.opts.Max {
		s.seal(g)
		go s.send(g)
	}
	if s.gathering == nil {
		g := newBatch()
		g.timer = time.AfterFunc(s.opts.Window, func() { s.expire(g) })
		s.gathering = g
	}
	b = s.gathering
	b.add(r)
	if b.writes >= s.opts.Max {
		s.seal(b)
		return b, true
	}
	return b, false
}

// seal closes b to further writes and counts it in flight. Under s.mu.
func (s *Store) seal(b *batch) {
	if s.gathering == b {
		s.gathering = nil
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.sealed = true
	s.inFlight++
}

// expire sends b once its window has passed, unless it already left (or
// emptied, every caller having given up).
func (s *Store) expire(b *batch) {
	s.mu.Lock()
	if s.gathering != b {
		s.mu.Unlock()
		return
	}
	s.seal(b)
	s.mu.Unlock()
	s.send(b)
}

// returned counts a store call as returned; if it was the last in flight,
// the gathering batch leaves now rather than at the end of its window:
// the store is free, and waiting longer would only add latency.
func (s *Store) returned() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	if s.inFlight == 0 && s.gathering != nil {
		next := s.gathering
		s.seal(next)
		go s.send(next)
	}
}

// send makes b's store call and hands every request its outcome.
func (s *Store) send(b *batch) {
	writes := b.requests[0].writes // a batch of one (a lone write) as it came
	if len(b.requests) > 1 {
		writes = make([]domain.Write, 0, b.writes)
		for _, r := range b.requests {
			writes = append(writes, r.writes...)
		}
	}
	ctx, cancel := b.context()
	events, err := s.CanvasStore.Place(ctx, writes)
	cancel()
	s.returned()
	b.distribute(events, err)
}

// distribute gives every request its own events, in its own order. A
// failed call may still have applied the first writes (a store that
// splits a large call, see ports.CanvasStore): a request all of whose
// writes are among the events returned was applied and succeeds; the
// others get the error, with whatever of theirs was applied.
func (b *batch) distribute(events []domain.Event, err error) {
	defer close(b.done)
	if err == nil && len(events) != b.writes {
		err = fmt.Errorf("groupcommit: the store returned %d events for %d writes", len(events), b.writes)
		events = nil
	}
	at := 0
	for _, r := range b.requests {
		end := at + len(r.writes)
		switch {
		case end <= len(events):
			r.events = slices.Clip(events[at:end])
		case at < len(events):
			r.events, r.err = slices.Clip(events[at:]), err
		default:
			r.err = err
		}
		at = end
	}
}

// withdraw takes r out of b if b has not been sent yet; it reports
// whether it did.
func (s *Store) withdraw(b *batch, r *request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.sealed {
		return false
	}
	i := slices.Index(b.requests, r)
	if i < 0 {
		return false
	}
	b.requests = slices.Delete(b.requests, i, i+1)
	b.writes -= len(r.writes)
	if len(b.requests) == 0 {
		// Nothing left to send: the batch is dropped and its timer with it.
		if s.gathering == b {
			s.gathering = nil
		}
		b.timer.Stop()
	}
	return true
}
