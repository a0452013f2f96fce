// Package rest is the REST API of the api app (and of the all-in-one app) on
// fasthttp and fasthttp/router: the canvas as JSON, raw RGB and PNG, single
// and batch pixel writes, the operator's reset, health and readiness.
//
// It speaks the old Express API's paths, field names and error strings so
// that v1 clients keep working, but fixes its bugs: every error is JSON,
// coordinates must be integers, usernames are normalized text, a batch is
// validated as a whole before anything is written, and reset needs an
// operator token. Every write goes through ports.CanvasStore.Place, which
// sequences and publishes it, so REST writes reach WebSocket clients exactly
// like WebSocket writes.
package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/internal/clientip"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Defaults for Options fields left zero.
const (
	// DefaultMaxBatch bounds PUT /api/pixels; a batch is one atomic store
	// call, so its size bounds how long the store is held.
	DefaultMaxBatch = 1000
	// MaxBodyBytes is the largest request body read, whatever the server's
	// own limit is (a full batch of 1000 pixels is about 60 KB).
	MaxBodyBytes = 1 << 20
)

// Options configures the API.
type Options struct {
	Store ports.CanvasStore
	// Placer is the one place-a-pixel path the app shares between its
	// inbound adapters; nil builds one on Store (tests, single adapters).
	Placer  *place.Service
	Metrics *metrics.Metrics // nil: a private registry nobody scrapes
	Clock   ports.Clock      // nil: the system clock
	Log     *slog.Logger     // nil: slog.Default(); internal errors are logged, never sent
	// OperatorToken is required by POST /api/canvas/reset; "" disables
	// reset altogether (403).
	OperatorToken string
	// CORSOrigins are the origins allowed by (*API).CORS; empty means "*".
	CORSOrigins []string
	// MaxBatch bounds PUT /api/pixels; 0 means DefaultMaxBatch.
	MaxBatch int
	// Requests, if not nil, limits write requests per client (one token
	// per request, a batch included: REST_RATE), so a flood of requests is
	// refused before its bodies are read. Pixels are counted by the shared
	// pixel budget of the Placer.
	Requests ports.Budget
	// ResetAttempts, if not nil, is charged one token per reset attempt; a
	// client whose budget is spent is refused (429) without its token being
	// looked at, until it refills.
	ResetAttempts ports.Budget
	// TrustedProxies are the proxies (an ingress, a load balancer) whose
	// X-Forwarded-For names the client for the limits (see clientip).
	TrustedProxies []netip.Prefix
}

// API serves the REST endpoints.
type API struct {
	store         ports.CanvasStore
	m             *metrics.Metrics
	clock         ports.Clock
	log           *slog.Logger
	token         []byte
	origins       []string
	maxBatch      int
	requests      ports.Budget
	resetAttempts ports.Budget
	clients       clientip.Resolver
	exports       chan struct{}
	snaps         *sharedSnapshots
	placer        *place.Service
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// maxConcurrentExports bounds how many PNG encodings run at once: a large
// export takes a core for a while, and two cores are all a node may have.
const maxConcurrentExports = 2

// New builds the API.
func New(o Options) *API {
	a := &API{
		store: o.Store, m: o.Metrics, clock: o.Clock, log: o.Log,
		token: []byte(o.OperatorToken), origins: o.CORSOrigins, maxBatch: o.MaxBatch,
		exports: make(chan struct{}, maxConcurrentExports),
	}
	if a.m == nil {
		a.m = metrics.New()
	}
	if a.clock == nil {
		a.clock = systemClock{}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.maxBatch <= 0 {
		a.maxBatch = DefaultMaxBatch
	}
	a.requests = o.Requests
	a.resetAttempts = o.ResetAttempts
	a.clients = clientip.Resolver{Proxies: o.TrustedProxies}
	a.snaps = &sharedSnapshots{load: a.store.Snapshot, newContext: a.storeContext}
	a.placer = o.Placer
	if a.placer == nil {
		a.placer = place.New(place.Options{Store: a.store, Metrics: a.m, Log: a.log})
	}
	return a
}

// Register adds the /api routes. The app sets the router's NotFound and
// MethodNotAllowed to this package's JSON handlers and wraps the router with
// CORS; /health and /ready are registered by the app with Health and Ready.
func (a *API) Register(r *router.Router) {
	r.GET("/api/canvas", a.instrument("GET /api/canvas", a.getCanvas))
	r.GET("/api/canvas/raw", a.instrument("GET /api/canvas/raw", a.getCanvasRaw))
	r.GET("/api/canvas.png", a.instrument("GET /api/canvas.png", a.getCanvasPNG))
	r.GET("/api/pixel/{x}/{y}", a.instrument("GET /api/pixel/{x}/{y}", a.getPixel))
	r.PUT("/api/pixel", a.instrument("PUT /api/pixel", a.putPixel))
	r.PUT("/api/pixels", a.instrument("PUT /api/pixels", a.putPixels))
	r.POST("/api/canvas/reset", a.instrument("POST /api/canvas/reset", a.postReset))
}

// CORS wraps next with CORS for the configured origins.
func (a *API) CORS(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return CORS(a.origins, next)
}

// NotFound is the router's NotFound: a JSON 404.
func NotFound(ctx *fasthttp.RequestCtx) { httpx.NotFound(ctx) }

// MethodNotAllowed is the router's MethodNotAllowed: a JSON 405.
func MethodNotAllowed(ctx *fasthttp.RequestCtx) { httpx.MethodNotAllowed(ctx) }

// instrument counts a route's responses by status class.
func (a *API) instrument(route string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return a.m.Instrument(route, h)
}

func (a *API) storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), place.StoreTimeout)
}

// storeFailed answers a failed store call: 503 when the backend is
// unreachable or too slow (the client may retry), else a 500 that tells
// nothing about the internals, which go to the log.
func (a *API) storeFailed(ctx *fasthttp.RequestCtx, op string, err error) {
	a.m.StoreErrors.Inc()
	if errors.Is(err, ports.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("store unavailable", "op", op, "err", err)
		ctx.Response.Header.Set("Retry-After", "1")
		httpx.Error(ctx, fasthttp.StatusServiceUnavailable, msgUnavailable)
		return
	}
	a.log.Error("store call failed", "op", op, "err", err)
	httpx.Error(ctx, fasthttp.StatusInternalServerError, msgInternal)
}

// reject answers a refused write and counts its pixels as rejected.
func (a *API) reject(ctx *fasthttp.RequestCtx, status int, reason, message string, pixels int) {
	a.m.PixelsRejected.WithLabelValues(reason).Add(float64(max(pixels, 1)))
	httpx.Error(ctx, status, message)
}
