package main

import (
	"testing"

	"github.com/pixelplayground/pixelplayground/apps/testbin"
)

func TestValidateApp(t *testing.T) { testbin.ValidateApp(t, spec, options, nil) }
