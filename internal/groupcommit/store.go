package groupcommit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Defaults of GROUP_COMMIT_WINDOW and GROUP_COMMIT_MAX.
const (
	DefaultWindow = time.Millisecond
	DefaultMax    = 256
)

// MinShare is the least time a caller must have left to be gathered with
// others (see the package doc's deadline rule): the store call of a batch
// carries the earliest deadline in it, so a caller about to give up would
// make everyone's writes fail with it. Callers of internal/place have
// place.StoreTimeout (5 s).
const MinShare = time.Second

// Options configure a Store. Window <= 0 or Max <= 1 turns gathering off:
// New then returns the store it was given.
type Options struct {
	// Window is the longest a write waits for others before its batch is
	// sent (GROUP_COMMIT_WINDOW).
	Window time.Duration
	// Max is the most writes in one store call (GROUP_COMMIT_MAX). A
	// single Place of more writes is sent alone, as it came.
	Max int
}

// Enabled reports whether these options gather anything.
func (o Options) Enabled() bool { return o.Window > 0 && o.Max > 1 }

// Store is a ports.CanvasStore whose Place gathers concurrent calls into
// one call of the store it wraps (see the package doc). Every other method
// is the wrapped store's. It is safe for concurrent use and holds no
// goroutine while idle.
type Store struct {
	ports.CanvasStore
	opts Options

	mu        sync.Mutex
	gathering *batch // the batch writes join now; nil when none is open
	inFlight  int    // calls of the wrapped store's Place not yet returned
}

var _ ports.CanvasStore = (*Store)(nil)

// New wraps store; with gathering off (Options.Enabled) it returns store
// itself.
func New(store ports.CanvasStore, opts Options) ports.CanvasStore {
	if !opts.Enabled() {
		return store
	}
	return &Store{CanvasStore: store, opts: opts}
}

// Unwrap is the store this one decorates.
func (s *Store) Unwrap() ports.CanvasStore { return s.CanvasStore }

// Place places writes as one atomic part of a larger store call, or alone
// (see the package doc for when); the events and errors are those the
// port promises, for these writes only.
func (s *Store) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	if len(writes) == 0 || len(writes) > s.opts.Max || !roomToShare(ctx) {
		return s.alone(ctx, writes)
	}
	size := s.Size()
	for _, w := range writes {
		if err := size.Check(w.Pixel); err != nil {
			return nil, fmt.Errorf("groupcommit: place (%d,%d): %w", w.X, w.Y, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, gaveUp(err)
	}
	r := newRequest(ctx, writes)
	b, now := s.join(r)
	if now {
		s.send(b)
		return r.events, r.err
	}
	return s.await(ctx, b, r)
}

// alone calls the wrapped store directly, counted as a call in flight so
// that gathering writes know the store is busy.
func (s *Store) alone(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	if len(writes) == 0 {
		return s.CanvasStore.Place(ctx, writes)
	}
	s.mu.Lock()
	s.inFlight++
	s.mu.Unlock()
	defer s.returned()
	return s.CanvasStore.Place(ctx, writes)
}
