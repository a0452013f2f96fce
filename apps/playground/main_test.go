package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pixelplayground/pixelplayground/apps/internal/apptest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

func TestValidateApp(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { apptest.ValidateApp(t, spec, options, map[string]string{"DATA_DIR": t.TempDir()}) })
	t.Run("redis", func(t *testing.T) {
		apptest.ValidateApp(t, spec, options, map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"})
	})
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// putPixel writes one pixel through the REST API and fails the test unless
// it is accepted.
func putPixel(t *testing.T, p *testbin.Process, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, p.URL("/api/pixel"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT /api/pixel: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /api/pixel: %s", resp.Status)
	}
}

type canvas struct {
	Width, Height int
	Seq           uint64
	Pixels        map[string]string
}

func dial(t *testing.T, url string) (*websocket.Conn, map[string]any) {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, readType(t, c, "connected")
}

func readType(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m map[string]any
		if err := c.ReadJSON(&m); err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m["type"] == typ {
			return m
		}
	}
}

// TestPlaygroundEndToEnd runs the real binary: page, API and WebSocket on
// one port; a SIGKILL loses nothing acknowledged; SIGTERM closes clients
// with 1012 and exits cleanly; the canvas survives both.
func TestPlaygroundEndToEnd(t *testing.T) {
	bin := testbin.Build(t, "./apps/playground")
	data := t.TempDir()
	env := []string{"DATA_DIR=" + data, "OPERATOR_TOKEN=op"}
	p := testbin.Start(t, bin, env...)

	resp, err := http.Get(p.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<html") && !strings.Contains(string(page), "<!doctype") {
		t.Fatalf("GET / = %s %.80q", resp.Status, page)
	}
	var health map[string]any
	getJSON(t, p.URL("/health"), &health)
	if health["status"] != "ok" || health["redis"] != "embedded" {
		t.Fatalf("health = %v", health)
	}

	a, _ := dial(t, p.WS("/ws"))
	b, _ := dial(t, p.WS("/")) // old clients connect to the root
	if err := a.WriteJSON(map[string]any{"type": "pixel_update", "x": 3, "y": 4, "color": "#ff0000", "id": "w"}); err != nil {
		t.Fatal(err)
	}
	if m := readType(t, b, "pixel_updated"); m["color"] != "#FF0000" || m["seq"] != 1.0 {
		t.Fatalf("b got %v", m)
	}
	readType(t, a, "pixel_updated")
	putPixel(t, p, `{"x":5,"y":5,"color":"#00ff00"}`)
	if m := readType(t, a, "pixel_updated"); m["color"] != "#00FF00" || m["seq"] != 2.0 {
		t.Fatalf("a did not see the REST write: %v", m)
	}

	var before canvas
	getJSON(t, p.URL("/api/canvas"), &before)
	if before.Seq != 2 || before.Pixels["3,4"] != "#FF0000" || before.Pixels["5,5"] != "#00FF00" || len(before.Pixels) != 2500 {
		t.Fatalf("canvas before kill: seq %d, %d pixels", before.Seq, len(before.Pixels))
	}

	p.Kill()
	p = testbin.StartOnPort(t, bin, p.Port, env...)
	var afterKill canvas
	getJSON(t, p.URL("/api/canvas"), &afterKill)
	if afterKill.Seq != 2 || afterKill.Pixels["3,4"] != "#FF0000" || afterKill.Pixels["5,5"] != "#00FF00" {
		t.Fatalf("canvas after SIGKILL and restart: seq %d, 3,4=%s 5,5=%s", afterKill.Seq, afterKill.Pixels["3,4"], afterKill.Pixels["5,5"])
	}

	c, connected := dial(t, p.WS("/ws"))
	if connected["seq"] != 2.0 {
		t.Fatalf("connected after restart = %v", connected)
	}
	if err := c.WriteJSON(map[string]any{"type": "pixel_update", "x": 0, "y": 0, "color": "#0000FF"}); err != nil {
		t.Fatal(err)
	}
	if m := readType(t, c, "pixel_updated"); m["seq"] != 3.0 {
		t.Fatalf("seq must continue after restart: %v", m)
	}
	if err := p.Terminate(t, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.Logs())
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ce *websocket.CloseError
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart {
				t.Fatalf("close on SIGTERM: %v, want 1012", err)
			}
			break
		}
	}
	p = testbin.StartOnPort(t, bin, p.Port, env...)
	var afterTerm canvas
	getJSON(t, p.URL("/api/canvas"), &afterTerm)
	if afterTerm.Seq != 3 || afterTerm.Pixels["0,0"] != "#0000FF" {
		t.Fatalf("canvas after SIGTERM and restart: seq %d, 0,0=%s", afterTerm.Seq, afterTerm.Pixels["0,0"])
	}
}

// TestRESTWritesAreLimitedPerClient checks the wiring of REST_RATE,
// REST_BURST and TRUSTED_PROXIES (the rules themselves are tested in
// adapters/inbound/rest). The rate is so low that no token comes back during the
// test, whatever the machine's speed.
func TestRESTWritesAreLimitedPerClient(t *testing.T) {
	bin := testbin.Build(t, "./apps/playground")
	p := testbin.Start(t, bin, "DATA_DIR="+t.TempDir(), "REST_RATE=0.001", "REST_BURST=2", "TRUSTED_PROXIES=127.0.0.1")
	put := func(client string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, p.URL("/api/pixel"), strings.NewReader(`{"x":1,"y":1,"color":"#123456"}`))
		req.Header.Set("X-Forwarded-For", client)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i, want := range []int{200, 200, 429} {
		if got := put("203.0.113.1"); got != want {
			t.Fatalf("write %d from one client = %d, want %d", i+1, got, want)
		}
	}
	if got := put("203.0.113.2"); got != 200 {
		t.Errorf("another client behind the same proxy = %d, want 200", got)
	}
}

// TestSIGTERMWithAStalledClient: a client that sends half a request and
// stops holds its connection until the read timeout, longer than
// SHUTDOWN_TIMEOUT. Waiting for it must not use up the stop timeout: the
// store still writes its final checkpoint and the process exits 0.
func TestSIGTERMWithAStalledClient(t *testing.T) {
	bin := testbin.Build(t, "./apps/playground")
	data := t.TempDir()
	p := testbin.Start(t, bin, "DATA_DIR="+data, "SHUTDOWN_TIMEOUT=3s")
	putPixel(t, p, `{"x":1,"y":1,"color":"#ff0000"}`)
	stalled, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := stalled.Write([]byte("GET /api/can")); err != nil {
		t.Fatal(err)
	}
	// The server has to have accepted the connection before it is told to
	// stop. It accepts in one loop, in the order connections arrive, so once
	// a request on a connection opened after this one has been answered,
	// this one has been accepted too.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := fresh.Get(p.URL("/health"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := p.Terminate(t, 15*time.Second); err != nil {
		t.Fatalf("exit after SIGTERM with a stalled client: %v\n%s", err, p.Logs())
	}
	if _, err := os.Stat(filepath.Join(data, "snapshot")); err != nil {
		t.Fatalf("no final checkpoint: %v\n%s", err, p.Logs())
	}
}
