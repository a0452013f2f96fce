package logstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// CanvasesDir is the folder of the data directory that holds one folder
// per canvas other than main: DATA_DIR/canvases/<slug>/. The main canvas
// stays in DATA_DIR itself, where a single Store always kept it, so
// existing data is the main canvas.
const CanvasesDir = "canvases"

// DefaultIdleAfter is StoresOptions.IdleAfter's default.
const DefaultIdleAfter = 10 * time.Minute

// StoresOptions configure NewStores.
type StoresOptions struct {
	// Options are every canvas's options, except that Size is ignored
	// (each canvas has its own, given to Open) and so is Slug. Dir is the
	// data directory; "" keeps every canvas in memory only.
	Options
	// IdleAfter: the store of a canvas other than main that no call has
	// used for this long is closed (a final snapshot is written, its
	// files, goroutine and memory are released) and loaded again by the
	// next call through it. 0 means DefaultIdleAfter, negative never. In
	// memory only (no Dir), stores are never closed before Close.
	IdleAfter time.Duration
}

// Stores opens the embedded store of each canvas on demand, one Store per
// directory (the same log-plus-snapshot code and guarantees as a single
// Store: kill -9 loses nothing acknowledged, for every canvas), and keeps
// them in a map until they go idle or Close. It implements
// ports.CanvasStores.
//
// A damaged log or snapshot costs one canvas, not all: it is the error of
// that canvas's Open (or of the calls that load it again after idling).
type Stores struct {
	opts StoresOptions

	mu       sync.Mutex
	canvases map[domain.Slug]*canvasStore
	closed   bool

	stop    chan struct{} // closes the idle sweeper; nil without one
	stopped chan struct{}
	once    sync.Once
	err     error
}

var _ ports.CanvasStores = (*Stores)(nil)

// NewStores makes the factory; it opens nothing until Open. With a Dir and
// idle closing on, a goroutine closes idle stores until Close.
func NewStores(opts StoresOptions) (*Stores, error) {
	if opts.Bus == nil {
		return nil, errors.New("logstore: Options.Bus is required")
	}
	if opts.IdleAfter == 0 {
		opts.IdleAfter = DefaultIdleAfter
	}
	s := &Stores{opts: opts, canvases: map[domain.Slug]*canvasStore{}}
	if opts.Dir != "" && opts.IdleAfter > 0 {
		s.stop, s.stopped = make(chan struct{}), make(chan struct{})
		go s.sweep()
	}
	return s, nil
}

// Dir is where the canvas slug is kept under the data directory dir.
func Dir(dir string, slug domain.Slug) string {
	if slug == domain.MainSlug {
		return dir
	}
	return filepath.Join(dir, CanvasesDir, string(slug))
}

// Open returns the store of the canvas slug, loading it from its directory
// (or making it) on the first call; see ports.CanvasStores. Every Open of
// a slug returns the same store.
func (s *Stores) Open(_ context.Context, slug domain.Slug, size domain.Size) (ports.CanvasStore, error) {
	if _, err := domain.ParseSlug(string(slug)); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	if _, err := domain.NewSize(size.Width, size.Height); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	for {
		c, err := s.canvas(slug, size)
		if err != nil {
			return nil, err
		}
		if retry, err := c.open(); !retry {
			return c, err
		}
	}
}

// canvas is the map's entry for slug, made if missing.
func (s *Stores) canvas(slug domain.Slug, size domain.Size) (*canvasStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	c, ok := s.canvases[slug]
	if !ok {
		c = &canvasStore{stores: s, slug: slug, size: size}
		s.canvases[slug] = c
	}
	if c.size != size {
		return nil, fmt.Errorf("%w: canvas %s is %s, %s was asked for", ErrSizeMismatch, slug, c.size, size)
	}
	return c, nil
}

// open loads the canvas unless it is loaded. Loading happens under the
// canvas's own lock: opening one canvas holds up no other. retry says
// that the entry was dropped (by a concurrent Open that failed to load
// it) and a new one must be made.
func (c *canvasStore) open() (retry bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.dropped:
		return true, nil
	case c.closed:
		return false, ErrClosed
	case c.store != nil:
		return false, nil
	}
	if err := c.load(); err != nil {
		if !c.loaded {
			// Never open: forget it, so that an Open with the right size
			// (or after the damage is repaired) starts afresh.
			s := c.stores
			s.mu.Lock()
			if s.canvases[c.slug] == c {
				delete(s.canvases, c.slug)
			}
			s.mu.Unlock()
			c.dropped = true
		}
		return false, err
	}
	return false, nil
}

// CloseIdle closes the store of every canvas but main that is loaded, has
// no call in progress and was last used more than idle ago; the next call
// loads it again. It returns how many it closed. The sweeper calls it
// every IdleAfter/2.
func (s *Stores) CloseIdle(idle time.Duration) int {
	if s.opts.Dir == "" {
		return 0
	}
	s.mu.Lock()
	canvases := make([]*canvasStore, 0, len(s.canvases))
	for slug, c := range s.canvases {
		if slug != domain.MainSlug {
			canvases = append(canvases, c)
		}
	}
	s.mu.Unlock()
	closed := 0
	for _, c := range canvases {
		if c.closeIfIdle(idle) {
			closed++
		}
	}
	return closed
}

// Loaded is how many canvases' stores are loaded now.
func (s *Stores) Loaded() int {
	s.mu.Lock()
	canvases := make([]*canvasStore, 0, len(s.canvases))
	for _, c := range s.canvases {
		canvases = append(canvases, c)
	}
	s.mu.Unlock()
	n := 0
	for _, c := range canvases {
		c.mu.Lock()
		if c.store != nil {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

func (s *Stores) sweep() {
	defer close(s.stopped)
	tick := time.NewTicker(max(s.opts.IdleAfter/2, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.CloseIdle(s.opts.IdleAfter)
		}
	}
}

// Close closes every store (each writes its final snapshot); the stores
// Open returned fail with ErrClosed afterwards. Later calls return the
// first call's result.
func (s *Stores) Close() error {
	s.once.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.stopped
		}
		s.mu.Lock()
		s.closed = true
		canvases := s.canvases
		s.canvases = nil
		s.mu.Unlock()
		var errs []error
		for _, c := range canvases {
			c.mu.Lock()
			c.closed = true
			if c.store != nil {
				if err := c.store.Close(); err != nil {
					errs = append(errs, fmt.Errorf("canvas %s: %w", c.slug, err))
				}
				c.store = nil
			}
			c.mu.Unlock()
		}
		s.err = errors.Join(errs...)
	})
	return s.err
}

// canvasStore is what Open returns for a canvas: every call goes to its
// Store, loaded again first if it was closed for idleness.
type canvasStore struct {
	stores *Stores
	slug   domain.Slug
	size   domain.Size

	mu       sync.Mutex
	store    *Store // nil while not loaded
	loaded   bool   // loaded once at least
	closed   bool   // Stores.Close
	dropped  bool   // the first load failed; no longer in the map
	inflight int    // calls in progress; the store is not closed under them
	lastUsed time.Time
}

var _ ports.CanvasStore = (*canvasStore)(nil)

// load opens the canvas's Store; c.mu is held.
func (c *canvasStore) load() error {
	opts := c.stores.opts.Options
	opts.Slug, opts.Size = c.slug, c.size
	if c.slug != domain.MainSlug {
		if opts.Logger == nil {
			opts.Logger = slog.Default()
		}
		opts.Logger = opts.Logger.With("canvas", string(c.slug))
	}
	if opts.Dir != "" {
		opts.Dir = Dir(opts.Dir, c.slug)
		if err := makeCanvasDir(c.stores.opts.Dir, opts.Dir); err != nil {
			return fmt.Errorf("logstore: canvas %s: %w", c.slug, err)
		}
	}
	st, err := Open(opts)
	if err != nil {
		return fmt.Errorf("canvas %s: %w", c.slug, err)
	}
	c.store, c.loaded, c.lastUsed = st, true, time.Now()
	return nil
}

// makeCanvasDir makes a canvas's directory under root if it is missing,
// durably: the new directory entries are synced, so that a canvas whose
// writes were acknowledged is found after a power cut.
func makeCanvasDir(root, dir string) error {
	if _, err := os.Stat(dir); err == nil || dir == root {
		return nil
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return errors.Join(syncDir(parent), syncDir(filepath.Dir(parent)))
}

// acquire returns the loaded store and counts the call in progress.
func (c *canvasStore) acquire() (*Store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrClosed
	case c.dropped:
		return nil, fmt.Errorf("%w: canvas %s could not be opened", ports.ErrUnavailable, c.slug)
	}
	if c.store == nil {
		if err := c.load(); err != nil {
			return nil, fmt.Errorf("%w: loading the canvas again: %w", ports.ErrUnavailable, err)
		}
	}
	c.inflight++
	return c.store, nil
}

func (c *canvasStore) release() {
	c.mu.Lock()
	c.inflight--
	c.lastUsed = time.Now()
	c.mu.Unlock()
}

func (c *canvasStore) closeIfIdle(idle time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.store == nil || c.inflight > 0 || time.Since(c.lastUsed) < idle {
		return false
	}
	if err := c.store.Close(); err != nil {
		// Close has written what it could; the next load replays the log.
		c.store.log.Warn("logstore: closing an idle canvas failed", "err", err)
	}
	c.store = nil
	return true
}

// Size is the canvas's size.
func (c *canvasStore) Size() domain.Size { return c.size }

// Place: see Store.Place.
func (c *canvasStore) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	st, err := c.acquire()
	if err != nil {
		return nil, err
	}
	defer c.release()
	return st.Place(ctx, writes)
}

// Reset: see Store.Reset.
func (c *canvasStore) Reset(ctx context.Context, origin domain.Origin) (domain.Event, error) {
	st, err := c.acquire()
	if err != nil {
		return domain.Event{}, err
	}
	defer c.release()
	return st.Reset(ctx, origin)
}

// Snapshot: see Store.Snapshot.
func (c *canvasStore) Snapshot(ctx context.Context) (domain.Snapshot, error) {
	st, err := c.acquire()
	if err != nil {
		return domain.Snapshot{}, err
	}
	defer c.release()
	return st.Snapshot(ctx)
}

// Pixel: see Store.Pixel.
func (c *canvasStore) Pixel(ctx context.Context, x, y int) (domain.PixelInfo, error) {
	st, err := c.acquire()
	if err != nil {
		return domain.PixelInfo{}, err
	}
	defer c.release()
	return st.Pixel(ctx, x, y)
}

// Since: see Store.Since.
func (c *canvasStore) Since(ctx context.Context, after domain.Seq, epoch domain.Epoch, limit int) (ports.History, error) {
	st, err := c.acquire()
	if err != nil {
		return ports.History{}, err
	}
	defer c.release()
	return st.Since(ctx, after, epoch, limit)
}

// Head: see Store.Head.
func (c *canvasStore) Head(ctx context.Context) (domain.Head, error) {
	st, err := c.acquire()
	if err != nil {
		return domain.Head{}, err
	}
	defer c.release()
	return st.Head(ctx)
}

// Ping: see Store.Ping. An idle canvas is not loaded for it: its store
// answers once loaded if its directory does (Open proved it did).
func (c *canvasStore) Ping(ctx context.Context) error {
	c.mu.Lock()
	st, closed := c.store, c.closed
	if st != nil {
		c.inflight++
	}
	c.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case st == nil:
		return ctx.Err()
	}
	defer c.release()
	return st.Ping(ctx)
}

// WriteHealth is the loaded store's (see Store.WriteHealth); nil for a
// canvas closed for idleness, which takes writes when it loads.
func (c *canvasStore) WriteHealth() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case c.store == nil:
		return nil
	}
	return c.store.WriteHealth()
}
