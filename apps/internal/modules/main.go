package modules

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
)

// Main is every app's main: read the configuration, build the fx app and
// run it until SIGINT or SIGTERM. It returns the exit code.
func Main(spec config.Spec, args []string, options func(config.Config) fx.Option) int {
	cfg, err := config.Load(spec, args, os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", spec.App, err)
		return 2
	}
	app := fx.New(options(cfg))
	if err := app.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", spec.App, err)
		return 1
	}
	app.Run()
	return 0
}
