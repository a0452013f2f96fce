package ws

// This file is the hub: one canvas's registry of connections on this
// gateway process and the wiring of its loops (delivery, presence, cursors)
// to the bus and the canvas's store, with its start and graceful shutdown.
// The gateway (gateway.go) keeps one hub per canvas its clients are on.

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
	"github.com/pixelplayground/pixelplayground/internal/lograte"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Timing of the hub's background work.
const (
	// DefaultSyncInterval is how often the sequencer compares its position
	// with the store's latest seq. A Pub/Sub message lost in a Redis blip is
	// thus replayed within about two intervals (a stall is only a stall after
	// one interval without progress).
	DefaultSyncInterval = time.Second
	// DefaultCursorFlush is how often coalesced cursor moves go out: about
	// seven `cursors` messages a second per client at most, smooth enough
	// with client-side interpolation and cheap at a thousand clients.
	DefaultCursorFlush = 150 * time.Millisecond
	// presenceMinInterval spaces presence broadcasts during a burst of
	// connects so that a thousand arrivals cost a few broadcasts, not a
	// thousand.
	presenceMinInterval = 250 * time.Millisecond
	// presenceRebroadcast is the periodic stats/user_list even without
	// change, which old clients expect.
	presenceRebroadcast = 10 * time.Second
	// storeCallTimeout bounds every store call made for a client, so a hung
	// backend turns into an `unavailable` error instead of a stuck reader.
	storeCallTimeout = 5 * time.Second
)

// DefaultMessageRate is every connection's budget of inbound frames (data
// frames of any type, known or not, and protocol pings and pongs): one
// token each. The page sends far less: pointer moves are coalesced to about
// 30 a second (the cursor limit is 30/s), pixels are paced to at most 20 a
// second (the pixel limit), pings are rare; about 50 a second at the very
// most, and a quick stroke's burst stays within the pixel and cursor
// bursts (40 + 60). Twice that, 100 a second with a burst of 200, leaves an
// honest client far from it, while a flood (248,000 cursor messages a
// second from one socket used to take 73 % of a core; 67,000 protocol
// pings a second) is closed after a few hundred frames.
var DefaultMessageRate = domain.RateRule{PerSecond: 100, Burst: 200}

// overRateLogEvery spaces the log lines about clients closed over their
// message rate; each close is counted in pixel_rate_limited_total anyway.
const overRateLogEvery = 10 * time.Second

// messageHeadroom is what a connection may send besides pixels and cursor
// moves (pings, names, resumes) within its message budget.
const messageHeadroom = 10

// HubOptions configures a Hub.
type HubOptions struct {
	GatewayID string
	Store     ports.CanvasStore
	// Placer is the one place-a-pixel path the app shares between its
	// inbound adapters; nil builds one on Store.
	Placer     *place.Service
	Bus        ports.Bus
	Presence   ports.Presence
	Clock      ports.Clock
	Metrics    *metrics.Metrics
	Log        *slog.Logger
	PixelRate  domain.RateRule
	CursorRate domain.RateRule
	// MessageRate is every connection's budget of inbound frames
	// (MESSAGE_RATE, MESSAGE_BURST); over it the connection is closed with
	// 1008. It is never below what the pixel and cursor limits let
	// through (plus a little), so raising those for a load test raises it.
	MessageRate  domain.RateRule
	HistoryLimit int // most events one resume may replay; 0 means maxReplay
	SyncInterval time.Duration
	CursorFlush  time.Duration
	// DrainSpread is the window Shutdown spreads its 1012 closes over
	// (bounded by its context's deadline); 0 means DefaultDrainSpread, a
	// negative value closes every connection at once.
	DrainSpread time.Duration
	// Canvas is the canvas the hub serves, as the directory described it
	// (the gateway updates it as clients join, see SetCanvas); the zero
	// value is the main canvas, sized by Store. A canvas's hub subscribes
	// to its own channels and keeps its own presence entry and cursors.
	Canvas domain.CanvasInfo
}

// Hub is one gateway process's real-time core. It wires the pieces
// together: the registry of connections (registry.go), the delivery of
// canvas events in seq order (delivery.go around the pure sequencer in
// sequencer.go), resumes (resume.go), presence (presence.go) and cursors
// (cursors.go).
type Hub struct {
	o      HubOptions
	size   domain.Size
	log    *slog.Logger
	placer *place.Service

	// The canvas: its slug, its presence entry's id (the gateway's id for
	// main), its channels, and what the directory says of it now.
	slug                         domain.Slug
	entryID                      string
	chPixels, chUsers, chCursors string
	info                         atomic.Pointer[domain.CanvasInfo]

	reg *registry

	// Owned by the delivery goroutine, which Start starts.
	seq *sequencer
	in  chan seqInput

	presenceKick chan struct{}
	remoteKick   chan struct{}

	cursorMu    sync.Mutex
	localCursor *domain.CursorBoard
	outCursor   *domain.CursorBoard
	cursorNow   map[string]cursorEntry // latest known position per client, for newcomers

	viewMu sync.Mutex
	view   domain.PresenceView

	// overRateLog limits the line about a client closed over its message
	// rate: a bot that reconnects and floods again would write one per
	// connection.
	overRateLog *lograte.Limiter

	runCtx context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

type cursorEntry struct {
	cursor  domain.Cursor
	gateway string
}

// NewHub builds a hub; Start connects it to the bus.
func NewHub(o HubOptions) *Hub {
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.CursorFlush <= 0 {
		o.CursorFlush = DefaultCursorFlush
	}
	if o.PixelRate.PerSecond <= 0 {
		o.PixelRate = domain.DefaultPixelRate
	}
	if o.CursorRate.PerSecond <= 0 {
		o.CursorRate = domain.DefaultCursorRate
	}
	if o.MessageRate.PerSecond <= 0 {
		o.MessageRate = DefaultMessageRate
	}
	o.MessageRate.PerSecond = max(o.MessageRate.PerSecond, o.PixelRate.PerSecond+o.CursorRate.PerSecond+messageHeadroom)
	o.MessageRate.Burst = max(o.MessageRate.Burst, o.PixelRate.Burst+o.CursorRate.Burst+messageHeadroom)
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	placer := o.Placer
	if placer == nil {
		placer = place.New(place.Options{Store: o.Store, Metrics: o.Metrics, Log: o.Log})
	}
	if o.Canvas.Slug == "" {
		o.Canvas = domain.MainCanvas(o.Store.Size())
	}
	slug := o.Canvas.Slug
	log := o.Log.With("gateway", o.GatewayID)
	if slug != domain.MainSlug {
		log = log.With("canvas", string(slug))
	}
	h := &Hub{
		o: o, size: o.Store.Size(), log: log, placer: placer,
		slug: slug, entryID: domain.PresenceEntryID(o.GatewayID, slug),
		chPixels: ports.PixelChannel(slug), chUsers: UserEventsChannel(slug), chCursors: CursorChannel(slug),
		reg: newRegistry(), in: make(chan seqInput, 4096),
		presenceKick: make(chan struct{}, 1), remoteKick: make(chan struct{}, 1),
		localCursor: domain.NewCursorBoard(), outCursor: domain.NewCursorBoard(), cursorNow: map[string]cursorEntry{},
		overRateLog: lograte.New(overRateLogEvery, time.Now),
	}
	info := o.Canvas
	h.info.Store(&info)
	return h
}

// UserEventsChannel is the channel of a canvas's presence nudges between
// gateways: ports.ChannelUserEvents for the main canvas (the old name),
// "user-events:<slug>" for any other.
func UserEventsChannel(slug domain.Slug) string {
	if slug == "" || slug == domain.MainSlug {
		return ports.ChannelUserEvents
	}
	return ports.ChannelUserEvents + ":" + string(slug)
}

// CursorChannel is the channel of a canvas's cursor batches:
// ports.ChannelCursors for the main canvas, "cursor-events:<slug>" for any
// other.
func CursorChannel(slug domain.Slug) string {
	if slug == "" || slug == domain.MainSlug {
		return ports.ChannelCursors
	}
	return ports.ChannelCursors + ":" + string(slug)
}

// Canvas is what the directory said of the hub's canvas last.
func (h *Hub) Canvas() domain.CanvasInfo { return *h.info.Load() }

// SetCanvas updates what the hub knows of its canvas (archived, its name,
// its pixel rate), as the gateway reads it again from the directory. The
// size and slug never change.
func (h *Hub) SetCanvas(info domain.CanvasInfo) {
	if info.Slug != h.slug {
		return
	}
	h.info.Store(&info)
}

// pixelRate is the per-connection pixel rule of a connection joining now:
// the canvas's own rate, else the server's.
func (h *Hub) pixelRate() domain.RateRule {
	return h.Canvas().EffectivePixelRate(h.o.PixelRate)
}

// placeCanvas is where this hub's writes go.
func (h *Hub) placeCanvas() place.Canvas {
	if h.slug == domain.MainSlug {
		return h.placer.Main() // as before canvases: the placer's own store
	}
	info := h.Canvas()
	return place.Canvas{Slug: h.slug, Store: h.o.Store, Archived: info.Archived}
}

// Start reads the store's position, subscribes to the bus and starts the
// sequencer, presence and cursor loops. It fails if the first subscription
// cannot be made (the app then fails to start instead of serving silence);
// an unreachable store at start is tolerated: the sync loop catches up.
func (h *Hub) Start(ctx context.Context) error {
	head, err := h.o.Store.Head(ctx)
	if err != nil {
		// No timeline yet: the first head or event read moves to one
		// (clients connected meanwhile reload then).
		head = domain.Head{}
		h.log.Warn("store unreachable at start; will sync when it returns", "err", err)
	}
	h.reg.setDelivered(head.Seq, head.Epoch)
	h.seq = newSequencer(head.Seq, head.Epoch, h.o.SyncInterval)
	runCtx, cancel := context.WithCancel(context.Background())
	h.runCtx, h.stop = runCtx, cancel
	// The subscription lives as long as the hub (runCtx), but waiting for it
	// to be in place is bounded by the caller's ctx.
	subscribed := make(chan error, 1)
	go func() {
		subscribed <- h.o.Bus.Subscribe(runCtx, []string{h.chPixels, h.chUsers, h.chCursors},
			h.onMessage, func() {
				h.o.Metrics.BusResubscribes.Inc()
				h.log.Info("bus resubscribed; resyncing")
				h.feed(seqInput{resync: true})
				h.kick(h.remoteKick)
			})
	}()
	select {
	case err := <-subscribed:
		if err != nil {
			cancel()
			return err
		}
	case <-ctx.Done():
		cancel()
		return ctx.Err()
	}
	h.wg.Add(3)
	go h.deliveryLoop(runCtx)
	go h.presenceLoop(runCtx)
	go h.cursorLoop(runCtx)
	return nil
}

// onMessage takes every bus message: events go to the delivery goroutine,
// presence nudges from other gateways and cursor batches to their loops.
func (h *Hub) onMessage(m ports.Message) {
	switch m.Channel {
	case h.chPixels:
		events, epoch, err := busmsg.DecodeEvents(m.Payload)
		if err != nil {
			// It may have carried events (a newer server's format, say):
			// compare with the store now rather than at the next sync.
			h.log.Warn("undecodable events on the bus; resyncing from the store", "err", err)
			h.feed(seqInput{resync: true})
			return
		}
		h.feed(seqInput{events: events, epoch: epoch})
	case h.chUsers:
		if string(m.Payload) != h.entryID {
			h.kick(h.remoteKick)
		}
	case h.chCursors:
		c, err := busmsg.DecodeCursors(m.Payload)
		if err != nil {
			h.log.Warn("undecodable cursor batch on the bus", "err", err)
			return
		}
		h.applyRemoteCursors(c)
	}
}

// register adds a connection and queues its `connected` message. With a
// since, the connection first receives everything after it from history
// (if it is on the timeline epoch, see resume).
//
// `connected` carries the canvas's latest seq (the store's, which may be
// ahead of what this gateway has delivered yet) and its epoch, and the
// connection then receives exactly the events after it: a resuming client
// can tell a lagging gateway from a store that lost data, and nobody is
// sent an event older than what it was told.
//
// It reports false, having closed the connection with 1012, when Shutdown
// began after the upgrade was accepted: the registry refuses it under the
// lock Shutdown takes its list of connections to close under, so none is
// left open.
func (h *Hub) register(c *Conn, since *domain.Seq, epoch domain.Epoch) bool {
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout/5)
	head, err := h.o.Store.Head(ctx) // unreachable store: this gateway's position is the best we know
	cancel()
	if err != nil {
		head = domain.Head{}
	}
	if !h.reg.add(c, head, h.connectedInfo(c), since != nil) {
		c.closeWith(closeServiceRestart, "service restart")
		return false
	}
	if err == nil && head.Epoch != h.reg.timeline() {
		// The store moved to another timeline before this gateway
		// noticed: look now rather than at the next sync tick.
		go h.feed(seqInput{resync: true})
	}
	h.o.Metrics.Connections.Inc()
	h.sendCursorState(c)
	if since != nil {
		go h.resume(c, *since, epoch)
	}
	h.kick(h.presenceKick)
	return true
}

func (h *Hub) unregister(c *Conn) {
	if !h.reg.remove(c) {
		return
	}
	h.o.Metrics.Connections.Dec()
	h.cursorMu.Lock()
	h.localCursor.Leave(c.id)
	h.cursorMu.Unlock()
	h.kick(h.presenceKick)
}

// setUsername records a connection's name and tells everybody.
func (h *Hub) setUsername(c *Conn, name string) {
	if h.reg.setName(c, name) {
		h.kick(h.presenceKick)
	}
}

func (h *Hub) kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// ConnCount and Users describe this gateway's own connections (for
// /health): one entry per connection, Anonymous when unnamed.
func (h *Hub) ConnCount() int { return h.reg.count() }

// Users lists this gateway's connections by display name.
func (h *Hub) Users() []string { return h.reg.names() }

// Draining reports whether Shutdown has begun (readiness fails then).
func (h *Hub) Draining() bool { return h.reg.draining.Load() }

// Shutdown stops accepting connections, closes every connection with 1012
// (service restart) so clients reconnect to another gateway at once, and
// withdraws this hub from presence. The gateway (gateway.go) drains all its
// hubs at once instead, with one spread of closes over all their clients.
func (h *Hub) Shutdown(ctx context.Context) {
	conns, first := h.reg.drain()
	if !first {
		return
	}
	closeSpread(ctx, conns, h.o.DrainSpread)
	h.finish(ctx)
}

// closeSpread closes conns with 1012, each at its time in the drain's
// window (drain.go), each in its own goroutine: a peer that stopped reading
// delays only its own close. spread is HubOptions.DrainSpread.
func closeSpread(ctx context.Context, conns []*Conn, spread time.Duration) {
	if spread == 0 {
		spread = DefaultDrainSpread
	}
	start := time.Now()
	deadline, hasDeadline := ctx.Deadline()
	window := drainWindow(spread, start, deadline, hasDeadline)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := time.Until(start.Add(drainDelay(i, len(conns), window))); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
			c.closeWith(closeServiceRestart, "service restart")
		}()
	}
	wg.Wait()
}

// finish stops the hub's loops and its subscription and withdraws its
// presence entry, once its registry has been drained.
func (h *Hub) finish(ctx context.Context) {
	// The loops stop first: the presence loop could otherwise announce
	// this hub again right after it withdrew.
	if h.stop != nil {
		h.stop()
	}
	h.wg.Wait()
	if h.o.Presence != nil {
		if err := h.o.Presence.Withdraw(ctx, h.entryID); err == nil {
			_ = h.o.Bus.Publish(ctx, h.chUsers, []byte(h.entryID))
		}
	}
}
