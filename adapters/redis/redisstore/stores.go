package redisstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// errStoresClosed is Open's answer after Close.
var errStoresClosed = fmt.Errorf("%w: redisstore: the stores are closed", ports.ErrUnavailable)

// StoresOptions configure NewStores.
type StoresOptions struct {
	// HistorySize is every canvas's (see Options).
	HistorySize int
	// Wait is every canvas's (see Options).
	Wait WaitOptions
}

// Stores opens the Redis store of each canvas on demand and keeps it, so
// that the canvas's size is checked against Redis and Redis's clock
// measured once per canvas and process, not per call. It implements
// ports.CanvasStores.
//
// Resources: a Store holds no connection of its own (they are the
// client's, shared by every canvas) and no goroutine, only its keys and
// measured clock offset, a few hundred bytes; Stores keeps them until
// Close. The client is the caller's, and Close leaves it open.
type Stores struct {
	client redis.UniversalClient
	opts   StoresOptions

	mu     sync.Mutex
	stores map[domain.Slug]*Store
	closed bool
}

var _ ports.CanvasStores = (*Stores)(nil)

// NewStores makes the factory on client; it opens nothing until Open.
func NewStores(client redis.UniversalClient, opts StoresOptions) *Stores {
	return &Stores{client: client, opts: opts, stores: map[domain.Slug]*Store{}}
}

// Open returns the store of the canvas slug, opening it (see Open) on the
// first call; every later call returns the same store.
func (s *Stores) Open(ctx context.Context, slug domain.Slug, size domain.Size) (ports.CanvasStore, error) {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	st, found, err := s.opened(slug, size)
	if err != nil {
		return nil, err
	}
	if found {
		return st, nil
	}
	// Opening takes round trips to Redis: not under the lock, which would
	// make every canvas wait for one during an outage. Two concurrent
	// first Opens of a slug both open it (Open is idempotent in Redis);
	// the first to finish is kept.
	st, err = Open(ctx, s.client, Options{Slug: slug, Size: size, HistorySize: s.opts.HistorySize, Wait: s.opts.Wait})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStoresClosed
	}
	if kept, ok := s.stores[slug]; ok {
		return kept, nil // the sizes agree: both were checked against Redis
	}
	s.stores[slug] = st
	return st, nil
}

// opened is the store of slug if it is open (found), checked against size.
func (s *Stores) opened(slug domain.Slug, size domain.Size) (st *Store, found bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, errStoresClosed
	}
	st, found = s.stores[slug]
	if found && st.size != size {
		return nil, false, fmt.Errorf("%w: canvas %s is %s, %s was asked for", ErrSizeMismatch, slug, st.size, size)
	}
	return st, found, nil
}

// Close forgets every store; Open fails afterwards. The stores it
// returned hold nothing to release and keep working on the client until
// the caller closes it.
func (s *Stores) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.stores = nil
	return nil
}
