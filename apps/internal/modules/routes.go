package modules

import (
	"log/slog"

	"github.com/fasthttp/router"
	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/adapters/inbound/ops"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Routes is what one inbound adapter contributes to an app's router. Every
// module adds its own to the "routes" value group, so an app's endpoints are
// the sum of the modules it is built from and a new endpoint never edits a
// central list.
type Routes interface {
	Register(r *router.Router)
}

// RoutesFunc adapts a function to Routes.
type RoutesFunc func(r *router.Router)

// Register calls f.
func (f RoutesFunc) Register(r *router.Router) { f(r) }

// AsRoutes annotates a constructor whose result registers routes, so that it
// joins the "routes" group.
func AsRoutes(constructor any) any {
	return fx.Annotate(constructor, fx.As(new(Routes)), fx.ResultTags(`group:"routes"`))
}

// AsHealthFields annotates a constructor of extra /health fields.
func AsHealthFields(constructor any) any {
	return fx.Annotate(constructor, fx.ResultTags(`group:"health"`))
}

// AsReadinessCheck annotates a constructor of a /ready condition.
func AsReadinessCheck(constructor any) any {
	return fx.Annotate(constructor, fx.ResultTags(`group:"readiness"`))
}

type routerParams struct {
	fx.In
	Routes []Routes `group:"routes"`
}

// newRouter registers every contributed route. What no route matches gets
// the JSON 404 and 405, unless an adapter (the page's) set its own.
func newRouter(p routerParams) *router.Router {
	r := router.New()
	for _, routes := range p.Routes {
		routes.Register(r)
	}
	if r.NotFound == nil {
		r.NotFound = httpx.NotFound
	}
	if r.MethodNotAllowed == nil {
		r.MethodNotAllowed = httpx.MethodNotAllowed
	}
	return r
}

type opsParams struct {
	fx.In
	Store    ports.CanvasStore `optional:"true"`
	Backend  Backend           `optional:"true"`
	Clock    ports.Clock
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Draining *Draining
	Fields   []ops.Fields `group:"health"`
	Checks   []ops.Check  `group:"readiness"`
}

// newOps builds /health, /ready and /metrics from what the app's modules
// contributed: the store if the app has one, health fields, readiness
// checks. Every app is unready while it drains.
func newOps(p opsParams) *ops.Ops {
	draining := func() string {
		if p.Draining.Load() {
			return "draining"
		}
		return ""
	}
	o := ops.Options{Backend: string(p.Backend), Clock: p.Clock, Metrics: p.Metrics, Log: p.Log,
		Fields: p.Fields, Checks: append([]ops.Check{draining}, p.Checks...)}
	if p.Store != nil {
		o.Store = p.Store
	}
	return ops.New(o)
}
