package rest

import (
	"context"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/internal/httpx"
)

// pingTimeout bounds the store check of /health and /ready: a probe must
// answer within Kubernetes' default 1 s timeout even when Redis hangs.
const pingTimeout = 800 * time.Millisecond

func (a *API) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	return a.store.Ping(ctx)
}

// storeState is the old health's `redis` field.
func (a *API) storeState() string {
	if err := a.ping(); err != nil {
		return "disconnected"
	}
	if a.backend == "" || a.backend == "redis" {
		return "connected"
	}
	return a.backend
}

// Health is GET /health: always 200 while the process serves, with the
// store's state in `redis` as the old system reported it. extra, if not
// nil, adds fields (the gateway's connections and users); it cannot
// replace status, redis or timestamp.
func (a *API) Health(extra func() map[string]any) fasthttp.RequestHandler {
	return a.instrument("GET /health", func(ctx *fasthttp.RequestCtx) {
		fields := map[string]any{}
		if extra != nil {
			for k, v := range extra() {
				fields[k] = v
			}
		}
		fields["status"] = "ok"
		fields["redis"] = a.storeState()
		fields["timestamp"] = httpx.ISOTime(a.clock.Now())
		body, err := json.Marshal(fields)
		if err != nil {
			a.log.Error("health fields do not encode", "err", err)
			httpx.Error(ctx, fasthttp.StatusInternalServerError, msgInternal)
			return
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		httpx.WriteJSON(ctx, fasthttp.StatusOK, body)
	})
}

// Ready is GET /ready for Kubernetes: 503 while draining (so no new
// traffic is routed here during shutdown) or while the store is
// unreachable, 200 otherwise. draining may be nil.
func (a *API) Ready(draining func() bool) fasthttp.RequestHandler {
	return a.instrument("GET /ready", func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		switch {
		case draining != nil && draining():
			httpx.WriteJSON(ctx, fasthttp.StatusServiceUnavailable, []byte(`{"status":"unavailable","reason":"draining"}`))
		case a.ping() != nil:
			a.m.StoreErrors.Inc()
			httpx.WriteJSON(ctx, fasthttp.StatusServiceUnavailable, []byte(`{"status":"unavailable","reason":"store unreachable"}`))
		default:
			httpx.WriteJSON(ctx, fasthttp.StatusOK, []byte(`{"status":"ready"}`))
		}
	})
}
