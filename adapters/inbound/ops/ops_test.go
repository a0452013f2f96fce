package ops

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

type pinger struct {
	mu  sync.Mutex
	err error
}

func (p *pinger) Ping(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *pinger) set(err error) {
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
}

type clock struct{}

// 2026-11-22T03:25:00.123456Z
func (clock) Now() time.Time { return time.Date(2026, 11, 22, 3, 25, 0, 123_456_000, time.UTC) }

// serve registers the endpoints on a router served in memory and returns
// a function that GETs a path.
func serve(t *testing.T, o Options) func(path string) (int, map[string]any) {
	t.Helper()
	o.Clock, o.Log = clock{}, slog.New(slog.DiscardHandler)
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	r := router.New()
	New(o).Register(r)
	ln := fasthttputil.NewInmemoryListener()
	go func() { _ = fasthttp.Serve(ln, r.Handler) }()
	t.Cleanup(func() { _ = ln.Close() })
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	return func(path string) (int, map[string]any) {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://ops" + path)
		if err := c.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		if string(resp.Header.Peek("Cache-Control")) != "no-store" && path != "/metrics" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, resp.Header.Peek("Cache-Control"))
		}
		var m map[string]any
		if path != "/metrics" {
			if err := json.Unmarshal(resp.Body(), &m); err != nil {
				t.Fatalf("%s: %v: %s", path, err, resp.Body())
			}
		} else {
			m = map[string]any{"body": string(resp.Body())}
		}
		return resp.StatusCode(), m
	}
}

var isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestHealth(t *testing.T) {
	for _, tc := range []struct {
		backend string
		pingErr error
		want    string
	}{
		{"redis", nil, "connected"},
		{"embedded", nil, "embedded"},
		{"redis", ports.ErrUnavailable, "disconnected"},
		{"embedded", ports.ErrUnavailable, "disconnected"},
	} {
		store := &pinger{err: tc.pingErr}
		get := serve(t, Options{Store: store, Backend: tc.backend, Fields: []Fields{func() map[string]any {
			return map[string]any{"connections": 2, "users": []string{"Al", "Anonymous"}, "status": "overridden?"}
		}}})
		code, m := get("/health")
		if code != 200 || m["status"] != "ok" || m["redis"] != tc.want || m["connections"] != 2.0 {
			t.Errorf("%s/%v: health %d %v", tc.backend, tc.pingErr, code, m)
		}
		if ts, _ := m["timestamp"].(string); ts != "2026-11-22T03:25:00.123Z" || !isoMillis.MatchString(ts) {
			t.Errorf("timestamp %q", ts)
		}
		if users, _ := m["users"].([]any); len(users) != 2 {
			t.Errorf("extra users missing: %v", m)
		}
	}
}

func TestHealthWithoutAStore(t *testing.T) {
	code, m := serve(t, Options{})("/health")
	if _, has := m["redis"]; code != 200 || m["status"] != "ok" || has || !isoMillis.MatchString(m["timestamp"].(string)) {
		t.Errorf("health = %d %v", code, m)
	}
}

func TestReady(t *testing.T) {
	store := &pinger{}
	var mu sync.Mutex
	draining := false
	get := serve(t, Options{Store: store, Checks: []Check{func() string {
		mu.Lock()
		defer mu.Unlock()
		if draining {
			return "draining"
		}
		return ""
	}}})
	if code, m := get("/ready"); code != 200 || m["status"] != "ready" {
		t.Errorf("ready = %d %v", code, m)
	}
	mu.Lock()
	draining = true
	mu.Unlock()
	if code, m := get("/ready"); code != 503 || m["status"] != "unavailable" || m["reason"] != "draining" {
		t.Errorf("draining = %d %v", code, m)
	}
	mu.Lock()
	draining = false
	mu.Unlock()
	store.set(ports.ErrUnavailable)
	if code, m := get("/ready"); code != 503 || m["reason"] != "store unreachable" {
		t.Errorf("store down = %d %v", code, m)
	}
	store.set(nil)
	if code, _ := get("/ready"); code != 200 {
		t.Errorf("store back: %d", code)
	}
}

func TestMetricsCountTheProbes(t *testing.T) {
	get := serve(t, Options{})
	get("/health")
	_, m := get("/metrics")
	if body := m["body"].(string); !strings.Contains(body, `pixel_http_requests_total{route="GET /health",status="2xx"} 1`) {
		t.Errorf("metrics do not count /health:\n%s", body)
	}
}
