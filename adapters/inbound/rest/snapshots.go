package rest

import (
	"context"
	"sync"

	"github.com/pixelplayground/pixelplayground/domain"
)

// sharedSnapshots lets concurrent readers of the whole canvas share store
// reads. After a gateway restarts, every client it had reloads the canvas
// at once; on a 2048×2048 canvas each read is a 12 MB copy out of the store
// (a 12 MB GET from Redis), and a thousand of them at once would take
// gigabytes. Here at most one read runs at a time, and everyone who asked
// while it ran shares the next one.
//
// A reader never gets a snapshot that was started before it asked: one
// that joined a read already under way could miss a write acknowledged to
// it just before, which breaks read-your-writes (a client that PUTs a pixel
// and then GETs the canvas must see it).
type sharedSnapshots struct {
	load func(context.Context) (domain.Snapshot, error)
	// newContext bounds each read; a reader that gives up does not cancel
	// the read for the others.
	newContext func() (context.Context, context.CancelFunc)

	mu      sync.Mutex
	running bool
	next    *snapshotRead // what arrivals join while a read runs; nil until someone does
}

type snapshotRead struct {
	done    chan struct{}
	readers int // for tests: how many share it
	snap    domain.Snapshot
	err     error
}

// get returns a snapshot read from the store after get was called. The
// caller must not modify it: the other readers hold the same bytes.
func (s *sharedSnapshots) get() (domain.Snapshot, error) {
	s.mu.Lock()
	r := s.next
	if r == nil {
		r = &snapshotRead{done: make(chan struct{})}
		s.next = r
	}
	r.readers++
	if !s.running {
		s.startNext()
	}
	s.mu.Unlock()
	<-r.done
	return r.snap, r.err
}

// startNext runs the queued read; s.mu is held.
func (s *sharedSnapshots) startNext() {
	r := s.next
	s.next = nil
	s.running = true
	go func() {
		ctx, cancel := s.newContext()
		r.snap, r.err = s.load(ctx)
		cancel()
		close(r.done)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.next != nil {
			s.startNext()
		} else {
			s.running = false
		}
	}()
}
