package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// TestOutOfDescriptorsTheServerCarriesOn runs the playground with 1,024 file
// descriptors and opens 1,100 idle connections to it (no WebSocket needed).
// Before connections were capped, fasthttp's "too many open files" ended the
// server and with it the app. Now the connections over the cap are closed at
// once, the artist already drawing keeps drawing, and once the idle
// connections go, new ones are accepted again.
func TestOutOfDescriptorsTheServerCarriesOn(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prlimit (util-linux) is needed to run the server with a low open-files limit")
		}
		t.Skip("prlimit (util-linux) is not installed")
	}
	bin := testbin.Build(t, "./apps/playground")
	// The binary is started through a script so that its own limit, and no
	// one else's, is 1,024: the test needs more than that for its clients.
	wrapper := filepath.Join(t.TempDir(), "playground-1024")
	script := fmt.Sprintf("#!/bin/sh\nexec %s --nofile=1024:1024 -- %s \"$@\"\n", prlimit, bin)
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil { //nolint:gosec // a test's own script, run by the test
		t.Fatal(err)
	}
	p := testbin.Start(t, wrapper, "DATA_DIR="+t.TempDir())

	artist, _ := dial(t, p.WS("/ws"))

	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			_ = c.Close()
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", p.Port)
	for range 1100 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v (the test process itself needs more than 1,100 descriptors)", err)
		}
		idle = append(idle, c)
	}
	if p.Exited() {
		t.Fatalf("the server exited under 1,100 idle connections:\n%s", p.Logs())
	}

	// The connection that was there before keeps working: a pixel drawn on
	// it comes back to it.
	if err := artist.WriteJSON(map[string]any{"type": "pixel_update", "x": 3, "y": 4, "color": "#FF0000", "id": "w1"}); err != nil {
		t.Fatal(err)
	}
	if m := readType(t, artist, "pixel_updated"); m["x"] != 3.0 || m["color"] != "#FF0000" {
		t.Fatalf("pixel_update = %v", m)
	}

	for _, c := range idle {
		_ = c.Close()
	}
	idle = nil
	client := &http.Client{Timeout: 2 * time.Second}
	waitfor.Until(t, 20*time.Second, func() error {
		resp, err := client.Get(p.URL("/health"))
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/health: %s", resp.Status)
		}
		return nil
	})
	if p.Exited() || strings.Contains(p.Logs(), "server stopped") {
		t.Fatalf("the server stopped:\n%s", p.Logs())
	}
}

// TestMetricsMoveToTheAdminPort: with ADMIN_PORT the public port no longer
// tells anyone the server's internals, the admin port serves the probes and
// the metrics, and old scripts still find /health on the public port.
func TestMetricsMoveToTheAdminPort(t *testing.T) {
	bin := testbin.Build(t, "./apps/playground")
	admin := testbin.FreePort(t)
	p := testbin.Start(t, bin, "DATA_DIR="+t.TempDir(), fmt.Sprintf("ADMIN_PORT=%d", admin))
	status := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	adminURL := func(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", admin, path) }
	if got := status(p.URL("/metrics")); got != http.StatusNotFound {
		t.Errorf("public /metrics = %d, want 404", got)
	}
	for _, url := range []string{p.URL("/health"), p.URL("/ready"), adminURL("/health"), adminURL("/ready"), adminURL("/metrics")} {
		if got := status(url); got != http.StatusOK {
			t.Errorf("%s = %d, want 200", url, got)
		}
	}
	if got := status(adminURL("/api/canvas")); got != http.StatusNotFound {
		t.Errorf("the admin port serves the API: %d", got)
	}
}

// TestRESTLogsFollowTheLogSettings: the REST adapter logged through
// slog.Default() (text, info) whatever LOG_FORMAT and LOG_LEVEL said, and a
// failed operator login was not logged at all. Now a wrong reset token is a
// warning, in the app's JSON, naming the client.
func TestRESTLogsFollowTheLogSettings(t *testing.T) {
	bin := testbin.Build(t, "./apps/playground")
	p := testbin.Start(t, bin, "DATA_DIR="+t.TempDir(), "LOG_FORMAT=json", "LOG_LEVEL=warn", "OPERATOR_TOKEN=op")
	req, err := http.NewRequest(http.MethodPost, p.URL("/api/canvas/reset"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer guess")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reset with a wrong token: %s", resp.Status)
	}
	waitfor.True(t, 5*time.Second, "a JSON warning about the failed reset", func() bool {
		for _, line := range strings.Split(p.Logs(), "\n") {
			if strings.HasPrefix(line, "{") && strings.Contains(line, `"level":"WARN"`) &&
				strings.Contains(line, "operator reset refused") && strings.Contains(line, `"client":"127.0.0.1"`) {
				return true
			}
		}
		return false
	})
}
