package main

import (
	"sync/atomic"
	"time"
)

// sendRing remembers when recent writes were sent, by write number. A slot
// is written as a tiny seqlock (invalidate, time, number) so a reader never
// pairs one write's number with another's time.
type sendRing struct {
	slots []ringSlot
}

type ringSlot struct {
	n  atomic.Uint64 // write number + 1; 0 while being written
	at atomic.Int64  // nanoseconds since the bench's epoch
}

// ringSize covers over a minute of writes at 10k/s; a delivery later than
// that is not timed (and would be an outlier anyway).
const ringSize = 1 << 20

func newSendRing() *sendRing { return &sendRing{slots: make([]ringSlot, ringSize)} }

func (r *sendRing) store(n uint64, at time.Duration) {
	s := &r.slots[n&(ringSize-1)]
	s.n.Store(0)
	s.at.Store(int64(at))
	s.n.Store(n + 1)
}

func (r *sendRing) lookup(n uint64) (time.Duration, bool) {
	s := &r.slots[n&(ringSize-1)]
	if s.n.Load() != n+1 {
		return 0, false
	}
	at := s.at.Load()
	if s.n.Load() != n+1 {
		return 0, false
	}
	return time.Duration(at), true
}
