package modules

import (
	"context"
	"log/slog"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membudget"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/rest"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/web"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/ws"
	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ui"
)

// Place provides the one place-a-pixel path, shared by every inbound
// adapter of the app that writes (REST and the gateway).
func Place() fx.Option {
	return fx.Module("place", fx.Provide(newPlacer))
}

type placerParams struct {
	fx.In
	Store    ports.CanvasStore
	Budget   ports.Budget   `optional:"true"`
	Canvases ports.Canvases `optional:"true"`
	Metrics  *metrics.Metrics
	Log      *slog.Logger
}

func newPlacer(p placerParams) *place.Service {
	return place.New(place.Options{Store: p.Store, Budget: p.Budget, Canvases: p.Canvases, Metrics: p.Metrics, Log: p.Log})
}

// resetAttempts allows a client five reset attempts, then one more a
// minute: an operator who mistypes is not locked out, a guesser gets
// nowhere.
var resetAttempts = domain.RateRule{PerSecond: 1.0 / 60, Burst: 5}

// REST provides the REST API adapter and its /api routes, and archives
// idle canvases (IdleArchive).
func REST() fx.Option {
	return fx.Module("rest", fx.Provide(newAPI, AsRoutes(func(a *rest.API) *rest.API { return a })), IdleArchive())
}

type apiParams struct {
	fx.In
	Config    config.Config
	Store     ports.CanvasStore
	Stores    ports.CanvasStores `optional:"true"`
	Canvases  ports.Canvases     `optional:"true"`
	Creations CanvasCreations    `optional:"true"`
	Presence  ports.Presence     `optional:"true"`
	Placer    *place.Service
	Metrics   *metrics.Metrics
	Clock     ports.Clock
	Log       *slog.Logger
}

func newAPI(p apiParams) *rest.API {
	cfg, clock := p.Config, p.Clock
	o := rest.Options{
		Store: p.Store, Placer: p.Placer, Metrics: p.Metrics, Clock: clock, Log: p.Log,
		OperatorToken: cfg.OperatorToken, CORSOrigins: cfg.CORSOrigins,
		TrustedProxies: cfg.TrustedProxies,
		// The canvases: with a directory and the stores, every canvas is
		// served under /api/canvases/{slug}/.
		Canvases: p.Canvases, Stores: p.Stores, Creations: p.Creations.Budget,
		MaxCanvases: cfg.MaxCanvases,
		Rules:       domain.CanvasRules{MaxSide: cfg.MaxCanvasSide, ServerPixelRate: cfg.PixelRate},
	}
	// The lobby's "online": the gateways' presence entries summed per
	// canvas, one read of the registry, no canvas opened.
	if pr := p.Presence; pr != nil {
		o.Online = func(ctx context.Context) (map[domain.Slug]int, error) {
			entries, err := pr.List(ctx)
			return domain.OnlineByCanvas(entries), err
		}
	}
	// REST_RATE counts requests, per process: it sheds a flood of requests
	// before their bodies are read. Pixels are the shared budget's.
	if cfg.RESTRate.PerSecond > 0 && cfg.RESTRate.Burst > 0 {
		o.Requests = membudget.New(cfg.RESTRate, clock)
	}
	o.ResetAttempts = membudget.New(resetAttempts, clock)
	return rest.New(o)
}

// Web provides the embedded UI, /config.js and their routes.
func Web() fx.Option {
	return fx.Module("web", fx.Provide(newWeb, AsRoutes(func(w *web.Web) *web.Web { return w })))
}

func newWeb(cfg config.Config) *web.Web {
	return web.New(web.Options{Files: ui.FS(), WSURL: cfg.WSURL, APIURL: cfg.APIURL})
}

// UpgradeAtRoot serves the WebSocket upgrade on / as well as /ws, for old
// clients of a gateway that connect to its root. The all-in-one app serves
// the page on / instead and upgrades there ahead of the router
// (PlaygroundRoot).
func UpgradeAtRoot(s *ws.Server) Routes {
	return RoutesFunc(func(r *router.Router) { r.GET("/", s.Handle) })
}

// CORSRoot wraps the router with the API's CORS handling, preflights
// included (the router would answer OPTIONS with 405).
func CORSRoot(r *router.Router, cfg config.Config) fasthttp.RequestHandler {
	return rest.CORS(cfg.CORSOrigins, r.Handler)
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
