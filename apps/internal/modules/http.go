package modules

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/adapters/inbound/ops"
	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/netguard"
)

// HTTP timing and size limits for the fasthttp server. WebSocket
// connections are hijacked out of it and keep their own deadlines.
const (
	// readTimeout bounds reading one request, so a client that trickles a
	// request in cannot hold a worker.
	readTimeout = 15 * time.Second
	// writeTimeout bounds writing one response (a 2048×2048 PNG included).
	writeTimeout = 30 * time.Second
	// idleTimeout closes keep-alive connections nobody uses.
	idleTimeout = 2 * time.Minute
	// maxRequestBodySize is far above the largest legitimate request (a
	// PUT /api/pixels batch of 1000 pixels is about 40 KB).
	maxRequestBodySize = 1 << 20
	// stopReserve is the part of SHUTDOWN_TIMEOUT kept back from draining
	// clients for the stop hooks that run after the server's (the embedded
	// store's final checkpoint, closing Redis): a client that holds a
	// connection open (a request trickled in is only given up after
	// readTimeout, longer than the default stop timeout) must not use it all.
	// Never more than half the time there is.
	stopReserve = 2 * time.Second
)

// HTTP provides the router, assembled from the "routes" group, and the ops
// endpoints (/health, /ready, /metrics) every app serves; Serve starts the
// server.
func HTTP() fx.Option {
	return fx.Module("http", fx.Provide(newRouter, newOps, AsRoutes(opsRoutes)))
}

type serveParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Config     config.Config
	Router     *router.Router
	Log        *slog.Logger
	Draining   *Draining
	Metrics    *metrics.Metrics
	Ops        *ops.Ops
	Drainers   []Drainer `group:"drainers"`
	// Handler, if given, wraps the router (CORS, the upgrade on /).
	Handler fasthttp.RequestHandler `name:"root" optional:"true"`
}

// Serve listens in OnStart (so a taken port fails the start) and serves in
// a goroutine. On stop it marks the app as draining (readiness fails), lets
// the drainers close their clients, then shuts the server down.
func Serve(p serveParams) {
	handler := p.Handler
	if handler == nil {
		handler = p.Router.Handler
	}
	srv := &fasthttp.Server{
		Name:                         "pixel-playground",
		Handler:                      handler,
		ReadTimeout:                  readTimeout,
		WriteTimeout:                 writeTimeout,
		IdleTimeout:                  idleTimeout,
		MaxRequestBodySize:           maxRequestBodySize,
		CloseOnShutdown:              true,
		NoDefaultServerHeader:        true,
		DisablePreParseMultipartForm: true,
		ReduceMemoryUsage:            true,
		// WebSocket connections outlive their upgrade handler, which frees
		// the request's context (see ws.ServerOptions.HijackedConnsKept,
		// set in gateway.go); the connection closes its socket itself.
		KeepHijackedConns: true,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			status := fasthttp.StatusBadRequest
			msg := "Bad request"
			if _, ok := err.(*fasthttp.ErrSmallBuffer); ok {
				status, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, "Request headers too large"
			} else if err == fasthttp.ErrBodyTooLarge {
				status, msg = fasthttp.StatusRequestEntityTooLarge, "Request body too large"
			}
			ctx.SetStatusCode(status)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":"` + msg + `"}`)
		},
	}
	if p.Config.AdminPort != 0 {
		serveAdmin(p)
	}
	addr := net.JoinHostPort("", strconv.Itoa(p.Config.Port))
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			raw, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			ln := guard(raw, p.Config, p.Metrics, p.Log)
			p.Log.Info("listening", "addr", ln.Addr().String(), "max_connections", ln.Max(), "ip_max_connections", p.Config.IPMaxConnections)
			go func() {
				if err := srv.Serve(ln); err != nil {
					p.Log.Error("server stopped", "err", err)
					_ = p.Shutdowner.Shutdown(fx.ExitCode(1))
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			p.Draining.Store(true)
			p.Log.Info("draining")
			ctx, cancel := keepBack(ctx, stopReserve)
			defer cancel()
			for _, d := range p.Drainers {
				d.Drain(ctx)
			}
			if err := srv.ShutdownWithContext(ctx); err != nil {
				// The connections left are cut when the process exits; the
				// hooks after this one still get their turn.
				p.Log.Warn("stopped waiting for open HTTP connections", "err", err)
			}
			return nil
		},
	})
}

// keepBack returns a context that ends reserve before ctx's deadline (or
// halfway to it, if that is sooner), so that what runs after a step bounded
// by it still has time.
func keepBack(ctx context.Context, reserve time.Duration) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	if half := time.Until(deadline) / 2; reserve > half {
		reserve = half
	}
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// loopback peers are this machine (a local reverse proxy, an operator's
// tools): only the total cap applies to them, as to TRUSTED_PROXIES.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// guard caps the listener's connections (MAX_CONNECTIONS, by default just
// under the open-files limit; IP_MAX_CONNECTIONS per client address) and
// makes running out of descriptors a pause instead of the end of the server.
func guard(ln net.Listener, cfg config.Config, m *metrics.Metrics, log *slog.Logger) *netguard.Listener {
	maxConns := cfg.MaxConnections
	if maxConns < 0 {
		maxConns = netguard.DefaultMax(netguard.FileLimit())
	}
	return netguard.Wrap(ln, netguard.Options{
		Max: maxConns, PerIP: cfg.IPMaxConnections,
		Exempt:  append(append([]netip.Prefix(nil), loopback...), cfg.TrustedProxies...),
		Log:     log,
		Refused: func(reason string) { m.ConnsRefused.WithLabelValues(reason).Inc() },
	})
}

// opsRoutes puts the probes on the public port, and /metrics too unless an
// admin port serves it (ADMIN_PORT): metrics tell an attacker how the
// server is doing and are nobody else's business.
func opsRoutes(o *ops.Ops, cfg config.Config) Routes {
	if cfg.AdminPort != 0 {
		return RoutesFunc(o.RegisterProbes)
	}
	return o
}

// serveAdmin serves /health, /ready and /metrics on ADMIN_PORT, for the
// kubelet and Prometheus only. It stops after the public server (hooks stop
// in reverse), so probes keep answering, not ready, while that one drains.
func serveAdmin(p serveParams) {
	r := router.New()
	p.Ops.Register(r)
	r.NotFound = httpx.NotFound
	srv := &fasthttp.Server{Name: "pixel-playground-admin", Handler: r.Handler, ReadTimeout: readTimeout,
		WriteTimeout: writeTimeout, IdleTimeout: idleTimeout, NoDefaultServerHeader: true, CloseOnShutdown: true}
	addr := net.JoinHostPort("", strconv.Itoa(p.Config.AdminPort))
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on the admin port %s: %w", addr, err)
			}
			p.Log.Info("admin endpoints listening", "addr", ln.Addr().String())
			go func() {
				if err := srv.Serve(ln); err != nil {
					p.Log.Error("admin server stopped", "err", err)
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error { return srv.ShutdownWithContext(ctx) },
	})
}
