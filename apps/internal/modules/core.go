// Package modules holds the fx modules the apps are assembled from: one per
// adapter family, each a thin wrapper around plain constructors that work
// without fx. Ports are bound with fx.Annotate and fx.As, so the apps choose
// an implementation by choosing a module.
package modules

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Draining is set when shutdown begins; readiness fails from then on.
type Draining struct{ atomic.Bool }

// Drainer is something that must let go of its clients before the HTTP
// server stops (the gateway closing its WebSockets with 1012).
type Drainer interface {
	Drain(ctx context.Context)
}

// DrainFunc adapts a function to Drainer.
type DrainFunc func(ctx context.Context)

// Drain calls f.
func (f DrainFunc) Drain(ctx context.Context) { f(ctx) }

// NewLogger builds the process's slog logger from the configuration.
func NewLogger(cfg config.Config) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	return slog.New(h).With("app", cfg.App)
}

// Core supplies the configuration and provides the logger, metrics, clock
// and id source every app needs.
func Core(cfg config.Config) fx.Option {
	return fx.Module("core",
		fx.Supply(cfg),
		fx.Provide(
			NewLogger,
			metrics.New,
			func() *Draining { return new(Draining) },
			fx.Annotate(system.NewClock, fx.As(new(ports.Clock))),
			fx.Annotate(system.NewIDs, fx.As(new(ports.IDs))),
		),
	)
}

// Logger routes fx's own events to slog at debug level, so a normal start
// is quiet and a failing one still says why.
func Logger() fx.Option {
	return fx.WithLogger(func(log *slog.Logger) fxevent.Logger {
		l := &fxevent.SlogLogger{Logger: log}
		l.UseLogLevel(slog.LevelDebug)
		return l
	})
}
