// Package ops is the inbound adapter for operators and orchestrators: the
// /health (liveness), /ready (readiness) and /metrics endpoints every app
// serves. Each app registers them once, from this one place; what differs
// between apps comes in as data: the store to check (none for the web
// app), extra health fields (a gateway's connections and users), and
// readiness checks (draining, a gateway's own drain).
package ops

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

// pingTimeout bounds the store check of /health and /ready: a probe must
// answer within Kubernetes' default 1 s timeout even when Redis hangs.
const pingTimeout = 800 * time.Millisecond

// Fields adds fields to /health; it cannot replace status, redis or
// timestamp.
type Fields func() map[string]any

// Check is one readiness condition: it returns why the app is not ready,
// or "" when it is.
type Check func() string

// Pinger is the part of the store /health and /ready look at.
type Pinger interface {
	Ping(ctx context.Context) error
}

var _ Pinger = ports.CanvasStore(nil)

// Options configures the endpoints.
type Options struct {
	// Store, if not nil, is pinged by /health (its state is reported in
	// `redis`, the old system's field) and by /ready.
	Store Pinger
	// Backend is what /health reports while the store answers: "redis"
	// reports "connected" (the old system's word), anything else, such as
	// "embedded", is reported as is.
	Backend string
	Clock   ports.Clock
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Fields  []Fields
	// Checks run in order before the store's ping; the first reason wins.
	Checks []Check
}

// Ops serves the endpoints.
type Ops struct{ o Options }

// New builds the endpoints. Clock, Metrics and Log are required.
func New(o Options) *Ops { return &Ops{o: o} }

// Register adds GET /health, /ready and /metrics.
func (s *Ops) Register(r *router.Router) {
	s.RegisterProbes(r)
	r.GET("/metrics", s.o.Metrics.Handler())
}

// RegisterProbes adds GET /health and /ready only: the public port of an
// app whose metrics are on an admin port (old clients read /health there).
func (s *Ops) RegisterProbes(r *router.Router) {
	r.GET("/health", s.o.Metrics.Instrument("GET /health", s.health))
	r.GET("/ready", s.o.Metrics.Instrument("GET /ready", s.ready))
}

func (s *Ops) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	return s.o.Store.Ping(ctx)
}

// storeState is the old health's `redis` field.
func (s *Ops) storeState() string {
	if err := s.ping(); err != nil {
		return "disconnected"
	}
	if s.o.Backend == "" || s.o.Backend == "redis" {
		return "connected"
	}
	return s.o.Backend
}

// health is GET /health: always 200 while the process serves.
func (s *Ops) health(ctx *fasthttp.RequestCtx) {
	fields := map[string]any{}
	for _, f := range s.o.Fields {
		for k, v := range f() {
			fields[k] = v
		}
	}
	fields["status"] = "ok"
	if s.o.Store != nil {
		fields["redis"] = s.storeState()
	}
	fields["timestamp"] = httpx.ISOTime(s.o.Clock.Now())
	body, err := json.Marshal(fields)
	if err != nil {
		s.o.Log.Error("health fields do not encode", "err", err)
		httpx.Error(ctx, fasthttp.StatusInternalServerError, "Internal server error")
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	httpx.WriteJSON(ctx, fasthttp.StatusOK, body)
}

// ready is GET /ready for Kubernetes: 503 while a check fails (draining,
// so no new traffic is routed here during shutdown) or while the store is
// unreachable, 200 otherwise.
func (s *Ops) ready(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Cache-Control", "no-store")
	reason := ""
	for _, c := range s.o.Checks {
		if reason = c(); reason != "" {
			break
		}
	}
	if reason == "" && s.o.Store != nil && s.ping() != nil {
		s.o.Metrics.StoreErrors.Inc()
		reason = "store unreachable"
	}
	if reason != "" {
		b := jsonx.AppendString([]byte(`{"status":"unavailable","reason":`), reason)
		httpx.WriteJSON(ctx, fasthttp.StatusServiceUnavailable, append(b, '}'))
		return
	}
	httpx.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ready"}`))
}
