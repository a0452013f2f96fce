package idlearchive_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/canvasdir"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/idlearchive"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/canvasestest"
)

var (
	ctx   = context.Background()
	start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	day   = 24 * time.Hour
	quiet = slog.New(slog.DiscardHandler)
)

// withMain is a directory whose Idle also answers main, as a broken
// backend might: the job must still never archive it.
type withMain struct {
	ports.Canvases
	mu       sync.Mutex
	archived []domain.Slug
}

func (d *withMain) Idle(ctx context.Context, before time.Time, limit int) ([]domain.Slug, error) {
	slugs, err := d.Canvases.Idle(ctx, before, limit)
	return append([]domain.Slug{domain.MainSlug}, slugs...), err
}

func (d *withMain) Archive(ctx context.Context, slug domain.Slug) error {
	d.mu.Lock()
	d.archived = append(d.archived, slug)
	d.mu.Unlock()
	if slug == domain.MainSlug {
		return fmt.Errorf("%w: main", ports.ErrNoCanvas)
	}
	return d.Canvases.Archive(ctx, slug)
}

func setup(t *testing.T) (*withMain, *canvasestest.Clock) {
	t.Helper()
	clock := canvasestest.NewClock(start)
	dir, err := canvasdir.Open(canvasdir.Options{Dir: t.TempDir(), Clock: clock, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	for _, name := range []string{"old", "secret", "busy", "recent"} {
		if _, _, err := dir.Create(ctx, domain.CanvasSpec{Name: name, Size: domain.Size{Width: 4, Height: 4}, Private: name == "secret"}, ports.CanvasLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	return &withMain{Canvases: dir}, clock
}

func archived(t *testing.T, d ports.Canvases) string {
	t.Helper()
	var out []domain.Slug
	for _, s := range []domain.Slug{"old", "secret", "busy", "recent"} {
		info, err := d.Get(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if info.Archived {
			out = append(out, s)
		}
	}
	return fmt.Sprint(out)
}

func TestRunOnceArchivesIdleCanvasesOnly(t *testing.T) {
	d, clock := setup(t)
	a := idlearchive.New(idlearchive.Options{Canvases: d, Clock: clock, IdleFor: 90 * day, Log: quiet})

	clock.Advance(60 * day)
	if err := d.Touch(ctx, "busy", clock.Now()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(29 * day)
	if err := d.Touch(ctx, "recent", clock.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := a.RunOnce(ctx); err != nil || n != 0 || archived(t, d) != "[]" {
		t.Fatalf("at 89 days: archived %d (%s), %v; want none", n, archived(t, d), err)
	}
	clock.Advance(day + time.Second) // 90 days and a second: old and secret are idle
	if n, err := a.RunOnce(ctx); err != nil || n != 2 || archived(t, d) != "[old secret]" {
		t.Fatalf("at 90 days: archived %d (%s), %v; want old and secret", n, archived(t, d), err)
	}
	if n, err := a.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("a second run archived %d, %v; want nothing new", n, err)
	}
	clock.Advance(60 * day) // busy idle for 90 days, recent for 61
	if n, err := a.RunOnce(ctx); err != nil || n != 1 || archived(t, d) != "[old secret busy]" {
		t.Fatalf("later: archived %d (%s), %v", n, archived(t, d), err)
	}
	if info, err := d.Get(ctx, "old"); err != nil || info.Name != "old" {
		t.Fatalf("an archived canvas is still readable: %+v, %v", info, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.archived {
		if s == domain.MainSlug {
			t.Fatalf("main was archived: %v", d.archived)
		}
	}
}

func TestRunOnceAtStartThenEveryIntervalWithJitter(t *testing.T) {
	d, clock := setup(t)
	clock.Advance(100 * day)
	waits := make(chan time.Duration)
	fire := make(chan time.Time)
	a := idlearchive.New(idlearchive.Options{Canvases: d, Clock: clock, IdleFor: 90 * day, Log: quiet,
		Interval: time.Hour, Jitter: 5 * time.Minute, StartJitter: time.Minute,
		After: func(w time.Duration) <-chan time.Time { waits <- w; return fire },
		Rand:  func(n int64) int64 { return n / 2 }})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(runCtx); close(done) }()

	if w := <-waits; w != 30*time.Second {
		t.Fatalf("first wait %v, want half the start jitter", w)
	}
	if got := archived(t, d); got != "[]" {
		t.Fatalf("archived before the first run: %s", got)
	}
	fire <- clock.Now()
	if w := <-waits; w != time.Hour+150*time.Second {
		t.Fatalf("next wait %v, want the interval and half the jitter", w)
	}
	if got := archived(t, d); got != "[old secret busy recent]" {
		t.Fatalf("after the first run: %s", got)
	}
	cancel()
	<-done
}
