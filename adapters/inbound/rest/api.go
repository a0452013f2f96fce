// Package rest is the REST API of the api app (and of the all-in-one app) on
// fasthttp and fasthttp/router: the canvas as JSON, raw RGB and PNG, single
// and batch pixel writes, the operator's reset, health and readiness; and,
// given a directory of canvases, the canvases themselves (create, list,
// settings, archive, invites) with every canvas endpoint per canvas under
// /api/canvases/{slug}/. The old paths are the main canvas's; each
// endpoint has one handler, given the canvas it serves (canvasRef).
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
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
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

	// Canvases is the directory of canvases and Stores their stores; with
	// both, the /api/canvases endpoints are served (without, only the main
	// canvas's). Stores must give Store itself for domain.MainSlug.
	Canvases ports.Canvases
	Stores   ports.CanvasStores
	// Rules check a new canvas's name, size and pixel rate.
	Rules domain.CanvasRules
	// MaxCanvases bounds the directory (MAX_CANVASES); 0: no limit.
	MaxCanvases int
	// Creations, if not nil, is charged one token per canvas created, per
	// client (CANVASES_PER_IP_PER_DAY).
	Creations ports.Budget
	// Online, if not nil, tells GET /api/canvases how many are on each
	// canvas now (from presence, without opening any canvas); its failure
	// leaves the counts at 0.
	Online func(ctx context.Context) (map[domain.Slug]int, error)
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
	main          *canvasRef

	dir         ports.Canvases
	stores      ports.CanvasStores
	rules       domain.CanvasRules
	maxCanvases int
	creations   ports.Budget
	online      func(ctx context.Context) (map[domain.Slug]int, error)
	snapsMu     sync.Mutex
	canvasSnaps map[domain.Slug]*sharedSnapshots // per canvas but main; at most one per canvas
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
		a.placer = place.New(place.Options{Store: a.store, Canvases: o.Canvases, Metrics: a.m, Log: a.log})
	}
	a.main = &canvasRef{info: domain.MainCanvas(a.store.Size()), store: a.store, snaps: a.snaps}
	a.dir, a.stores, a.rules, a.maxCanvases, a.creations = o.Canvases, o.Stores, o.Rules, o.MaxCanvases, o.Creations
	a.canvasSnaps = map[domain.Slug]*sharedSnapshots{}
	a.online = o.Online
	return a
}

// Register adds the /api routes. The app sets the router's NotFound and
// MethodNotAllowed to this package's JSON handlers and wraps the router with
// CORS; /health and /ready are registered by the app with Health and Ready.
func (a *API) Register(r *router.Router) {
	// The main canvas's endpoints, as the old API had them.
	r.GET("/api/canvas", a.instrument("GET /api/canvas", a.onMain(a.getCanvas)))
	r.GET("/api/canvas/raw", a.instrument("GET /api/canvas/raw", a.onMain(a.getCanvasRaw)))
	r.GET("/api/canvas.png", a.instrument("GET /api/canvas.png", a.onMain(a.getCanvasPNG)))
	r.GET("/api/pixel/{x}/{y}", a.instrument("GET /api/pixel/{x}/{y}", a.onMain(a.getPixel)))
	r.PUT("/api/pixel", a.instrument("PUT /api/pixel", a.admitted(a.onMain(a.putPixel))))
	r.PUT("/api/pixels", a.instrument("PUT /api/pixels", a.admitted(a.onMain(a.putPixels))))
	r.POST("/api/canvas/reset", a.instrument("POST /api/canvas/reset", a.onMain(a.postReset)))
	if a.dir == nil || a.stores == nil {
		return
	}
	// The same handlers, per canvas.
	const c = "/api/canvases/{slug}"
	r.GET(c+"/canvas", a.instrument("GET "+c+"/canvas", a.onSlug(a.getCanvas)))
	r.GET(c+"/canvas/raw", a.instrument("GET "+c+"/canvas/raw", a.onSlug(a.getCanvasRaw)))
	r.GET(c+"/canvas.png", a.instrument("GET "+c+"/canvas.png", a.onSlug(a.getCanvasPNG)))
	r.GET(c+"/pixel/{x}/{y}", a.instrument("GET "+c+"/pixel/{x}/{y}", a.onSlug(a.getPixel)))
	r.PUT(c+"/pixel", a.instrument("PUT "+c+"/pixel", a.admitted(a.onSlug(a.putPixel))))
	r.PUT(c+"/pixels", a.instrument("PUT "+c+"/pixels", a.admitted(a.onSlug(a.putPixels))))
	r.POST(c+"/canvas/reset", a.instrument("POST "+c+"/canvas/reset", a.onSlug(a.postReset)))
	// The canvases themselves.
	r.GET("/api/canvases", a.instrument("GET /api/canvases", a.listCanvases))
	r.POST("/api/canvases", a.instrument("POST /api/canvases", a.admitted(a.createCanvas)))
	r.GET(c, a.instrument("GET "+c, a.getCanvasInfo))
	r.PATCH(c, a.instrument("PATCH "+c, a.admitted(a.patchCanvas)))
	r.DELETE(c, a.instrument("DELETE "+c, a.admitted(a.deleteCanvas)))
	r.POST(c+"/invite", a.instrument("POST "+c+"/invite", a.admitted(a.rotateInvite)))
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
