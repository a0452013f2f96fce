package rest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// gatedLoads is a store read that waits to be let through, one at a time,
// and says which read it was in Seq.
type gatedLoads struct {
	entered chan struct{}
	release chan error
	mu      sync.Mutex
	loads   int
	running int
	overlap bool
}

func (g *gatedLoads) load(ctx context.Context) (domain.Snapshot, error) {
	g.mu.Lock()
	g.loads++
	n := g.loads
	g.running++
	g.overlap = g.overlap || g.running > 1
	g.mu.Unlock()
	g.entered <- struct{}{}
	err := <-g.release
	g.mu.Lock()
	g.running--
	g.mu.Unlock()
	return domain.Snapshot{Seq: domain.Seq(n)}, err
}

func (s *sharedSnapshots) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		return 0
	}
	return s.next.readers
}

func TestSnapshotReadsAreSharedButNeverOlderThanTheRequest(t *testing.T) {
	g := &gatedLoads{entered: make(chan struct{}), release: make(chan error)}
	s := &sharedSnapshots{load: g.load, newContext: func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 5*time.Second)
	}}
	type result struct {
		seq domain.Seq
		err error
	}
	get := func(out chan<- result) {
		snap, err := s.get()
		out <- result{snap.Seq, err}
	}
	first := make(chan result, 1)
	go get(first)
	<-g.entered // read 1 is under way

	const later = 20
	rest := make(chan result, later)
	for range later {
		go get(rest)
	}
	waitfor.Until(t, 5*time.Second, func() error {
		if n := s.queued(); n != later {
			return fmt.Errorf("%d of %d readers queued", n, later)
		}
		return nil
	})
	g.release <- nil
	if r := <-first; r.seq != 1 || r.err != nil {
		t.Fatalf("first reader got read %d, %v", r.seq, r.err)
	}
	<-g.entered // read 2, for everyone who asked while read 1 ran
	g.release <- errors.New("store down")
	for range later {
		// Read 1 began before they asked: they must not be given it.
		if r := <-rest; r.seq != 2 || r.err == nil {
			t.Fatalf("a later reader got read %d, %v; want read 2 and its error", r.seq, r.err)
		}
	}
	if g.loads != 2 || g.overlap {
		t.Fatalf("%d store reads for %d readers (overlapping: %v), want 2 one after the other", g.loads, later+1, g.overlap)
	}

	// Idle again: the next reader starts a read of its own at once.
	go get(first)
	<-g.entered
	g.release <- nil
	if r := <-first; r.seq != 3 || r.err != nil {
		t.Fatalf("reader after idle got read %d, %v", r.seq, r.err)
	}
}
