// Package metrics holds the Prometheus instruments every app exposes on
// /metrics. One Metrics value is built per process and passed to the adapters
// that count things; each process has its own registry so tests that start
// several servers in one process never collide.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Metrics is the set of instruments. Nil-safe use is not supported: build it
// with New (tests can use New too; it costs a registry).
type Metrics struct {
	Registry *prometheus.Registry

	Connections     prometheus.Gauge
	MessagesIn      *prometheus.CounterVec // by client message type
	FramesOut       prometheus.Counter
	EventsOut       prometheus.Counter
	PixelsAccepted  *prometheus.CounterVec // by source (ws, rest) and canvas (bounded: Canvases)
	PixelsRejected  *prometheus.CounterVec // by reason: error code
	RateLimited     *prometheus.CounterVec // by kind: pixel, cursor, resume, rest
	SlowClients     prometheus.Counter
	FanoutLatency   prometheus.Histogram
	StoreErrors     prometheus.Counter
	BusResubscribes prometheus.Counter
	Replayed        prometheus.Counter
	HTTPRequests    *prometheus.CounterVec // by route and status class
	ConnsRefused    *prometheus.CounterVec // by reason: max_connections, ip_max_connections, origin

	// Canvases gives the canvas label its values: main, the top
	// CanvasLabelTop canvases by activity, and "other".
	Canvases *CanvasLabels
}

// New registers every instrument, plus the Go runtime and process
// collectors, on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{
		Registry: r,
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pixel_ws_connections", Help: "Open WebSocket connections on this gateway."}),
		MessagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pixel_ws_messages_in_total", Help: "Client messages received, by type."}, []string{"type"}),
		FramesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pixel_ws_frames_out_total", Help: "WebSocket frames written to clients."}),
		EventsOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pixel_ws_events_out_total", Help: "Canvas events queued for clients: one per event per connection (a v2 batch counts its events)."}),
		PixelsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pixel_pixels_accepted_total", Help: "Pixel writes accepted, by source and canvas (main, the CanvasLabelTop most active canvases, other)."}, []string{"source", "canvas"}),
		PixelsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pixel_pixels_rejected_total", Help: "Pixel writes rejected, by reason."}, []string{"reason"}),
		RateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pixel_rate_limited_total", Help: "Messages refused by a rate limit, by kind."}, []string{"kind"}),
		SlowClients: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pixel_ws_slow_clients_total", Help: "Connections closed because their send queue filled."}),
		FanoutLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pixel_fanout_latency_seconds", Help: "From the store accepting a write to this gateway queueing it for its clients.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}),
		StoreErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pixel_store_errors_total", Help: "Store or Redis calls that failed."}),
		BusResubscribes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pixel_bus_resubscribes_total", Help: "Times the Pub/Sub subscription was re-established after an interruption."}),
		Replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pixel_replayed_events_total", Help: "Events replayed from history, to resuming clients or to repair a gap."}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pixel_http_requests_total", Help: "HTTP requests, by route and status class."}, []string{"route", "status"}),
		ConnsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pixel_connections_refused_total", Help: "Connections refused, by reason: closed on accept because a connection cap was reached (max_connections, ip_max_connections), or refused at the WebSocket upgrade because the page's origin is not allowed (origin)."}, []string{"reason"}),
	}
	m.Canvases = NewCanvasLabels(CanvasLabelTop, time.Now, m.ForgetCanvas)
	for _, c := range []prometheus.Collector{m.Connections, m.MessagesIn, m.FramesOut, m.EventsOut, m.PixelsAccepted, m.PixelsRejected,
		m.RateLimited, m.SlowClients, m.FanoutLatency, m.StoreErrors, m.BusResubscribes, m.Replayed, m.HTTPRequests, m.ConnsRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// ForgetCanvas deletes the series of a canvas label that is no longer
// used (CanvasLabels calls it when a canvas leaves the named ones).
func (m *Metrics) ForgetCanvas(label string) {
	m.PixelsAccepted.DeletePartialMatch(prometheus.Labels{"canvas": label})
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
}

var statusClasses = [...]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}

// Instrument counts a route's responses by status class. The counters are
// resolved once so that counting costs no label lookup per request.
func (m *Metrics) Instrument(route string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	var byClass [len(statusClasses)]prometheus.Counter
	for c := 1; c < len(statusClasses); c++ {
		byClass[c] = m.HTTPRequests.WithLabelValues(route, statusClasses[c])
	}
	return func(ctx *fasthttp.RequestCtx) {
		h(ctx)
		c := ctx.Response.StatusCode() / 100
		if c < 1 || c >= len(statusClasses) {
			c = 5
		}
		byClass[c].Inc()
	}
}
