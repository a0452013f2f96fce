package modules

import (
	"context"
	"log/slog"
	"time"

	"github.com/fasthttp/router"
	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/adapters/inbound/ops"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/ws"
	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Gateway provides the WebSocket gateway (one hub per canvas its clients
// are on) and its upgrade handler. The main canvas's hub starts before the
// HTTP server listens; every hub is drained (every connection closed with
// 1012) before the server stops.
func Gateway() fx.Option {
	return fx.Module("gateway",
		fx.Provide(
			newGateway,
			newWSServer,
			AsRoutes(wsRoutes),
			AsHealthFields(gatewayHealth),
			AsReadinessCheck(hubReadiness),
			fx.Annotate(hubDrainer, fx.ResultTags(`group:"drainers"`)),
		),
	)
}

type hubParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Store     ports.CanvasStore
	Stores    ports.CanvasStores `optional:"true"`
	Canvases  ports.Canvases     `optional:"true"`
	Placer    *place.Service
	Bus       ports.Bus
	Presence  ports.Presence
	Clock     ports.Clock
	IDs       ports.IDs
	Metrics   *metrics.Metrics
	Log       *slog.Logger
}

func newGateway(p hubParams) *ws.Gateway {
	g := ws.NewGateway(ws.GatewayOptions{
		HubOptions: ws.HubOptions{
			GatewayID: p.IDs.NewID("gw_"), Store: p.Store, Placer: p.Placer, Bus: p.Bus, Presence: p.Presence,
			Clock: p.Clock, Metrics: p.Metrics, Log: p.Log,
			PixelRate: p.Config.PixelRate, CursorRate: p.Config.CursorRate, MessageRate: p.Config.MessageRate,
			HistoryLimit: p.Config.HistorySize, DrainSpread: drainSpread(p.Config.DrainSpread),
		},
		// Main's store is the factory's own (stores.go), so a canvas's
		// hub and REST open the same store for a slug.
		Canvases: p.Canvases, Stores: p.Stores,
	})
	p.Lifecycle.Append(fx.StartHook(g.Start))
	return g
}

func newWSServer(g *ws.Gateway, ids ports.IDs, cfg config.Config) *ws.Server {
	return ws.NewGatewayServer(g, ids, ws.ServerOptions{PingInterval: cfg.PingInterval,
		Origins: originPolicy(cfg), TrustedProxies: cfg.TrustedProxies,
		HijackedConnsKept: true}) // Serve's server keeps them (http.go)
}

// originPolicy is ALLOWED_ORIGINS, exactly as listed; unset, the page's own
// origins: a page on the request's own hostname (the playground's page, an
// Ingress with everything on one host, the split deployment's web app on
// another port of the gateway's host), and the origins of WS_URL and
// API_URL where the app takes them (the playground).
func originPolicy(cfg config.Config) *ws.OriginPolicy {
	if len(cfg.AllowedOrigins) > 0 {
		return ws.NewOriginPolicy(cfg.AllowedOrigins, false)
	}
	return ws.NewOriginPolicy([]string{cfg.WSURL, cfg.APIURL}, true)
}

func hubDrainer(h *ws.Gateway) Drainer {
	return DrainFunc(func(ctx context.Context) { h.Shutdown(ctx) })
}

// wsRoutes serves the WebSocket upgrade on /ws.
func wsRoutes(s *ws.Server) Routes {
	return RoutesFunc(func(r *router.Router) { r.GET("/ws", s.Handle) })
}

// gatewayHealth adds this gateway's own connections (on every canvas) to
// /health: old scripts read `users.length` as the connection count.
func gatewayHealth(h *ws.Gateway) ops.Fields {
	return func() map[string]any {
		return map[string]any{"connections": h.ConnCount(), "users": h.Users()}
	}
}

// hubReadiness makes the app unready while the hub drains its clients.
func hubReadiness(h *ws.Gateway) ops.Check {
	return func() string {
		if h.Draining() {
			return "draining"
		}
		return ""
	}
}

// drainSpread maps DRAIN_SPREAD to the hub's option, where 0 means the
// default: a configured 0s means at once.
func drainSpread(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}
