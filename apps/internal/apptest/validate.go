// Package apptest holds test helpers shared by the apps' composition roots.
package apptest

import (
	"io"
	"testing"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
)

// ValidateApp checks that an app's fx graph is complete (every dependency
// provided, no cycles) with the configuration env gives it, without running
// any constructor.
func ValidateApp(t *testing.T, spec config.Spec, options func(config.Config) fx.Option, env map[string]string) {
	t.Helper()
	cfg, err := config.Load(spec, nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.ValidateApp(options(cfg)); err != nil {
		t.Fatal(err)
	}
}
