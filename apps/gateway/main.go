// Command gateway serves WebSocket clients (port 3002, on /ws and /) of the
// split deployment. Run as many replicas as needed: they share Redis for
// the canvas, Pub/Sub fan-out and presence.
package main

import (
	"os"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/apps/internal/modules"
)

var spec = config.Spec{
	App:         "gateway",
	Description: "a Pixel Playground WebSocket gateway, on Redis",
	DefaultPort: 3002,
	Settings: []config.Setting{config.Port, config.Connections, config.IPBudget, config.Redis, config.Canvas, config.History, config.Rates,
		config.Origins, config.Ping, config.Drain, config.Shutdown, config.Logging},
}

func main() { os.Exit(modules.Main(spec, os.Args[1:], options)) }

func options(cfg config.Config) fx.Option {
	return fx.Options(
		modules.Core(cfg), modules.Logger(), modules.Redis(), modules.Place(), modules.Gateway(), modules.HTTP(),
		fx.Provide(modules.AsRoutes(modules.UpgradeAtRoot)),
		fx.Invoke(modules.Serve),
		fx.StopTimeout(cfg.ShutdownTimeout),
	)
}
