package modules

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/adapters/inbound/rest"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/web"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/ws"
	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ui"
)

// REST provides the REST API adapter.
func REST() fx.Option {
	return fx.Module("rest", fx.Provide(newAPI))
}

func newAPI(cfg config.Config, store ports.CanvasStore, m *metrics.Metrics, clock ports.Clock, backend Backend) *rest.API {
	return rest.New(rest.Options{
		Store: store, Metrics: m, Clock: clock, Backend: string(backend),
		OperatorToken: cfg.OperatorToken, CORSOrigins: cfg.CORSOrigins,
		RateLimit: cfg.RESTRate, TrustedProxies: cfg.TrustedProxies,
	})
}

// Web provides the embedded UI and /config.js.
func Web() fx.Option {
	return fx.Module("web", fx.Provide(newWeb))
}

func newWeb(cfg config.Config) *web.Web {
	return web.New(web.Options{Files: ui.FS(), WSURL: cfg.WSURL, APIURL: cfg.APIURL})
}

// gatewayHealth adds this gateway's own connections to /health: old
// scripts read `users.length` as the connection count.
func gatewayHealth(h *ws.Hub) func() map[string]any {
	return func() map[string]any {
		return map[string]any{"connections": h.ConnCount(), "users": h.Users()}
	}
}

// RouteAPI registers the REST API, its health, readiness and metrics.
func RouteAPI(r *router.Router, api *rest.API, m *metrics.Metrics, d *Draining) {
	api.Register(r)
	r.GET("/health", api.Health(nil))
	r.GET("/ready", api.Ready(d.Load))
	r.GET("/metrics", m.Handler())
	r.NotFound = rest.NotFound
	r.MethodNotAllowed = rest.MethodNotAllowed
}

// RouteGateway registers the WebSocket upgrade on /ws and /, health with
// connections, readiness and metrics.
func RouteGateway(r *router.Router, api *rest.API, s *ws.Server, h *ws.Hub, m *metrics.Metrics, d *Draining) {
	r.GET("/ws", s.Handle)
	r.GET("/", s.Handle)
	r.GET("/health", api.Health(gatewayHealth(h)))
	r.GET("/ready", api.Ready(func() bool { return d.Load() || h.Draining() }))
	r.GET("/metrics", m.Handler())
	r.NotFound = rest.NotFound
	r.MethodNotAllowed = rest.MethodNotAllowed
}

// RouteWeb registers the page, /config.js, the static files, health and
// metrics.
func RouteWeb(r *router.Router, w *web.Web, m *metrics.Metrics, d *Draining) {
	w.Register(r)
	r.GET("/health", web.Health)
	r.GET("/ready", func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		if d.Load() {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString(`{"status":"unavailable","reason":"draining"}`)
			return
		}
		ctx.SetBodyString(`{"status":"ready"}`)
	})
	r.GET("/metrics", m.Handler())
}

// RoutePlayground registers everything on one port: the API, the page,
// the WebSocket on /ws (and on / for clients that upgrade there).
func RoutePlayground(r *router.Router, api *rest.API, w *web.Web, s *ws.Server, h *ws.Hub, m *metrics.Metrics, d *Draining) {
	api.Register(r)
	w.Register(r)
	r.GET("/ws", s.Handle)
	r.GET("/health", api.Health(gatewayHealth(h)))
	r.GET("/ready", api.Ready(func() bool { return d.Load() || h.Draining() }))
	r.GET("/metrics", m.Handler())
}

// PlaygroundRoot serves WebSocket upgrades on / ahead of the router, which
// serves the page there (old clients connect to the root), and answers CORS
// for the API.
func PlaygroundRoot(r *router.Router, s *ws.Server, cfg config.Config) fasthttp.RequestHandler {
	next := rest.CORS(cfg.CORSOrigins, r.Handler)
	return func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/" && ws.IsUpgrade(ctx) {
			s.Handle(ctx)
			return
		}
		next(ctx)
	}
}
