package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// readiness is GET /ready: the status code and the reason, if any.
func readiness(t *testing.T, p *testbin.Process) (int, string) {
	t.Helper()
	resp, err := http.Get(p.URL("/ready"))
	if err != nil {
		t.Fatalf("GET /ready: %v", err)
	}
	defer resp.Body.Close()
	var body struct{ Reason string }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("GET /ready: %v: %s", err, b)
	}
	return resp.StatusCode, body.Reason
}

// stopped starts a Redis container for the test and stops it: its port is
// known and refuses connections until Start.
func stopped(t *testing.T) *redistest.Redis {
	t.Helper()
	r := redistest.Start(t)
	r.Stop(t)
	return r
}

// A process that needs Redis and finds it down at start serves anyway,
// unready, for longer than the first attempt to open the store and several
// background retries; exiting would have Kubernetes restart it with ever
// longer CrashLoopBackOff delays, lengthening the outage.
func staysUpUnready(t *testing.T, p *testbin.Process, wantReasons ...string) {
	t.Helper()
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			t.Fatalf("exited while Redis was down:\n%s", p.Logs())
		}
		code, reason := readiness(t, p)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("/ready = %d (%q) while Redis is down, want 503", code, reason)
		}
		ok := false
		for _, want := range wantReasons {
			ok = ok || reason == want
		}
		if !ok {
			t.Fatalf("/ready reason %q while Redis is down, want one of %q", reason, wantReasons)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func waitReady(t *testing.T, p *testbin.Process) {
	t.Helper()
	waitfor.Until(t, 20*time.Second, func() error {
		if p.Exited() {
			t.Fatalf("exited:\n%s", p.Logs())
		}
		if code, reason := readiness(t, p); code != http.StatusOK {
			return fmt.Errorf("/ready = %d (%q) after Redis came back", code, reason)
		}
		return nil
	})
}

// TestAPIStartsUnreadyWhileRedisIsDown: the api started with Redis down
// stays up and answers /ready 503 "store unreachable"; once Redis starts,
// /ready turns 200 and a REST write is accepted.
func TestAPIStartsUnreadyWhileRedisIsDown(t *testing.T) {
	r := stopped(t)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), "REDIS_URL=redis://"+r.Addr()+"/0")
	staysUpUnready(t, api, "store unreachable")

	put := func() (int, string) {
		req, err := http.NewRequest(http.MethodPut, api.URL("/api/pixel"), strings.NewReader(`{"x":1,"y":2,"color":"#123456"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := put(); code != http.StatusServiceUnavailable {
		t.Errorf("PUT /api/pixel while Redis is down = %d %s, want 503", code, body)
	}

	r.Start(t)
	waitReady(t, api)
	if code, body := put(); code != http.StatusOK || !strings.Contains(body, `"seq":1`) {
		t.Fatalf("PUT /api/pixel after Redis came back = %d %s, want 200 with seq 1", code, body)
	}
	var pixel struct{ Color string }
	resp, err := http.Get(api.URL("/api/pixel/1/2"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&pixel); err != nil || !strings.EqualFold(pixel.Color, "#123456") {
		t.Fatalf("GET /api/pixel/1/2 = %+v, %v", pixel, err)
	}
}

// TestGatewayStartsUnreadyWhileRedisIsDown: the same for a gateway, whose
// hub also subscribes to the bus at start; once Redis starts it is ready
// and a client's pixel is acknowledged and delivered.
func TestGatewayStartsUnreadyWhileRedisIsDown(t *testing.T) {
	r := stopped(t)
	gw := testbin.Start(t, testbin.Build(t, "./apps/gateway"), "REDIS_URL=redis://"+r.Addr()+"/0")
	staysUpUnready(t, gw, "store unreachable", "bus not subscribed")

	r.Start(t)
	waitReady(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, gw.WS("/ws"), wsclient.Options{Username: "Dora"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.PlacePixel(3, 4, "#ABCDEF", "d1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-c.Messages():
			switch v := m.(type) {
			case wsclient.PixelUpdated:
				if v.ID == "d1" {
					return
				}
			case wsclient.Error:
				t.Fatalf("pixel refused after Redis came back: %+v", v)
			}
		case <-c.Done():
			t.Fatalf("connection closed: %+v", c.Closed())
		case <-deadline:
			t.Fatal("pixel not delivered within 10s of the gateway turning ready")
		}
	}
}
