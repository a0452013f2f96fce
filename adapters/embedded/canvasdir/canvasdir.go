// Package canvasdir is the all-in-one app's ports.Canvases: the directory
// of canvases in memory, made durable by one small JSON file per canvas,
// <Dir>/<slug>/meta.json (the canvas's store keeps its log and snapshots
// next to it, in the same directory).
//
// Every change is written before it is acknowledged, atomically: a temp
// file in the canvas's directory, fsync, rename over meta.json, fsync of
// the directory; a new canvas's directory is fsynced into Dir first. A
// kill -9 at any moment leaves each file either before or after a change,
// never between. Open loads every file; one that is damaged is reported
// (Problems, and a warning in the log) and skipped, and its slug is never
// handed out again, since its pixels may still be on disk. A directory a
// crash left behind mid-creation (nothing in it but a temp file) is
// removed.
//
// Touch changes memory at once (Get and List see it) and writes the file
// only when the recorded activity is TouchWindow behind, so a busy canvas
// costs one write a minute; a crash loses at most that much of a canvas's
// last activity, and Close writes what is left.
package canvasdir

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/dirlock"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// MetaName is the file of a canvas's description in its directory.
const MetaName = "meta.json"

// tempPrefix starts the name of a meta.json being written.
const tempPrefix = ".meta-"

// ErrLocked reports a directory another process has open.
var ErrLocked = errors.New("canvas directory in use by another process")

// Options configure Open.
type Options struct {
	// Dir holds one directory per canvas (DATA_DIR/canvases).
	Dir string
	// Clock dates new canvases.
	Clock ports.Clock
	// Logger reports damaged files; default slog.Default().
	Logger *slog.Logger
}

// Directory is the on-disk directory of canvases.
type Directory struct {
	root  string
	clock ports.Clock
	log   *slog.Logger
	lock  *os.File

	mu       sync.Mutex
	entries  map[domain.Slug]*entry
	taken    map[domain.Slug]bool // damaged on disk: never handed out
	problems []error
}

// entry is one canvas. Its fields are guarded by Directory.mu; wmu orders
// the writes of its file, and is taken before mu.
type entry struct {
	wmu sync.Mutex

	ready       bool // false while Create writes it
	info        domain.CanvasInfo
	creator     domain.TokenHash
	invite      domain.TokenHash
	savedActive time.Time // LastActive as the file has it
}

var _ ports.Canvases = (*Directory)(nil)

// Open loads the directory at opts.Dir, creating it if needed, and locks
// it against a second process.
func Open(opts Options) (*Directory, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("canvas directory: %w", err)
	}
	lock, err := dirlock.Lock(opts.Dir, ErrLocked)
	if err != nil {
		return nil, err
	}
	d := &Directory{root: opts.Dir, clock: opts.Clock, log: opts.Logger, lock: lock,
		entries: map[domain.Slug]*entry{}, taken: map[domain.Slug]bool{}}
	if err := d.load(); err != nil {
		_ = lock.Close()
		return nil, err
	}
	return d, nil
}

// Problems lists what Open skipped: damaged or unreadable canvases.
func (d *Directory) Problems() []error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.problems)
}

// Close writes the activity not yet written and releases the directory.
func (d *Directory) Close() error {
	d.mu.Lock()
	var pending []*entry
	for _, e := range d.entries {
		if e.ready && e.info.LastActive.After(e.savedActive) {
			pending = append(pending, e)
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, e := range pending {
		errs = append(errs, d.persist(e, false))
	}
	errs = append(errs, d.lock.Close())
	return errors.Join(errs...)
}

func (d *Directory) load() error {
	dirs, err := os.ReadDir(d.root)
	if err != nil {
		return fmt.Errorf("canvas directory: %w", err)
	}
	for _, de := range dirs {
		if !de.IsDir() {
			continue // LOCK
		}
		slug, err := domain.ParseSlug(de.Name())
		if err != nil {
			d.problem(fmt.Errorf("canvas directory %s: not a slug, skipped", filepath.Join(d.root, de.Name())))
			continue
		}
		e, err := d.loadOne(slug)
		switch {
		case err == nil:
			d.entries[slug] = e
		case errors.Is(err, errIncomplete):
			d.log.Info("canvas directory: removing a creation that never finished", "dir", filepath.Join(d.root, string(slug)))
			if err := os.RemoveAll(filepath.Join(d.root, string(slug))); err != nil {
				d.taken[slug] = true
				d.problem(fmt.Errorf("canvas %s: remove an unfinished creation: %w", slug, err))
			}
		default:
			d.taken[slug] = true
			d.problem(fmt.Errorf("canvas %s skipped: %w", slug, err))
		}
	}
	return nil
}

func (d *Directory) problem(err error) {
	d.problems = append(d.problems, err)
	d.log.Warn("canvas directory: "+err.Error(), "dir", d.root)
}

var errIncomplete = errors.New("unfinished creation")

// loadOne reads one canvas's file; errIncomplete for a directory holding
// nothing but temp files, which only an interrupted Create leaves.
func (d *Directory) loadOne(slug domain.Slug) (*entry, error) {
	dir := filepath.Join(d.root, string(slug))
	path := filepath.Join(dir, MetaName)
	data, err := os.ReadFile(path) //nolint:gosec // G304: a file of the directory's own, named by a validated slug
	if errors.Is(err, fs.ErrNotExist) {
		files, rerr := os.ReadDir(dir)
		if rerr == nil && !slices.ContainsFunc(files, func(f os.DirEntry) bool { return !strings.HasPrefix(f.Name(), tempPrefix) }) {
			return nil, errIncomplete
		}
		return nil, fmt.Errorf("no %s in %s, which holds other files", MetaName, dir)
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e, err := r.entry(slug)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// checkSpec refuses what no checked spec holds.
func checkSpec(spec domain.CanvasSpec) error {
	if err := checkName(spec.Name); err != nil {
		return err
	}
	if _, err := domain.NewSize(spec.Size.Width, spec.Size.Height); err != nil {
		return err
	}
	return checkRate(spec.PixelRate)
}

func checkName(name string) error {
	if n, err := domain.NormalizeCanvasName(name); err != nil || n != name {
		return fmt.Errorf("%w: %q is not normalised", domain.ErrBadCanvasName, name)
	}
	return nil
}

// checkRate refuses a rule no server allows (the server's own bound is the
// caller's to check).
func checkRate(r domain.RateRule) error {
	return domain.CheckCanvasPixelRate(r, domain.RateRule{PerSecond: math.MaxFloat64, Burst: math.MaxInt})
}

func newToken() (string, domain.TokenHash) {
	var b [domain.CanvasTokenBytes]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	t := domain.NewCanvasToken(b)
	return t, domain.HashCanvasToken(t)
}

// now is the clock's time as the directory keeps it: UTC, to the µs.
func (d *Directory) now() time.Time { return d.clock.Now().UTC().Truncate(time.Microsecond) }

// Create implements ports.Canvases.
func (d *Directory) Create(_ context.Context, spec domain.CanvasSpec, limits ports.CanvasLimits) (domain.CanvasInfo, ports.CanvasSecrets, error) {
	if err := checkSpec(spec); err != nil {
		return domain.CanvasInfo{}, ports.CanvasSecrets{}, err
	}
	base := domain.SlugFromName(spec.Name)
	now := d.now()
	var secrets ports.CanvasSecrets
	e := &entry{info: domain.CanvasInfo{Name: spec.Name, Size: spec.Size, Private: spec.Private, PixelRate: spec.PixelRate,
		Created: now, LastActive: now}, savedActive: now}
	secrets.CreatorKey, e.creator = newToken()
	if spec.Private {
		secrets.Invite, e.invite = newToken()
	}

	slug, err := d.reserve(e, base, limits)
	for errors.Is(err, fs.ErrExist) { // a folder of that name not made by us: never use it
		slug, err = d.reserve(e, base, limits)
	}
	if err != nil {
		return domain.CanvasInfo{}, ports.CanvasSecrets{}, err
	}
	d.mu.Lock()
	rec := newRecord(e)
	d.mu.Unlock()
	dir := filepath.Join(d.root, string(slug))
	err = syncDir(d.root)
	if err == nil {
		err = writeRecord(dir, rec)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		delete(d.entries, slug)
		if rerr := os.RemoveAll(dir); rerr != nil {
			d.taken[slug] = true
		}
		return domain.CanvasInfo{}, ports.CanvasSecrets{}, fmt.Errorf("%w: create canvas %s: %w", ports.ErrUnavailable, slug, err)
	}
	e.ready = true
	return e.info, secrets, nil
}

// reserve picks a free slug for e under the limits, enters e (not ready)
// and makes the slug's folder. A folder that exists already is marked
// taken and reported as fs.ErrExist: the caller tries again.
func (d *Directory) reserve(e *entry, base domain.Slug, limits ports.CanvasLimits) (domain.Slug, error) {
	d.mu.Lock()
	if limits.MaxCanvases > 0 && len(d.entries) >= limits.MaxCanvases {
		d.mu.Unlock()
		return "", fmt.Errorf("%w: %d", ports.ErrTooManyCanvases, limits.MaxCanvases)
	}
	slug, ok := d.freeSlug(base)
	if !ok {
		d.mu.Unlock()
		return "", fmt.Errorf("%w: %s to %s", ports.ErrCanvasExists, base, base.WithSuffix(ports.MaxSlugSuffix))
	}
	e.info.Slug = slug
	d.entries[slug] = e
	d.mu.Unlock()
	err := os.Mkdir(filepath.Join(d.root, string(slug)), 0o750)
	if err == nil {
		return slug, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.entries, slug)
	if errors.Is(err, fs.ErrExist) {
		d.taken[slug] = true
		return "", err
	}
	return "", fmt.Errorf("%w: create canvas %s: %w", ports.ErrUnavailable, slug, err)
}

// freeSlug is base, or base-2, base-3, ..., the first neither reserved
// nor taken. Called with d.mu held.
func (d *Directory) freeSlug(base domain.Slug) (domain.Slug, bool) {
	for n := 1; n <= ports.MaxSlugSuffix; n++ {
		s := base
		if n > 1 {
			s = base.WithSuffix(n)
		}
		if _, exists := d.entries[s]; !exists && !d.taken[s] && !s.Reserved() {
			return s, true
		}
	}
	return "", false
}

// lookup returns a ready entry. Called with d.mu held.
func (d *Directory) lookup(slug domain.Slug) (*entry, error) {
	if e, ok := d.entries[slug]; ok && e.ready {
		return e, nil
	}
	return nil, fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
}

// Get implements ports.Canvases.
func (d *Directory) Get(_ context.Context, slug domain.Slug) (domain.CanvasInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.lookup(slug)
	if err != nil {
		return domain.CanvasInfo{}, err
	}
	return e.info, nil
}

// List implements ports.Canvases.
func (d *Directory) List(_ context.Context, q ports.ListQuery) ([]domain.CanvasInfo, error) {
	limit := listLimit(q.Limit)
	search := strings.ToLower(strings.TrimSpace(q.Search))
	d.mu.Lock()
	var out []domain.CanvasInfo
	for _, e := range d.entries {
		if e.ready && !e.info.Private && !e.info.Archived && matches(e.info, search) {
			out = append(out, e.info)
		}
	}
	d.mu.Unlock()
	slices.SortFunc(out, func(a, b domain.CanvasInfo) int {
		return cmp.Or(b.LastActive.Compare(a.LastActive), cmp.Compare(a.Slug, b.Slug))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Idle implements ports.Canvases.
func (d *Directory) Idle(_ context.Context, before time.Time, limit int) ([]domain.Slug, error) {
	if limit <= 0 || limit > ports.MaxListLimit {
		limit = ports.MaxListLimit
	}
	type idle struct {
		slug   domain.Slug
		active time.Time
	}
	d.mu.Lock()
	var found []idle
	for _, e := range d.entries {
		if e.ready && !e.info.Archived && e.info.LastActive.Before(before) {
			found = append(found, idle{e.info.Slug, e.info.LastActive})
		}
	}
	d.mu.Unlock()
	slices.SortFunc(found, func(a, b idle) int {
		return cmp.Or(a.active.Compare(b.active), cmp.Compare(a.slug, b.slug))
	})
	out := make([]domain.Slug, 0, min(len(found), limit))
	for _, f := range found[:min(len(found), limit)] {
		out = append(out, f.slug)
	}
	return out, nil
}

func listLimit(n int) int {
	if n <= 0 {
		return ports.DefaultListLimit
	}
	return min(n, ports.MaxListLimit)
}

// matches is List's search: lowered is the lower-cased search.
func matches(c domain.CanvasInfo, lowered string) bool {
	return lowered == "" || strings.Contains(strings.ToLower(c.Name), lowered) || strings.Contains(string(c.Slug), lowered)
}

// change applies f to a copy of a ready entry's settings, writes the
// result, and only then makes it the entry's. f reports whether anything
// changed (nothing written otherwise).
func (d *Directory) change(slug domain.Slug, f func(e *entry) (bool, error)) (domain.CanvasInfo, error) {
	d.mu.Lock()
	e, err := d.lookup(slug)
	d.mu.Unlock()
	if err != nil {
		return domain.CanvasInfo{}, err
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	d.mu.Lock()
	next := &entry{ready: true, info: e.info, creator: e.creator, invite: e.invite}
	changed, err := f(next)
	rec := newRecord(next)
	d.mu.Unlock()
	if err != nil || !changed {
		return next.info, err
	}
	if err := writeRecord(filepath.Join(d.root, string(slug)), rec); err != nil {
		return domain.CanvasInfo{}, fmt.Errorf("%w: canvas %s: %w", ports.ErrUnavailable, slug, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// Only the settings: LastActive may have moved on meanwhile.
	e.info.Name, e.info.Private, e.info.PixelRate, e.info.Archived = next.info.Name, next.info.Private, next.info.PixelRate, next.info.Archived
	e.invite = next.invite
	e.savedActive = latest(e.savedActive, rec.LastActive)
	return e.info, nil
}

// Update implements ports.Canvases.
func (d *Directory) Update(_ context.Context, slug domain.Slug, p ports.CanvasPatch) (domain.CanvasInfo, error) {
	if p.Name != nil {
		if err := checkName(*p.Name); err != nil {
			return domain.CanvasInfo{}, err
		}
	}
	if p.PixelRate != nil {
		if err := checkRate(*p.PixelRate); err != nil {
			return domain.CanvasInfo{}, err
		}
	}
	return d.change(slug, func(e *entry) (bool, error) {
		if e.info.Archived {
			return false, fmt.Errorf("%w: %s", ports.ErrArchived, slug)
		}
		if p.Name != nil {
			e.info.Name = *p.Name
		}
		if p.PixelRate != nil {
			e.info.PixelRate = *p.PixelRate
		}
		if p.Private != nil {
			e.info.Private = *p.Private
			if !e.info.Private {
				e.invite = domain.TokenHash{}
			}
		}
		return true, nil
	})
}

// Archive implements ports.Canvases.
func (d *Directory) Archive(_ context.Context, slug domain.Slug) error {
	_, err := d.change(slug, func(e *entry) (bool, error) {
		was := e.info.Archived
		e.info.Archived = true
		return !was, nil
	})
	return err
}

// RotateInvite implements ports.Canvases.
func (d *Directory) RotateInvite(_ context.Context, slug domain.Slug) (string, error) {
	token, hash := newToken()
	_, err := d.change(slug, func(e *entry) (bool, error) {
		e.invite = hash
		return true, nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Touch implements ports.Canvases.
func (d *Directory) Touch(_ context.Context, slug domain.Slug, at time.Time) error {
	at = at.UTC().Truncate(time.Microsecond)
	d.mu.Lock()
	e, err := d.lookup(slug)
	if err != nil || e.info.Archived || !at.After(e.info.LastActive) {
		d.mu.Unlock()
		return nil
	}
	e.info.LastActive = at
	due := at.Sub(e.savedActive) >= ports.TouchWindow
	d.mu.Unlock()
	if !due {
		return nil
	}
	return d.persist(e, true)
}

// persist writes an entry as it is now. With onlyIfFree it gives up when
// another write of the entry is under way (that one, or the next Touch,
// carries the activity).
func (d *Directory) persist(e *entry, onlyIfFree bool) error {
	if onlyIfFree {
		if !e.wmu.TryLock() {
			return nil
		}
	} else {
		e.wmu.Lock()
	}
	defer e.wmu.Unlock()
	d.mu.Lock()
	if !e.info.LastActive.After(e.savedActive) {
		d.mu.Unlock()
		return nil
	}
	rec := newRecord(e)
	d.mu.Unlock()
	if err := writeRecord(filepath.Join(d.root, rec.Slug), rec); err != nil {
		return fmt.Errorf("%w: canvas %s: %w", ports.ErrUnavailable, rec.Slug, err)
	}
	d.mu.Lock()
	e.savedActive = latest(e.savedActive, rec.LastActive)
	d.mu.Unlock()
	return nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// CheckCreator implements ports.Canvases.
func (d *Directory) CheckCreator(_ context.Context, slug domain.Slug, key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.lookup(slug)
	switch {
	case err != nil:
		return err
	case e.creator.Matches(key):
		return nil
	case e.info.Private:
		return fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
	}
	return fmt.Errorf("%w: %s", ports.ErrForbidden, slug)
}

// CheckInvite implements ports.Canvases.
func (d *Directory) CheckInvite(_ context.Context, slug domain.Slug, token string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, err := d.lookup(slug)
	switch {
	case err != nil:
		return err
	case !e.info.Private || e.invite.Matches(token):
		return nil
	}
	return fmt.Errorf("%w: %q", ports.ErrNoCanvas, slug)
}
