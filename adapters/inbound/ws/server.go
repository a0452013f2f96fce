package ws

// This file is the upgrade: the fasthttp handler that turns a request into a
// connection registered on the hub, and runs its reader and writer.

import (
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/clientip"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/ports"
)

const subprotocolV2 = "pixel.v2"

// ServerOptions configures the upgrade handler.
type ServerOptions struct {
	PingInterval time.Duration // default DefaultPingInterval
	// Origins says which pages may open a connection (ALLOWED_ORIGINS);
	// nil allows the page's own, NewOriginPolicy(nil, true). A request
	// without Origin (a script, a bot) is always allowed.
	Origins *OriginPolicy
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client for the shared pixel budget (see internal/clientip).
	TrustedProxies []netip.Prefix
	// HijackedConnsKept says the fasthttp server runs with
	// KeepHijackedConns: the upgrade handler then returns as soon as the
	// connection is registered, which frees fasthttp's request context
	// (about 3 KiB a connection) and the handler goroutine's stack, grown
	// by the registration, for a fresh reader goroutine. Without it the
	// handler must live as long as the connection: fasthttp closes and
	// recycles a hijacked connection when it returns.
	HijackedConnsKept bool
}

// Server upgrades HTTP requests to WebSocket connections on the hub of the
// canvas they ask for.
type Server struct {
	gw       *Gateway
	ids      ports.IDs
	ping     time.Duration
	origins  *OriginPolicy
	clients  clientip.Resolver
	upgrader websocket.FastHTTPUpgrader
	kept     bool // ServerOptions.HijackedConnsKept
}

// NewServer builds the upgrade handler of a single hub: the main canvas's,
// and no other (`?canvas=` anything but main is 404).
func NewServer(hub *Hub, ids ports.IDs, o ServerOptions) *Server {
	return NewGatewayServer(gatewayOf(hub, GatewayOptions{HubOptions: hub.o}), ids, o)
}

// NewGatewayServer builds the upgrade handler of a gateway: every canvas.
func NewGatewayServer(gw *Gateway, ids ports.IDs, o ServerOptions) *Server {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.Origins == nil {
		o.Origins = NewOriginPolicy(nil, true)
	}
	s := &Server{gw: gw, ids: ids, ping: o.PingInterval, origins: o.Origins, clients: clientip.Resolver{Proxies: o.TrustedProxies}, kept: o.HijackedConnsKept}
	s.upgrader = websocket.FastHTTPUpgrader{
		// Small read buffers (512 B: a pixel_update is under 200, larger
		// messages take several reads) and a shared write-buffer pool keep an idle
		// connection cheap: writes borrow a buffer only while writing.
		ReadBufferSize:   512,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		Subprotocols:     []string{subprotocolV2},
		// Handle has checked it, and answers a refusal in JSON.
		CheckOrigin:       func(*fasthttp.RequestCtx) bool { return true },
		EnableCompression: false,
	}
	return s
}

// IsUpgrade reports whether a request asks for a WebSocket, so that `/` can
// serve both the page and old clients that connect to the root.
func IsUpgrade(ctx *fasthttp.RequestCtx) bool {
	return websocket.FastHTTPIsWebSocketUpgrade(ctx)
}

// Handle upgrades the request. `?canvas=slug` joins a canvas (with
// `&invite=` for a private one; without, the main canvas), `?since=N`
// resumes after seq N (`&epoch=E`: on the timeline E, see resume.go).
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	if s.gw.Draining() {
		ctx.Error(`{"error":"Gateway is shutting down"}`, fasthttp.StatusServiceUnavailable)
		ctx.SetContentType("application/json")
		return
	}
	if !s.origins.Allows(string(ctx.Request.Header.Peek(fasthttp.HeaderOrigin)), string(ctx.Host())) {
		s.gw.log.Debug("upgrade refused: origin not allowed", "origin", string(ctx.Request.Header.Peek(fasthttp.HeaderOrigin)))
		// Counted, not only logged at debug: a page embedded somewhere it
		// should not be shows up as a rising counter.
		s.gw.main.o.Metrics.ConnsRefused.WithLabelValues("origin").Inc()
		ctx.Error(`{"error":"Origin not allowed"}`, fasthttp.StatusForbidden)
		ctx.SetContentType("application/json")
		return
	}
	epoch := domain.Epoch(ctx.QueryArgs().Peek("epoch"))
	if len(epoch) > domain.MaxEpochLen {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadEpoch)
		return
	}
	hub, release, ok := s.resolve(ctx)
	if !ok {
		return
	}
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	clientKey := s.clients.Key(peer, ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor))
	var since *domain.Seq
	if raw := ctx.QueryArgs().Peek("since"); len(raw) > 0 {
		if n, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
			since = &n
		}
	}
	err := s.upgrader.Upgrade(ctx, func(wsc *websocket.Conn) {
		c := newConn(hub, wsc, s.ids.NewID("c_"), clientKey, s.ping)
		if !hub.register(c, since, epoch) {
			release()
			return
		}
		serve := func() {
			defer release()
			c.startPings()
			c.readLoop()
			// Without HijackedConnsKept fasthttp recycles the hijacked
			// connection when the handler returns: the writer must be
			// done with it (readLoop has closed the queue and expired the
			// deadlines, so it ends at once).
			c.out.wait()
		}
		if s.kept {
			go serve()
			return
		}
		serve()
	})
	if err != nil {
		// The upgrader has already written a 400 with the reason.
		release()
		return
	}
}
