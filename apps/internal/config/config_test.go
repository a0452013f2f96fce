package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

var testSpec = Spec{App: "gateway", Description: "test", DefaultPort: 3002,
	Settings: []Setting{Port, Redis, Canvas, Rates, Ping, Logging}}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsEnvAndFlagsInThatOrder(t *testing.T) {
	c, err := Load(testSpec, nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 3002 || c.Width != 50 || c.PixelRate.PerSecond != 20 || c.PixelRate.Burst != 40 || c.PingInterval != 30*time.Second || c.UsesRedis() {
		t.Fatalf("defaults = %+v", c)
	}
	// Settings an app does not take still get their defaults.
	if c.ShutdownTimeout != 10*time.Second || c.HistorySize != 10000 {
		t.Fatalf("defaults of settings not taken = %+v", c)
	}
	c, err = Load(testSpec, []string{"--port", "4000"}, env(map[string]string{"PORT": "3999", "REDIS_HOST": "redis", "PIXEL_RATE": "5"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 4000 || c.RedisHost != "redis" || !c.UsesRedis() || c.PixelRate.PerSecond != 5 {
		t.Fatalf("env and flags = %+v", c)
	}
}

func TestBadValuesAreClearErrors(t *testing.T) {
	_, err := Load(testSpec, nil, env(map[string]string{"PORT": "http", "CANVAS_WIDTH": "100000", "LOG_FORMAT": "xml", "PING_INTERVAL": "-1s"}), io.Discard)
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{"PORT", "CANVAS_WIDTH", "LOG_FORMAT", "PING_INTERVAL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := Load(testSpec, []string{"--data-dir", "x"}, env(nil), io.Discard); err == nil {
		t.Error("a flag the app does not take must be refused")
	}
	if _, err := Load(testSpec, []string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("a stray argument must be refused")
	}
}

func TestHelpListsExactlyTheAppsSettings(t *testing.T) {
	var out bytes.Buffer
	_, err := Load(testSpec, []string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"PORT", "REDIS_URL", "REDIS_HOST", "CANVAS_WIDTH", "PIXEL_RATE", "PING_INTERVAL", "LOG_FORMAT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not list %s:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "DATA_DIR") {
		t.Error("help lists DATA_DIR, which the gateway does not take")
	}
}
