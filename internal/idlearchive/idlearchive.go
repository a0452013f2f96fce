// Package idlearchive archives canvases nobody has drawn on for a while
// (CANVAS_IDLE_DAYS): they stay readable and are no longer writable. It
// is a use case of the api and the playground, started by their apps; a
// plain type, driven by a clock and a timer that tests replace.
//
// Several api replicas each run it, at times spread by jitter so that
// they do not all read the directory at once; when two runs overlap
// nothing goes wrong, since archiving is idempotent.
package idlearchive

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Defaults of the schedule: a run within StartJitter of the start, then
// one every Interval, each delayed by up to Jitter more.
const (
	Interval    = time.Hour
	Jitter      = 5 * time.Minute
	StartJitter = time.Minute
)

// Options configure an Archiver. IdleFor must be positive.
type Options struct {
	Canvases ports.Canvases
	Clock    ports.Clock
	// IdleFor is how long without activity archives a canvas.
	IdleFor time.Duration
	Log     *slog.Logger

	// The schedule; zero values are the package's defaults.
	Interval, Jitter, StartJitter time.Duration
	// After waits (default time.After); Rand picks a jitter in [0, n)
	// (default math/rand/v2). Tests replace them.
	After func(time.Duration) <-chan time.Time
	Rand  func(n int64) int64
}

// Archiver archives idle canvases.
type Archiver struct{ o Options }

// New builds an Archiver.
func New(o Options) *Archiver {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Interval <= 0 {
		o.Interval = Interval
	}
	if o.Jitter <= 0 {
		o.Jitter = Jitter
	}
	if o.StartJitter <= 0 {
		o.StartJitter = StartJitter
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	return &Archiver{o: o}
}

// RunOnce archives every canvas idle for IdleFor as of the clock's now
// (never main, which is never archived) and returns how many it archived.
// A canvas that went away meanwhile is skipped; the first other failure
// ends the run (the next one carries on).
func (a *Archiver) RunOnce(ctx context.Context) (int, error) {
	before := a.o.Clock.Now().Add(-a.o.IdleFor)
	archived := 0
	for {
		slugs, err := a.o.Canvases.Idle(ctx, before, ports.MaxListLimit)
		if err != nil {
			return archived, err
		}
		progress := false
		for _, slug := range slugs {
			if slug == "" || slug == domain.MainSlug {
				continue
			}
			if err := a.o.Canvases.Archive(ctx, slug); err != nil {
				if errors.Is(err, ports.ErrNoCanvas) {
					continue
				}
				return archived, err
			}
			progress = true
			archived++
			a.o.Log.Info("canvas archived: idle", "canvas", string(slug), "idleFor", a.o.IdleFor.String())
		}
		// Archived canvases leave Idle's answer, so a full page means
		// there may be more; one without progress would repeat itself.
		if len(slugs) < ports.MaxListLimit || !progress {
			return archived, nil
		}
	}
}

// Run runs RunOnce shortly after the start and then every Interval, each
// time after a random jitter, until ctx ends.
func (a *Archiver) Run(ctx context.Context) {
	wait := a.jitter(a.o.StartJitter)
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.o.After(wait):
		}
		if n, err := a.RunOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.o.Log.Warn("archiving idle canvases failed; next run in an interval", "archived", n, "err", err)
		} else if n > 0 {
			a.o.Log.Info("idle canvases archived", "archived", n)
		}
		wait = a.o.Interval + a.jitter(a.o.Jitter)
	}
}

func (a *Archiver) jitter(most time.Duration) time.Duration {
	if most <= 0 {
		return 0
	}
	return time.Duration(a.o.Rand(int64(most)))
}
