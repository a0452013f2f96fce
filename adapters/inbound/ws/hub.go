package ws

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
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
	// maxPending bounds events held while a gap is repaired; beyond it the
	// sequencer drops them and relies on the repair fetching them too.
	maxPending = 100_000
)

// HubOptions configures a Hub.
type HubOptions struct {
	GatewayID string
	Store     ports.CanvasStore
	// Placer is the one place-a-pixel path the app shares between its
	// inbound adapters; nil builds one on Store.
	Placer       *place.Service
	Bus          ports.Bus
	Presence     ports.Presence
	Clock        ports.Clock
	Metrics      *metrics.Metrics
	Log          *slog.Logger
	PixelRate    domain.RateRule
	CursorRate   domain.RateRule
	HistoryLimit int // most events one resume may replay; 0 means maxReplay
	SyncInterval time.Duration
	CursorFlush  time.Duration
}

// Hub is one gateway process's real-time core.
type Hub struct {
	o      HubOptions
	size   domain.Size
	log    *slog.Logger
	placer *place.Service

	// mu guards conns and last: a delivery and a registration never
	// interleave, so the seq a connection is told in `connected` is exactly
	// the point after which it receives every event.
	mu    sync.Mutex
	conns map[*Conn]struct{}
	byID  map[string]*Conn
	last  domain.Seq

	in           chan seqInput
	repairing    bool
	pending      map[domain.Seq]domain.Event
	progressMark domain.Seq // what had been delivered at the previous sync
	retryAfter   time.Time  // a failed repair is not retried before this
	draining     atomic.Bool
	presenceKick chan struct{}
	remoteKick   chan struct{}

	cursorMu    sync.Mutex
	localCursor *domain.CursorBoard
	outCursor   *domain.CursorBoard
	cursorNow   map[string]cursorEntry // latest known position per client, for newcomers

	viewMu sync.Mutex
	view   domain.PresenceView

	runCtx context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

type cursorEntry struct {
	cursor  domain.Cursor
	gateway string
}

// seqInput is what the sequencer goroutine consumes: live events, repair
// results, or a resync request.
type seqInput struct {
	events   []domain.Event
	repair   bool // events are a repair result (or a failed one)
	complete bool
	latest   domain.Seq // for repair results: the store's latest when fetched
	failed   bool       // for repair results: the store could not be read
	sync     bool       // check the store's latest seq
	force    bool       // repair without waiting for a second look
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
	return &Hub{
		o: o, size: o.Store.Size(), log: o.Log.With("gateway", o.GatewayID), placer: placer,
		conns: map[*Conn]struct{}{}, byID: map[string]*Conn{},
		in: make(chan seqInput, 4096), pending: map[domain.Seq]domain.Event{},
		presenceKick: make(chan struct{}, 1), remoteKick: make(chan struct{}, 1),
		localCursor: domain.NewCursorBoard(), outCursor: domain.NewCursorBoard(), cursorNow: map[string]cursorEntry{},
	}
}

// Start reads the store's position, subscribes to the bus and starts the
// sequencer, presence and cursor loops. It fails if the first subscription
// cannot be made (the app then fails to start instead of serving silence);
// an unreachable store at start is tolerated: the sync loop catches up.
func (h *Hub) Start(ctx context.Context) error {
	if seq, err := h.o.Store.LatestSeq(ctx); err == nil {
		h.last = seq
	} else {
		h.log.Warn("store unreachable at start; will sync when it returns", "err", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h.runCtx, h.stop = runCtx, cancel
	// The subscription lives as long as the hub (runCtx), but waiting for it
	// to be in place is bounded by the caller's ctx.
	subscribed := make(chan error, 1)
	go func() {
		subscribed <- h.o.Bus.Subscribe(runCtx, []string{ports.ChannelPixelUpdates, ports.ChannelUserEvents, ports.ChannelCursors},
			h.onMessage, func() {
				h.o.Metrics.BusResubscribes.Inc()
				h.log.Info("bus resubscribed; resyncing")
				h.send(seqInput{sync: true, force: true})
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
	go h.sequencer(runCtx)
	go h.presenceLoop(runCtx)
	go h.cursorLoop(runCtx)
	return nil
}

// send hands work to the sequencer. It blocks while the sequencer is busy:
// the caller is the bus subscription's goroutine (or a repair), and holding
// it back pushes the backlog into the bus's own bounded buffer (Redis's
// output buffer, membus's queue), whose overflow is repaired from history.
func (h *Hub) send(in seqInput) {
	select {
	case h.in <- in:
	case <-h.runCtx.Done():
	}
}

func (h *Hub) onMessage(m ports.Message) {
	switch m.Channel {
	case ports.ChannelPixelUpdates:
		e, err := busmsg.DecodeEvent(m.Payload)
		if err != nil {
			h.log.Warn("undecodable event on the bus", "err", err)
			return
		}
		h.send(seqInput{events: []domain.Event{e}})
	case ports.ChannelUserEvents:
		if string(m.Payload) != h.o.GatewayID {
			h.kick(h.remoteKick)
		}
	case ports.ChannelCursors:
		c, err := busmsg.DecodeCursors(m.Payload)
		if err != nil {
			h.log.Warn("undecodable cursor batch on the bus", "err", err)
			return
		}
		h.applyRemoteCursors(c)
	}
}

// sequencer is the only goroutine that advances h.last.
func (h *Hub) sequencer(ctx context.Context) {
	defer h.wg.Done()
	tick := time.NewTicker(h.o.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			h.checkLatest(ctx, false)
		case in := <-h.in:
			switch {
			case in.sync:
				h.checkLatest(ctx, in.force)
			case in.repair:
				h.repairDone(in)
			default:
				for _, e := range in.events {
					h.offer(e)
				}
			}
		}
	}
}

// offer delivers e if it is next, holds it if it is early, drops it if it
// is a duplicate.
func (h *Hub) offer(e domain.Event) {
	last := h.lastSeq()
	switch {
	case e.Seq <= last:
		return
	case e.Seq == last+1:
		h.deliver(e)
		h.drainPending()
	default:
		if len(h.pending) < maxPending {
			h.pending[e.Seq] = e
		}
		h.startRepair(last)
	}
}

func (h *Hub) drainPending() {
	for len(h.pending) > 0 {
		next := h.lastSeq() + 1
		e, ok := h.pending[next]
		if !ok {
			// Anything at or below last is stale; the rest waits for repair.
			for s := range h.pending {
				if s < next {
					delete(h.pending, s)
				}
			}
			if len(h.pending) > 0 {
				h.startRepair(next - 1)
			}
			return
		}
		delete(h.pending, next)
		h.deliver(e)
	}
}

func (h *Hub) lastSeq() domain.Seq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

func (h *Hub) startRepair(after domain.Seq) {
	if h.repairing || time.Now().Before(h.retryAfter) {
		return
	}
	h.repairing = true
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
		defer cancel()
		latest, err := h.o.Store.LatestSeq(ctx)
		var events []domain.Event
		var complete bool
		if err == nil {
			// One more than we would replay, to tell "exactly that many"
			// from "too many".
			events, complete, err = h.o.Store.Since(ctx, after, maxReplay+1)
		}
		if err != nil {
			h.o.Metrics.StoreErrors.Inc()
			h.log.Warn("gap repair failed; will retry at next sync", "after", after, "err", err)
			h.send(seqInput{repair: true, failed: true})
			return
		}
		h.send(seqInput{repair: true, events: events, complete: complete, latest: latest})
	}()
}

func (h *Hub) repairDone(in seqInput) {
	h.repairing = false
	if in.failed {
		// The store is unreachable; the sync tick retries once it answers
		// again, instead of a tight loop of failures.
		h.retryAfter = time.Now().Add(h.o.SyncInterval)
		return
	}
	if len(in.events) > maxReplay {
		// Too far behind to replay through every client's send queue (it
		// would overflow and close them all as slow): jump to the store's
		// position and let every client reload its snapshot. What lies
		// beyond arrives live or through the next repair.
		if in.latest > h.lastSeq() {
			h.log.Warn("gap too large to replay; clients will reload", "from", h.lastSeq(), "to", in.latest, "events", len(in.events))
			h.jumpTo(in.latest)
		}
		in.events = nil
	} else if !in.complete {
		// History no longer reaches back to what we delivered: we cannot
		// replay, so jump to the store's position and tell every client to
		// reload its snapshot rather than show a canvas with holes.
		target := in.latest
		if len(in.events) > 0 && in.events[0].Seq > 0 {
			target = in.events[0].Seq - 1
		}
		h.log.Warn("history does not cover the gap; clients will reload", "from", h.lastSeq(), "to", target)
		h.jumpTo(target)
	}
	h.o.Metrics.Replayed.Add(float64(len(in.events)))
	for _, e := range in.events {
		h.offer(e)
	}
	h.drainPending()
}

// jumpTo moves the sequencer to seq without delivering what lies between and
// sends every connection `resumed` with recovered=false, after which each
// receives exactly the events above seq. The move may be backwards (the
// store lost data and reuses seqs), so every connection's position moves
// with it; one still catching up from history is closed with 1012 instead,
// since its replay was read from the store as it was before.
func (h *Hub) jumpTo(seq domain.Seq) {
	frame := encodeResumed(seq, false)
	h.mu.Lock()
	back := seq < h.last
	h.last = seq
	for c := range h.conns {
		switch {
		case c.catchingUp && back:
			go c.closeWith(closeServiceRestart, "canvas store restarted")
		case c.catchingUp:
			c.deliver(frame, 0) // after its replay, whose resumed it overrides
		default:
			c.lastSeq = seq
			c.enqueue(frame)
		}
	}
	h.mu.Unlock()
	for s := range h.pending {
		if s <= seq {
			delete(h.pending, s)
		}
	}
}

// checkLatest repairs when the store is ahead of what we delivered and
// nothing was delivered since the previous look (or at once when forced):
// events that are merely in flight under load keep the sequencer moving and
// need no repair; lost ones stall it. It also notices a store that went
// backwards (data loss) and moves back with it.
func (h *Hub) checkLatest(ctx context.Context, force bool) {
	cctx, cancel := context.WithTimeout(ctx, storeCallTimeout)
	latest, err := h.o.Store.LatestSeq(cctx)
	cancel()
	if err != nil {
		return
	}
	last := h.lastSeq()
	stalled := last == h.progressMark
	h.progressMark = last
	switch {
	case latest < last:
		h.log.Warn("store is behind the gateway (data loss or reset of the backend); clients will reload", "store", latest, "gateway", last)
		h.pending = map[domain.Seq]domain.Event{}
		h.jumpTo(latest)
		h.progressMark = latest
	case latest > last && (force || stalled):
		h.startRepair(last)
	}
}

// deliver queues one event for every connection, encoded once (plus once
// more for the sender's echo).
func (h *Hub) deliver(e domain.Event) {
	common := encodeEvent(e, "")
	var echo []byte
	var sender *Conn
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Origin.GatewayID == h.o.GatewayID && e.Origin.WriteID != "" {
		if sender = h.byID[e.Origin.ClientID]; sender != nil {
			echo = encodeEvent(e, e.Origin.WriteID)
		}
	}
	h.last = e.Seq
	for c := range h.conns {
		if c == sender {
			c.deliver(echo, e.Seq)
		} else {
			c.deliver(common, e.Seq)
		}
	}
	if e.Time > 0 {
		if lag := h.o.Clock.Now().Sub(e.Time.Time()); lag >= 0 {
			h.o.Metrics.FanoutLatency.Observe(lag.Seconds())
		}
	}
}

// register adds a connection and queues its `connected` message. With a
// since, the connection first receives everything after it from history.
//
// `connected` carries the canvas's latest seq (the store's, which may be
// ahead of what this gateway has delivered yet), and the connection then
// receives exactly the events after it: a resuming client can tell a
// lagging gateway from a store that lost data, and nobody is sent an event
// older than what it was told.
//
// It reports false, having closed the connection with 1012, when Shutdown
// began after the upgrade was accepted: Shutdown's list of connections to
// close is taken under the same lock, so none is left open.
func (h *Hub) register(c *Conn, since *domain.Seq) bool {
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout/5)
	storeSeq, _ := h.o.Store.LatestSeq(ctx) // unreachable store: this gateway's position is the best we know
	cancel()
	h.mu.Lock()
	if h.draining.Load() {
		h.mu.Unlock()
		c.closeWith(closeServiceRestart, "service restart")
		return false
	}
	told := max(storeSeq, h.last)
	c.deliver(encodeConnected(c.id, told, h.size), 0)
	c.lastSeq = told // what lies at or below it is in the snapshot the client loads
	if since != nil {
		c.catchingUp = true
	}
	h.conns[c] = struct{}{}
	h.byID[c.id] = c
	h.mu.Unlock()
	h.o.Metrics.Connections.Inc()
	h.sendCursorState(c)
	if since != nil {
		go h.resume(c, *since)
	}
	h.kick(h.presenceKick)
	return true
}

// resume replays history after since to c, then `resumed`, then whatever
// arrived live meanwhile. The connection's seq filter drops anything the
// replay already covered, so there are no gaps and no duplicates.
func (h *Hub) resume(c *Conn, since domain.Seq) {
	ctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
	defer cancel()
	limit := maxReplay
	if h.o.HistoryLimit > 0 {
		limit = min(limit, h.o.HistoryLimit)
	}
	// One more than we replay: a client further behind than that reloads
	// its snapshot, which is cheaper for both sides than thousands of
	// frames and cannot overflow its send queue.
	events, complete, err := h.o.Store.Since(ctx, since, limit+1)
	if err != nil {
		h.o.Metrics.StoreErrors.Inc()
		h.log.Warn("resume: history unavailable", "client", c.id, "since", since, "err", err)
	}
	if len(events) > limit {
		complete = false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, live := h.conns[c]; !live {
		return
	}
	backlog := c.backlog
	c.backlog, c.catchingUp = nil, false
	if err == nil && complete {
		c.lastSeq = since
		for _, e := range events {
			c.deliver(encodeEvent(e, ""), e.Seq)
		}
		h.o.Metrics.Replayed.Add(float64(len(events)))
		c.deliver(encodeResumed(c.lastSeq, true), 0)
	} else {
		// The client reloads its snapshot and keeps what comes after
		// `resumed`, which starts right after the seq it is told here.
		upTo := h.last
		for _, f := range backlog {
			if f.seq > 0 {
				upTo = f.seq - 1
				break
			}
		}
		c.lastSeq = upTo
		c.deliver(encodeResumed(upTo, false), 0)
	}
	for _, f := range backlog {
		c.deliver(f.frame, f.seq)
	}
}

// resumeLive handles a `resume` message on an open connection.
func (h *Hub) resumeLive(c *Conn, since domain.Seq) {
	h.mu.Lock()
	if _, live := h.conns[c]; !live || c.catchingUp {
		h.mu.Unlock()
		return
	}
	c.catchingUp = true
	h.mu.Unlock()
	h.resume(c, since)
}

func (h *Hub) unregister(c *Conn) {
	h.mu.Lock()
	_, was := h.conns[c]
	delete(h.conns, c)
	if h.byID[c.id] == c {
		delete(h.byID, c.id)
	}
	h.mu.Unlock()
	if !was {
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
	h.mu.Lock()
	changed := c.username != name
	c.username = name
	h.mu.Unlock()
	if changed {
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
func (h *Hub) ConnCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Users lists this gateway's connections by display name.
func (h *Hub) Users() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	users := make([]string, 0, len(h.conns))
	for c := range h.conns {
		users = append(users, domain.DisplayName(c.username))
	}
	return users
}

// Draining reports whether Shutdown has begun (readiness fails then).
func (h *Hub) Draining() bool { return h.draining.Load() }

// Shutdown stops accepting connections, closes every connection with 1012
// (service restart) so clients reconnect to another gateway at once, and
// withdraws this gateway from presence.
func (h *Hub) Shutdown(ctx context.Context) {
	h.mu.Lock()
	if h.draining.Swap(true) {
		h.mu.Unlock()
		return
	}
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	// In parallel: a peer that stopped reading delays only its own close.
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); c.closeWith(closeServiceRestart, "service restart") }()
	}
	wg.Wait()
	// The loops stop first: the presence loop could otherwise announce
	// this gateway again right after it withdrew.
	if h.stop != nil {
		h.stop()
	}
	h.wg.Wait()
	if h.o.Presence != nil {
		if err := h.o.Presence.Withdraw(ctx, h.o.GatewayID); err == nil {
			_ = h.o.Bus.Publish(ctx, ports.ChannelUserEvents, []byte(h.o.GatewayID))
		}
	}
}
