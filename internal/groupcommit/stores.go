package groupcommit

import (
	"context"
	"sync"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Stores opens the canvases of the factory it wraps, each behind one
// gathering Store: the same Store for every Open of a slug, so that every
// connection writing to a canvas is gathered with the others.
type Stores struct {
	ports.CanvasStores
	opts Options

	mu      sync.Mutex
	wrapped map[domain.Slug]ports.CanvasStore // each canvas's decorator
}

var _ ports.CanvasStores = (*Stores)(nil)

// NewStores wraps stores; with gathering off (Options.Enabled) it returns
// stores itself.
func NewStores(stores ports.CanvasStores, opts Options) ports.CanvasStores {
	if !opts.Enabled() {
		return stores
	}
	return &Stores{CanvasStores: stores, opts: opts, wrapped: map[domain.Slug]ports.CanvasStore{}}
}

// Open opens the canvas in the wrapped factory (which checks the slug and
// the size every time) and returns its gathering store, the same for every
// Open of the slug. The factory's stores keep working for as long as the
// factory does (ports.CanvasStores.Open), so the first one is kept.
func (s *Stores) Open(ctx context.Context, slug domain.Slug, size domain.Size) (ports.CanvasStore, error) {
	st, err := s.CanvasStores.Open(ctx, slug, size)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.wrapped[slug]; ok {
		return d, nil
	}
	d := New(st, s.opts)
	s.wrapped[slug] = d
	return d, nil
}
