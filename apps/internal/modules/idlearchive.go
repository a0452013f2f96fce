package modules

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/internal/idlearchive"
	"github.com/pixelplayground/pixelplayground/ports"
)

// IdleArchive archives canvases idle for CANVAS_IDLE_DAYS, in the
// background of the apps that serve the REST API (the api and the
// playground; REST includes it). Every api replica runs it, at jittered
// times; archiving is idempotent, so overlapping runs are harmless.
func IdleArchive() fx.Option {
	return fx.Module("idlearchive", fx.Invoke(startIdleArchive))
}

type idleArchiveParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Canvases  ports.Canvases `optional:"true"`
	Clock     ports.Clock
	Log       *slog.Logger
}

func startIdleArchive(p idleArchiveParams) {
	if p.Config.CanvasIdleDays <= 0 || p.Canvases == nil {
		return
	}
	a := idlearchive.New(idlearchive.Options{Canvases: p.Canvases, Clock: p.Clock,
		IdleFor: time.Duration(p.Config.CanvasIdleDays) * 24 * time.Hour, Log: p.Log})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			wg.Go(func() { a.Run(ctx) })
			return nil
		},
		OnStop: func(context.Context) error {
			cancel()
			wg.Wait()
			return nil
		},
	})
}
