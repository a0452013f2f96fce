// Command playground runs all of Pixel Playground in one process on one
// port: the page, the REST API and the WebSocket. By default it keeps the
// canvas in an embedded, durable store under DATA_DIR; with REDIS_URL (or
// REDIS_HOST) it uses Redis and can run beside the split apps.
package main

import (
	"os"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/apps/internal/modules"
)

var spec = config.Spec{
	App:         "playground",
	Description: "the all-in-one Pixel Playground: page, REST API and WebSocket on one port",
	DefaultPort: 8080,
	Settings: []config.Setting{config.Port, config.Redis, config.Canvas, config.DataDir, config.History, config.RESTLimit, config.Connections, config.IPBudget, config.Rates,
		config.Operator, config.CORS, config.ClientURLs, config.Origins, config.Ping, config.Drain, config.Shutdown, config.Logging},
}

func main() { os.Exit(modules.Main(spec, os.Args[1:], options)) }

func options(cfg config.Config) fx.Option {
	return fx.Options(
		modules.Core(cfg), modules.Logger(), modules.Stores(cfg), modules.Place(), modules.Gateway(),
		modules.REST(), modules.Web(), modules.HTTP(),
		fx.Provide(fx.Annotate(modules.PlaygroundRoot, fx.ResultTags(`name:"root"`))),
		fx.Invoke(modules.Serve),
		fx.StopTimeout(cfg.ShutdownTimeout),
	)
}
