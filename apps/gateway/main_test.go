package main

import (
	"io"
	"testing"

	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/apps/internal/config"
)

func TestValidateApp(t *testing.T) {
	cfg, err := config.Load(spec, nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.ValidateApp(options(cfg)); err != nil {
		t.Fatal(err)
	}
}
