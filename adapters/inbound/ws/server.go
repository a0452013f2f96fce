package ws

// This file is the upgrade: the fasthttp handler that turns a request into a
// connection registered on the hub, and runs its reader and writer.

import (
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

const subprotocolV2 = "pixel.v2"

// ServerOptions configures the upgrade handler.
type ServerOptions struct {
	PingInterval time.Duration // default DefaultPingInterval
	// CheckOrigin decides cross-origin upgrades; nil allows every origin,
	// as the old gateway did (bots and scripts send none or any).
	CheckOrigin func(ctx *fasthttp.RequestCtx) bool
}

// Server upgrades HTTP requests to WebSocket connections on a Hub.
type Server struct {
	hub      *Hub
	ids      ports.IDs
	ping     time.Duration
	upgrader websocket.FastHTTPUpgrader
}

// NewServer builds the upgrade handler.
func NewServer(hub *Hub, ids ports.IDs, o ServerOptions) *Server {
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	check := o.CheckOrigin
	if check == nil {
		check = func(*fasthttp.RequestCtx) bool { return true }
	}
	return &Server{hub: hub, ids: ids, ping: o.PingInterval, upgrader: websocket.FastHTTPUpgrader{
		// Small read buffers and a shared write-buffer pool keep an idle
		// connection cheap: writes borrow a buffer only while writing.
		ReadBufferSize:    1024,
		WriteBufferSize:   4096,
		WriteBufferPool:   &sync.Pool{},
		HandshakeTimeout:  10 * time.Second,
		Subprotocols:      []string{subprotocolV2},
		CheckOrigin:       check,
		EnableCompression: false,
	}}
}

// IsUpgrade reports whether a request asks for a WebSocket, so that `/` can
// serve both the page and old clients that connect to the root.
func IsUpgrade(ctx *fasthttp.RequestCtx) bool {
	return websocket.FastHTTPIsWebSocketUpgrade(ctx)
}

// Handle upgrades the request. `?since=N` resumes after seq N.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	if s.hub.Draining() {
		ctx.Error(`{"error":"Gateway is shutting down"}`, fasthttp.StatusServiceUnavailable)
		ctx.SetContentType("application/json")
		return
	}
	var since *domain.Seq
	if raw := ctx.QueryArgs().Peek("since"); len(raw) > 0 {
		if n, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
			since = &n
		}
	}
	err := s.upgrader.Upgrade(ctx, func(wsc *websocket.Conn) {
		c := newConn(s.hub, wsc, s.ids.NewID("c_"), s.ping)
		if !s.hub.register(c, since) {
			return
		}
		go c.writeLoop()
		c.readLoop()
	})
	if err != nil {
		// The upgrader has already written a 400 with the reason.
		return
	}
}
