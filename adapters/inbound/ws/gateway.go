package ws

// This file is the gateway: one process's hubs, one per canvas its clients
// are on. The main canvas's hub lives as long as the process; every other
// canvas's hub is made when its first client arrives (subscribing to the
// canvas's channels) and stopped when its last one has left and
// IdleGrace has passed without a newcomer (unsubscribing and withdrawing
// its presence entry), so the gateway's Pub/Sub traffic follows what its
// clients view, not the whole system.

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// DefaultIdleGrace is how long a canvas's hub outlives its last client: a
// page that reloads, or a client sent away by a drained gateway that
// lands here, comes back within it, and the subscription does not flap.
const DefaultIdleGrace = 10 * time.Second

// DefaultCanvasRefresh is how often a canvas's hub reads its canvas from
// the directory again (besides on every join), so that an archived canvas
// stops taking writes from clients already connected within it.
const DefaultCanvasRefresh = 15 * time.Second

// GatewayOptions configures a Gateway.
type GatewayOptions struct {
	// HubOptions are every hub's: Store is the main canvas's, Placer is
	// shared by every canvas (PlaceOn), PixelRate is the server's.
	// HubOptions.Canvas is ignored.
	HubOptions
	// Canvases and Stores serve canvases other than main; without both
	// only the main canvas is served and `?canvas=` anything else is 404.
	Canvases ports.Canvases
	Stores   ports.CanvasStores
	// IdleGrace is how long a canvas's hub outlives its last client; 0
	// means DefaultIdleGrace.
	IdleGrace time.Duration
	// CanvasRefresh is how often a canvas's hub rereads its canvas; 0
	// means DefaultCanvasRefresh.
	CanvasRefresh time.Duration
}

// Gateway owns one hub per canvas its clients are on.
type Gateway struct {
	o    GatewayOptions
	main *Hub
	log  *slog.Logger

	mu       sync.Mutex
	hubs     map[domain.Slug]*canvasHub
	draining bool
	stopping sync.WaitGroup // idle hubs being stopped
}

// canvasHub is a canvas's hub and who holds it. Fields but hub are under
// Gateway.mu.
type canvasHub struct {
	hub     *Hub
	refs    int           // connections (and upgrades in progress) on it
	ready   chan struct{} // closed once Start has returned
	err     error         // Start's error, set before ready is closed
	idle    *time.Timer   // the stop after IdleGrace, while refs is 0
	stopped bool          // being stopped: wait on done and make a new one
	done    chan struct{} // closed once stopped and out of the map
	cancel  context.CancelFunc
}

// errDraining refuses a canvas while the gateway shuts down.
var errDraining = errors.New("gateway is shutting down")

// NewGateway builds the gateway and its main canvas's hub; Start starts
// the latter.
func NewGateway(o GatewayOptions) *Gateway {
	if o.IdleGrace <= 0 {
		o.IdleGrace = DefaultIdleGrace
	}
	if o.CanvasRefresh <= 0 {
		o.CanvasRefresh = DefaultCanvasRefresh
	}
	mo := o.HubOptions
	mo.Canvas = domain.CanvasInfo{}
	main := NewHub(mo)
	// Every canvas shares the main hub's defaults and its placer.
	o.HubOptions = main.o
	o.Placer = main.placer
	return gatewayOf(main, o)
}

func gatewayOf(main *Hub, o GatewayOptions) *Gateway {
	return &Gateway{o: o, main: main, log: main.log, hubs: map[domain.Slug]*canvasHub{}}
}

// Main is the main canvas's hub.
func (g *Gateway) Main() *Hub { return g.main }

// Start starts the main canvas's hub; the others start with their first
// client.
func (g *Gateway) Start(ctx context.Context) error { return g.main.Start(ctx) }

// serves reports whether the gateway serves canvases other than main.
func (g *Gateway) serves() bool { return g.o.Canvases != nil && g.o.Stores != nil }

// acquire returns the hub of the canvas info (whose store is store),
// making and starting it if this gateway has none, and a release to call
// when the connection it is for has ended (or never began).
func (g *Gateway) acquire(ctx context.Context, info domain.CanvasInfo, store ports.CanvasStore) (*Hub, func(), error) {
	for {
		g.mu.Lock()
		if g.draining {
			g.mu.Unlock()
			return nil, nil, errDraining
		}
		e := g.hubs[info.Slug]
		if e != nil && e.stopped {
			// Stopping after its grace: wait until it is gone (its
			// withdrawal would otherwise remove the new hub's entry).
			g.mu.Unlock()
			select {
			case <-e.done:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		if e == nil {
			e = g.newEntry(info, store)
			g.mu.Unlock()
			g.start(ctx, e)
		} else {
			e.refs++
			if e.idle != nil {
				e.idle.Stop()
				e.idle = nil
			}
			g.mu.Unlock()
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			g.release(e)
			return nil, nil, ctx.Err()
		}
		if e.err != nil {
			return nil, nil, e.err
		}
		e.hub.SetCanvas(info)
		var once sync.Once
		return e.hub, func() { once.Do(func() { g.release(e) }) }, nil
	}
}

// newEntry makes a canvas's hub, held once. g.mu is held.
func (g *Gateway) newEntry(info domain.CanvasInfo, store ports.CanvasStore) *canvasHub {
	o := g.o.HubOptions
	o.Store, o.Canvas = store, info
	e := &canvasHub{hub: NewHub(o), refs: 1, ready: make(chan struct{}), done: make(chan struct{})}
	g.hubs[info.Slug] = e
	return e
}

// start starts e's hub and its refresh from the directory; on failure the
// entry leaves the map and everybody waiting is told.
func (g *Gateway) start(ctx context.Context, e *canvasHub) {
	defer close(e.ready)
	if err := e.hub.Start(ctx); err != nil {
		g.log.Warn("canvas hub failed to start", "canvas", string(e.hub.slug), "err", err)
		g.mu.Lock()
		e.err = err
		if g.hubs[e.hub.slug] == e {
			delete(g.hubs, e.hub.slug)
		}
		g.mu.Unlock()
		close(e.done)
		return
	}
	rctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go g.refresh(rctx, e.hub)
}

// refresh rereads the hub's canvas from the directory every CanvasRefresh
// until ctx ends.
func (g *Gateway) refresh(ctx context.Context, h *Hub) {
	t := time.NewTicker(g.o.CanvasRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		gctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
		info, err := g.o.Canvases.Get(gctx, h.slug)
		cancel()
		if err == nil {
			h.SetCanvas(info)
		}
	}
}

// release drops a hold on e; the last one arms the stop after IdleGrace.
func (g *Gateway) release(e *canvasHub) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e.refs--
	if e.refs > 0 || e.err != nil || g.draining || e.stopped {
		return
	}
	if e.idle != nil {
		e.idle.Stop()
	}
	e.idle = time.AfterFunc(g.o.IdleGrace, func() { g.expire(e) })
}

// expire stops e's hub if nobody took it since its grace began.
func (g *Gateway) expire(e *canvasHub) {
	g.mu.Lock()
	if e.refs > 0 || e.stopped || g.draining || g.hubs[e.hub.slug] != e {
		g.mu.Unlock()
		return
	}
	e.stopped, e.idle = true, nil
	g.stopping.Add(1)
	g.mu.Unlock()
	defer g.stopping.Done()
	if e.cancel != nil {
		e.cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
	e.hub.Shutdown(ctx) // no connections left: stops the loops, unsubscribes, withdraws
	cancel()
	g.mu.Lock()
	if g.hubs[e.hub.slug] == e {
		delete(g.hubs, e.hub.slug)
	}
	g.mu.Unlock()
	close(e.done)
	g.log.Debug("canvas hub stopped: no clients left", "canvas", string(e.hub.slug))
}

// Hubs is how many canvases' hubs run now, main's included.
func (g *Gateway) Hubs() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return 1 + len(g.hubs)
}

// all is every hub, main's first. Hubs still starting are waited for.
func (g *Gateway) all(ctx context.Context) []*Hub {
	g.mu.Lock()
	entries := make([]*canvasHub, 0, len(g.hubs))
	for _, e := range g.hubs {
		entries = append(entries, e)
	}
	g.mu.Unlock()
	hubs := []*Hub{g.main}
	for _, e := range entries {
		select {
		case <-e.ready:
		case <-ctx.Done():
		}
		if e.err == nil {
			hubs = append(hubs, e.hub)
		}
	}
	return hubs
}

// ConnCount is this gateway's connections on every canvas (for /health).
func (g *Gateway) ConnCount() int {
	n := 0
	for _, h := range g.all(context.Background()) {
		n += h.ConnCount()
	}
	return n
}

// Users lists this gateway's connections on every canvas by display name.
func (g *Gateway) Users() []string {
	var users []string
	for _, h := range g.all(context.Background()) {
		users = append(users, h.Users()...)
	}
	if users == nil {
		users = []string{}
	}
	return users
}

// Draining reports whether Shutdown has begun (readiness fails then).
func (g *Gateway) Draining() bool { return g.main.Draining() }

// Shutdown drains every hub: it stops accepting connections, closes every
// client of every canvas with 1012 in one spread over DrainSpread (so the
// whole gateway's population leaves as a ramp, however it is split over
// canvases), then stops every hub and withdraws their presence entries.
func (g *Gateway) Shutdown(ctx context.Context) {
	g.mu.Lock()
	g.draining = true
	for _, e := range g.hubs {
		if e.idle != nil {
			e.idle.Stop()
			e.idle = nil
		}
	}
	g.mu.Unlock()
	var conns []*Conn
	var drained []*Hub
	for _, h := range g.all(ctx) {
		if cs, first := h.reg.drain(); first {
			conns = append(conns, cs...)
			drained = append(drained, h)
		}
	}
	closeSpread(ctx, conns, g.o.DrainSpread)
	var wg sync.WaitGroup
	for _, h := range drained {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.finish(ctx)
		}()
	}
	wg.Wait()
	g.mu.Lock()
	for _, e := range g.hubs {
		if e.cancel != nil {
			e.cancel()
		}
	}
	g.mu.Unlock()
	g.stopping.Wait()
}
