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

// Gateway provides the WebSocket hub and its upgrade handler. The hub
// starts before the HTTP server listens and is drained (every connection
// closed with 1012) before the server stops.
func Gateway() fx.Option {
	return fx.Module("gateway",
		fx.Provide(
			newHub,
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
	Placer    *place.Service
	Bus       ports.Bus
	Presence  ports.Presence
	Clock     ports.Clock
	IDs       ports.IDs
	Metrics   *metrics.Metrics
	Log       *slog.Logger
}

func newHub(p hubParams) *ws.Hub {
	h := ws.NewHub(ws.HubOptions{
		GatewayID: p.IDs.NewID("gw_"), Store: p.Store, Placer: p.Placer, Bus: p.Bus, Presence: p.Presence,
		Clock: p.Clock, Metrics: p.Metrics, Log: p.Log,
		PixelRate: p.Config.PixelRate, CursorRate: p.Config.CursorRate, MessageRate: p.Config.MessageRate,
		HistoryLimit: p.Config.HistorySize, DrainSpread: drainSpread(p.Config.DrainSpread),
	})
	p.Lifecycle.Append(fx.StartHook(h.Start))
	return h
}

func newWSServer(h *ws.Hub, ids ports.IDs, cfg config.Config) *ws.Server {
	return ws.NewServer(h, ids, ws.ServerOptions{PingInterval: cfg.PingInterval,
		Origins: originPolicy(cfg), TrustedProxies: cfg.TrustedProxies})
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

func hubDrainer(h *ws.Hub) Drainer {
	return DrainFunc(func(ctx context.Context) { h.Shutdown(ctx) })
}

// wsRoutes serves the WebSocket upgrade on /ws.
func wsRoutes(s *ws.Server) Routes {
	return RoutesFunc(func(r *router.Router) { r.GET("/ws", s.Handle) })
}

// gatewayHealth adds this gateway's own connections to /health: old
// scripts read `users.length` as the connection count.
func gatewayHealth(h *ws.Hub) ops.Fields {
	return func() map[string]any {
		return map[string]any{"connections": h.ConnCount(), "users": h.Users()}
	}
}

// hubReadiness makes the app unready while the hub drains its clients.
func hubReadiness(h *ws.Hub) ops.Check {
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
