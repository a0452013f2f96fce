// Command web serves the page, its static files and /config.js (port 3000)
// of the split deployment. It needs no Redis.
package main

import (
	"os"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/apps/internal/modules"
)

var spec = config.Spec{
	App:         "web",
	Description: "the Pixel Playground page and /config.js",
	DefaultPort: 3000,
	Settings:    []config.Setting{config.Port, config.Connections, config.ClientURLs, config.Shutdown, config.Logging},
}

func main() { os.Exit(modules.Main(spec, os.Args[1:], options)) }

func options(cfg config.Config) fx.Option {
	return fx.Options(
		modules.Core(cfg), modules.Logger(), modules.Web(), modules.HTTP(),
		fx.Invoke(modules.Serve),
		fx.StopTimeout(cfg.ShutdownTimeout),
	)
}
