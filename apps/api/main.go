// Command api serves the REST API (port 3001) of the split deployment, on
// the Redis store shared with the gateways.
package main

import (
	"os"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/apps/internal/modules"
)

var spec = config.Spec{
	App:         "api",
	Description: "the Pixel Playground REST API, on Redis",
	DefaultPort: 3001,
	Settings: []config.Setting{config.Port, config.Redis, config.Canvas, config.History, config.RESTLimit, config.Connections, config.IPBudget,
		config.Operator, config.CORS, config.Shutdown, config.Logging},
}

func main() { os.Exit(modules.Main(spec, os.Args[1:], options)) }

func options(cfg config.Config) fx.Option {
	return fx.Options(
		modules.Core(cfg), modules.Logger(), modules.Redis(), modules.Place(), modules.REST(), modules.HTTP(),
		fx.Provide(fx.Annotate(modules.CORSRoot, fx.ResultTags(`name:"root"`))),
		fx.Invoke(modules.Serve),
		fx.StopTimeout(cfg.ShutdownTimeout),
	)
}
