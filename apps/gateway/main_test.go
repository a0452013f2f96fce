package main

import (
	"testing"

	"github.com/pixelplayground/pixelplayground/apps/internal/apptest"
)

func TestValidateApp(t *testing.T) { apptest.ValidateApp(t, spec, options, nil) }
