package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// Bounds on a run, so a typo cannot turn the tool into a denial of service
// against the machine it runs on.
const (
	maxClients  = 20000
	maxDuration = 10 * time.Minute
	maxRate     = 1_000_000
	maxChurn    = 10_000
	maxDrain    = time.Minute
	// dialConcurrency bounds handshakes in flight, whatever -ramp says, so
	// a slow server faces a queue of dials rather than a stampede.
	dialConcurrency = 256
	// serverPixelRate and serverPixelBurst are the servers' default
	// per-connection limit (PIXEL_RATE, PIXEL_BURST).
	serverPixelRate  = 20
	serverPixelBurst = 40
)

// Config is one run.
type Config struct {
	URLs           []string
	Clients        int
	Rate           float64 // pixels per second across all clients
	Duration       time.Duration
	Ramp           float64 // new connections per second while ramping up
	Churn          float64 // connects+disconnects per second during the run
	Sample         Sample
	V2             bool
	Drain          time.Duration // longest wait for in-flight deliveries after sending stops
	ConnectTimeout time.Duration
	Progress       time.Duration // period of progress lines; 0 for none
}

// Sample says which clients measure latency: a fraction of them, or a
// count.
type Sample struct {
	Fraction float64
	Count    int
}

// parseSample reads "0.1" or "10%" as a fraction and "50" as a count, so
// "1" (one client) and "1.0" (all of them) are both expressible.
func parseSample(s string) (Sample, error) {
	s = strings.TrimSpace(s)
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(pct, 64)
		if err != nil || f < 0 || f > 100 {
			return Sample{}, fmt.Errorf("bad sample %q: want a percentage 0-100%%", s)
		}
		return Sample{Fraction: f / 100}, nil
	}
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			return Sample{}, fmt.Errorf("bad sample %q: a fraction is 0..1", s)
		}
		return Sample{Fraction: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Sample{}, fmt.Errorf("bad sample %q: want a fraction (0.1, 10%%) or a count (50)", s)
	}
	return Sample{Count: n}, nil
}

func (s Sample) String() string {
	if s.Count > 0 || s.Fraction == 0 {
		return strconv.Itoa(s.Count)
	}
	return strconv.FormatFloat(s.Fraction, 'g', -1, 64)
}

// of is how many of n clients are sampled.
func (s Sample) of(n int) int {
	if s.Count > 0 {
		return min(s.Count, n)
	}
	k := int(s.Fraction*float64(n) + 0.5)
	if k == 0 && s.Fraction > 0 && n > 0 {
		k = 1
	}
	return min(k, n)
}

// check validates a configuration and says what is doubtful about it.
func (c Config) check() (warnings []string, err error) {
	switch {
	case len(c.URLs) == 0:
		return nil, errors.New("no -url")
	case c.Clients < 1 || c.Clients > maxClients:
		return nil, fmt.Errorf("-clients must be 1..%d", maxClients)
	case c.Rate < 0 || c.Rate > maxRate:
		return nil, fmt.Errorf("-rate must be 0..%d", maxRate)
	case c.Duration <= 0 || c.Duration > maxDuration:
		return nil, fmt.Errorf("-duration must be >0 and at most %v", maxDuration)
	case c.Ramp <= 0:
		return nil, errors.New("-ramp must be > 0")
	case c.Churn < 0 || c.Churn > maxChurn:
		return nil, fmt.Errorf("-churn must be 0..%d", maxChurn)
	case c.Drain < 0 || c.Drain > maxDrain:
		return nil, fmt.Errorf("-drain must be 0..%v", maxDrain)
	case c.ConnectTimeout <= 0:
		return nil, errors.New("-connect-timeout must be > 0")
	}
	for _, u := range c.URLs {
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			return nil, fmt.Errorf("-url %q: want ws:// or wss://", u)
		}
	}
	if per := c.Rate / float64(c.Clients); per > serverPixelRate {
		warnings = append(warnings, fmt.Sprintf(
			"%.1f px/s per client exceeds the servers' default limit of %d/s per connection (burst %d): expect rate_limited errors; add clients or lower -rate",
			per, serverPixelRate, serverPixelBurst))
	}
	return warnings, nil
}

// LatencySummary is one latency distribution, in milliseconds.
type LatencySummary struct {
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P95Ms  float64 `json:"p95_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// Result is everything a run measured.
type Result struct {
	URLs          []string      `json:"urls"`
	Baseline      bool          `json:"baseline"`
	Config        ConfigSummary `json:"config"`
	StartedAt     time.Time     `json:"started_at"`
	RampSeconds   float64       `json:"ramp_seconds"`
	SteadySeconds float64       `json:"steady_seconds"`
	DrainSeconds  float64       `json:"drain_seconds"`
	Interrupted   bool          `json:"interrupted"`
	Connections   ConnStats     `json:"connections"`
	Writes        WriteStats    `json:"writes"`
	Deliveries    DeliveryStats `json:"deliveries"`
	// ErrorsByCode counts server error messages by code (or by message
	// when a v1 server sends no code).
	ErrorsByCode map[string]uint64 `json:"errors_by_code"`
	Latency      struct {
		// EndToEnd is send → receive on the bench's own monotonic clock,
		// for every delivery to a sampled client.
		EndToEnd LatencySummary `json:"end_to_end"`
		// FanOut is the server's timestamp → receive on the wall clock:
		// meaningful only when the server shares this machine's clock.
		FanOut LatencySummary `json:"fan_out"`
	} `json:"latency"`
	Warnings []string `json:"warnings"`
}

// ConfigSummary echoes the run's settings into the results.
type ConfigSummary struct {
	Clients         int     `json:"clients"`
	Rate            float64 `json:"rate"`
	DurationSeconds float64 `json:"duration_seconds"`
	Ramp            float64 `json:"ramp"`
	Churn           float64 `json:"churn"`
	Sample          string  `json:"sample"`
	SampledClients  int     `json:"sampled_clients"`
	V2              bool    `json:"v2"`
}

// ConnStats is about connecting.
type ConnStats struct {
	Attempts    uint64            `json:"attempts"`
	Succeeded   uint64            `json:"succeeded"`
	Failed      uint64            `json:"failed"`
	SuccessRate float64           `json:"success_rate"`
	PeakOpen    int               `json:"peak_open"`
	Churned     uint64            `json:"churned"`
	Dropped     uint64            `json:"dropped"` // closed by the server or the network, not by us
	ConnectTime LatencySummary    `json:"connect_time"`
	Failures    map[string]uint64 `json:"failures"`
	DropCodes   map[string]uint64 `json:"drop_codes"`
}

// WriteStats is about the pixels the bench sent.
type WriteStats struct {
	Sent          uint64  `json:"sent"`
	SentPerSecond float64 `json:"sent_per_second"`
	SendErrors    uint64  `json:"send_errors"`
	// Skipped writes were due while the client was behind schedule (the
	// bench did not burst to catch up) or not connected.
	Skipped uint64 `json:"skipped"`
	// Acked writes came back to their sender as pixel_updated with the
	// write's id; Refused came back as an error with the id; Unanswered
	// neither, by the end of the drain or by a drop of the sender's
	// connection (writes cut off by churn are not counted).
	Acked      uint64 `json:"acked"`
	Refused    uint64 `json:"refused"`
	Unanswered uint64 `json:"unanswered"`
}

// DeliveryStats is about pixel_updated messages received.
type DeliveryStats struct {
	Total uint64 `json:"total"`
	// PerSecond counts deliveries during the steady phase only.
	PerSecond float64 `json:"per_second"`
	// Missing is the number of seqs a client never received while
	// connected: holes in its seq stream, plus, for clients connected at the
	// end, the seqs between its last one and the highest any client saw.
	Missing      uint64  `json:"missing"`
	OutOfOrder   uint64  `json:"out_of_order"` // at or below a seq already received
	WithoutSeq   uint64  `json:"without_seq"`  // from a server without the seq extension
	Completeness float64 `json:"completeness"` // received / (received + missing), seq-carrying only
	ClientsGaps  int     `json:"clients_with_gaps"`
}

// geometry maps write numbers to pixels and back, so that any client can
// tell which write a pixel_updated is without the server's help: write n
// paints pixel n mod P in a colour encoding n div P (scrambled by an odd
// multiplier, which is a bijection mod 2^24, so the canvas looks lively).
// It is unique for P·2^24 writes.
type geometry struct {
	width, pixels uint64
	base          uint64 // a random first write number, so two benches on one canvas do not share numbers
}

func newGeometry(width, height int) *geometry {
	g := &geometry{width: uint64(width), pixels: uint64(width * height)}
	g.base = rand.Uint64N(g.limit())
	return g
}

// limit is how many distinct writes the encoding tells apart.
func (g geometry) limit() uint64 { return g.pixels << 24 }

// number is the k-th write's number.
func (g geometry) number(k uint64) uint64 { return (g.base + k) % g.limit() }

const colorMul = 0x9E3779 // odd

var colorInv = func() uint64 { // the inverse of colorMul mod 2^24, by Newton's iteration
	x := uint64(colorMul)
	for range 5 {
		x *= 2 - colorMul*x
	}
	return x & 0xFFFFFF
}()

func (g geometry) pixelFor(n uint64) (x, y int, c domain.Color) {
	idx, k := n%g.pixels, n/g.pixels
	return int(idx % g.width), int(idx / g.width), domain.Color(k * colorMul & 0xFFFFFF)
}

func (g geometry) writeOf(x, y int, color string) (uint64, bool) {
	c, err := domain.ParseColor(color)
	if err != nil || x < 0 || y < 0 || uint64(x) >= g.width {
		return 0, false
	}
	idx := uint64(y)*g.width + uint64(x)
	if idx >= g.pixels {
		return 0, false
	}
	return (uint64(c)*colorInv&0xFFFFFF)*g.pixels + idx, true
}

// sendRing remembers when recent writes were sent, by write number. A slot
// is written as a tiny seqlock (invalidate, time, number) so a reader never
// pairs one write's number with another's time.
type sendRing struct {
	slots []ringSlot
}

type ringSlot struct {
	n  atomic.Uint64 // write number + 1; 0 while being written
	at atomic.Int64  // nanoseconds since the bench's epoch
}

// ringSize covers over a minute of writes at 10k/s; a delivery later than
// that is not timed (and would be an outlier anyway).
const ringSize = 1 << 20

func newSendRing() *sendRing { return &sendRing{slots: make([]ringSlot, ringSize)} }

func (r *sendRing) store(n uint64, at time.Duration) {
	s := &r.slots[n&(ringSize-1)]
	s.n.Store(0)
	s.at.Store(int64(at))
	s.n.Store(n + 1)
}

func (r *sendRing) lookup(n uint64) (time.Duration, bool) {
	s := &r.slots[n&(ringSize-1)]
	if s.n.Load() != n+1 {
		return 0, false
	}
	at := s.at.Load()
	if s.n.Load() != n+1 {
		return 0, false
	}
	return time.Duration(at), true
}

// benchConn is one connection. Its counters are written by its reader
// goroutine only and read by the progress and drain logic.
type benchConn struct {
	c        *wsclient.Client
	no       uint64
	idPrefix string // every write id of this connection starts with it
	sampled  bool
	ours     atomic.Bool // we are closing it: its end is not a drop

	delivered, inOrder, missing, outOfOrder, noSeq atomic.Uint64
	sent, acked, refused                           atomic.Uint64
	lastSeq                                        atomic.Uint64
}

// unanswered is how many of this connection's writes neither came back nor
// were refused.
func (c *benchConn) unanswered() uint64 {
	s, a := c.sent.Load(), c.acked.Load()+c.refused.Load()
	if a >= s {
		return 0
	}
	return s - a
}

// Why a connection ended.
type endReason int

const (
	endDropped endReason = iota // by the server or the network
	endChurned                  // by us, mid-run
	endFinal                    // by us, at the end
)

type slot struct {
	index   int
	url     string
	sampled bool
	cur     atomic.Pointer[benchConn]
	churn   chan struct{}
}

type bench struct {
	cfg   Config
	epoch time.Time // the monotonic origin of send and receive stamps
	geom  atomic.Pointer[geometry]
	ring  *sendRing
	dials chan struct{}

	connNo, writeNo                      atomic.Uint64
	sent, sendErrors, skipped            atomic.Uint64
	attempts, succeeded, failed, churned atomic.Uint64
	dropped                              atomic.Uint64
	ackSeen                              atomic.Bool  // the server echoes write ids
	phase                                atomic.Value // string: ramp, steady, drain
	sizeMismatch                         atomic.Bool  // the URLs disagree on the canvas size

	e2e, fanOut measure.Sharded

	mu          sync.Mutex
	connectTime measure.Histogram
	live        map[*benchConn]struct{}
	peakOpen    int
	folded      connTotals
	gappy       int
	finals      []*benchConn // connections open at the end, for the tail count
	errorsBy    map[string]uint64
	failures    map[string]uint64
	dropCodes   map[string]uint64
}

type connTotals struct {
	delivered, inOrder, missing, outOfOrder, noSeq, acked, refused uint64
	unanswered                                                     uint64
}

func (t *connTotals) add(c *benchConn) {
	t.delivered += c.delivered.Load()
	t.inOrder += c.inOrder.Load()
	t.missing += c.missing.Load()
	t.outOfOrder += c.outOfOrder.Load()
	t.noSeq += c.noSeq.Load()
	t.acked += c.acked.Load()
	t.refused += c.refused.Load()
}

// Run runs one benchmark and reports progress lines on progress.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	warnings, err := cfg.check()
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintln(progress, "warning:", w)
	}
	b := &bench{
		cfg: cfg, epoch: time.Now(), ring: newSendRing(), dials: make(chan struct{}, dialConcurrency),
		live: map[*benchConn]struct{}{}, errorsBy: map[string]uint64{}, failures: map[string]uint64{}, dropCodes: map[string]uint64{},
	}
	res := &Result{URLs: cfg.URLs, StartedAt: time.Now(), Warnings: append([]string{}, warnings...)}

	// Ramp: start slots at cfg.Ramp per second; each dials, and redials
	// whenever its connection drops, until the end.
	runCtx, stopSlots := context.WithCancel(context.Background())
	defer stopSlots()
	k := cfg.Sample.of(cfg.Clients)
	slots := make([]*slot, cfg.Clients)
	var slotsDone, firstDials sync.WaitGroup
	firstDials.Add(cfg.Clients)
	for i := range slots {
		slots[i] = &slot{index: i, url: cfg.URLs[i%len(cfg.URLs)], churn: make(chan struct{}, 1),
			sampled: i*k/cfg.Clients != (i+1)*k/cfg.Clients} // k slots, evenly spread
	}
	b.phase.Store("ramp")
	stopProgress := b.startProgress(progress)
	defer stopProgress()
	rampStart := time.Now()
	launched := 0
	tick := time.NewTicker(10 * time.Millisecond)
	for launched < len(slots) && ctx.Err() == nil {
		due := min(len(slots), int(time.Since(rampStart).Seconds()*cfg.Ramp)+1)
		for ; launched < due; launched++ {
			s := slots[launched]
			slotsDone.Add(1)
			go func() {
				defer slotsDone.Done()
				b.runSlot(runCtx, s, firstDials.Done)
			}()
		}
		if launched < len(slots) {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}
	tick.Stop()
	for range len(slots) - launched {
		firstDials.Done()
	}
	waitOrCancel(ctx, &firstDials)
	res.RampSeconds = time.Since(rampStart).Seconds()

	// Steady: send at cfg.Rate, churn at cfg.Churn.
	b.phase.Store("steady")
	steadyStart := time.Now()
	steadyEnd := steadyStart.Add(cfg.Duration)
	before := b.totals()
	var workers sync.WaitGroup
	if cfg.Rate > 0 {
		interval := time.Duration(float64(time.Second) * float64(cfg.Clients) / cfg.Rate)
		for _, s := range slots {
			// Offsets spread the clients' sends evenly over one interval.
			first := steadyStart.Add(time.Duration(float64(interval) * float64(s.index) / float64(cfg.Clients)))
			workers.Add(1)
			go func() {
				defer workers.Done()
				b.sendLoop(ctx, s, first, steadyEnd, interval)
			}()
		}
	}
	if cfg.Churn > 0 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			b.churnLoop(ctx, slots, steadyEnd)
		}()
	}
	sleepCtx(ctx, time.Until(steadyEnd))
	workers.Wait()
	steadyFor := time.Since(steadyStart)
	after := b.totals()
	res.SteadySeconds = steadyFor.Seconds()

	// Drain: wait until every write is answered and every client has seen
	// the same last seq, or until cfg.Drain.
	b.phase.Store("drain")
	drainStart := time.Now()
	b.drain(ctx, cfg.Drain)
	res.DrainSeconds = time.Since(drainStart).Seconds()
	res.Interrupted = ctx.Err() != nil

	stopSlots()
	slotsDone.Wait()
	stopProgress()
	b.tail()
	b.fill(res, k, after.delivered-before.delivered, steadyFor)
	return res, nil
}

func waitOrCancel(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// runSlot keeps one connection open for slot s until ctx ends: it dials,
// redials after a drop (with backoff) and after churn (at once).
func (b *bench) runSlot(ctx context.Context, s *slot, firstDial func()) {
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		cn, err := b.connect(ctx, s)
		if first {
			first = false
			firstDial()
		}
		if err != nil {
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		s.cur.Store(cn)
		select {
		case <-cn.c.Done():
			s.cur.Store(nil)
			b.retire(cn, endDropped)
			if !sleepCtx(ctx, backoff) {
				return
			}
		case <-s.churn:
			s.cur.Store(nil)
			b.closeConn(cn)
			b.churned.Add(1)
			b.retire(cn, endChurned)
		case <-ctx.Done():
			s.cur.Store(nil)
			b.closeConn(cn)
			b.retire(cn, endFinal)
			return
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// closeConn closes normally, and drops the socket if the server does not
// answer in time, so the end of a run is bounded.
func (b *bench) closeConn(cn *benchConn) {
	cn.ours.Store(true)
	_ = cn.c.Close()
	select {
	case <-cn.c.Done():
	case <-time.After(3 * time.Second):
		cn.c.Abort()
		<-cn.c.Done()
	}
}

func (b *bench) connect(ctx context.Context, s *slot) (*benchConn, error) {
	select {
	case b.dials <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.dials }()
	cn := &benchConn{no: b.connNo.Add(1), sampled: s.sampled}
	cn.idPrefix = strconv.FormatUint(cn.no, 36) + ":"
	b.attempts.Add(1)
	start := time.Now()
	c, err := wsclient.Dial(ctx, s.url, wsclient.Options{
		V2: b.cfg.V2, HandshakeTimeout: b.cfg.ConnectTimeout,
		ReadTimeout: -1, // the run's own bounds end it; a quiet server is a result, not an error
		Handler:     func(m wsclient.Message) { b.handle(cn, m) },
		// Small buffers keep thousands of clients light; frames larger
		// than the read buffer are still read whole.
		ReadBufferSize: 1024, WriteBufferSize: 512,
	})
	if err != nil {
		if ctx.Err() != nil {
			b.attempts.Add(^uint64(0)) // cancelled at the end: not an attempt that failed
			return nil, err
		}
		b.failed.Add(1)
		b.mu.Lock()
		countCapped(b.failures, failureReason(err))
		b.mu.Unlock()
		return nil, err
	}
	took := time.Since(start)
	cn.c = c
	b.succeeded.Add(1)
	if !b.geom.CompareAndSwap(nil, newGeometry(c.Width(), c.Height())) {
		if g := b.geom.Load(); g.width != uint64(c.Width()) || g.pixels != uint64(c.Width()*c.Height()) {
			b.sizeMismatch.Store(true)
		}
	}
	b.mu.Lock()
	b.connectTime.Record(took)
	b.live[cn] = struct{}{}
	b.peakOpen = max(b.peakOpen, len(b.live))
	b.mu.Unlock()
	return cn, nil
}

// retire folds a finished connection into the totals. One open at the end
// is folded by tail instead, once all of them have stopped reading.
func (b *bench) retire(cn *benchConn, why endReason) {
	<-cn.c.Done() // its reader has stopped: the counters are final
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.live, cn)
	if !cn.ours.Load() {
		b.dropped.Add(1)
		countCapped(b.dropCodes, strconv.Itoa(cn.c.Closed().Code))
	}
	switch why {
	case endFinal:
		b.finals = append(b.finals, cn)
		return
	case endDropped:
		// A churned connection's last echoes were cut off by us; a dropped
		// one's by the server, which is worth reporting.
		b.folded.unanswered += cn.unanswered()
	}
	if cn.missing.Load() > 0 {
		b.gappy++
	}
	b.folded.add(cn)
}

// tail counts, for every connection open at the end, the seqs between its
// last one and the highest any of them received: events it should have had.
func (b *bench) tail() {
	b.mu.Lock()
	defer b.mu.Unlock()
	var top uint64
	for _, cn := range b.finals {
		top = max(top, cn.lastSeq.Load())
	}
	for _, cn := range b.finals {
		cn.missing.Add(top - cn.lastSeq.Load())
		if cn.missing.Load() > 0 {
			b.gappy++
		}
		b.folded.unanswered += cn.unanswered()
		b.folded.add(cn)
	}
	b.finals = nil
}

// handle runs on a connection's reader goroutine.
func (b *bench) handle(cn *benchConn, m wsclient.Message) {
	switch m := m.(type) {
	case wsclient.PixelUpdated:
		var now time.Time
		if cn.sampled {
			now = time.Now() // first: decoding done, nothing else counted
		}
		cn.delivered.Add(1)
		if m.Seq == 0 {
			cn.noSeq.Add(1)
		} else if last := cn.lastSeq.Load(); m.Seq > last {
			if m.Seq > last+1 {
				cn.missing.Add(m.Seq - last - 1)
			}
			cn.inOrder.Add(1)
			cn.lastSeq.Store(m.Seq)
		} else {
			cn.outOfOrder.Add(1)
		}
		if m.ID != "" && strings.HasPrefix(m.ID, cn.idPrefix) {
			cn.acked.Add(1)
			if !b.ackSeen.Load() {
				b.ackSeen.Store(true)
			}
		}
		if cn.sampled {
			b.measure(cn, m, now)
		}
	case wsclient.Connected:
		cn.lastSeq.Store(m.Seq) // the connection receives every event after it
	case wsclient.Error:
		key := m.Code
		if key == "" {
			key = m.Message
		}
		b.mu.Lock()
		countCapped(b.errorsBy, key)
		b.mu.Unlock()
		if m.ID != "" && strings.HasPrefix(m.ID, cn.idPrefix) {
			cn.refused.Add(1)
		}
	}
}

// measure records the two latencies of one delivery to a sampled client.
func (b *bench) measure(cn *benchConn, m wsclient.PixelUpdated, now time.Time) {
	if g := b.geom.Load(); g != nil {
		if n, ok := g.writeOf(m.X, m.Y, m.Color); ok {
			if sent, ok := b.ring.lookup(n); ok {
				b.e2e.Record(cn.no, now.Sub(b.epoch)-sent)
			}
		}
	}
	if m.Timestamp > 0 {
		b.fanOut.Record(cn.no, time.Duration((float64(now.UnixMicro())/1000-m.Timestamp)*float64(time.Millisecond)))
	}
}

// sendLoop paces one slot's writes: one per interval from first until end.
// A client that falls behind skips the writes it missed instead of bursting,
// so the offered load stays what was asked and never trips the burst limit.
func (b *bench) sendLoop(ctx context.Context, s *slot, first, end time.Time, interval time.Duration) {
	if !first.Before(end) {
		return
	}
	next := first
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		now := time.Now()
		if !now.Before(end) {
			return
		}
		if late := now.Sub(next); late > interval {
			missed := late / interval
			b.skipped.Add(uint64(missed))
			next = next.Add(missed * interval)
		}
		b.send(s)
		next = next.Add(interval)
		if !next.Before(end) {
			return
		}
		t.Reset(time.Until(next))
	}
}

func (b *bench) send(s *slot) {
	cn, g := s.cur.Load(), b.geom.Load()
	if cn == nil || g == nil {
		b.skipped.Add(1)
		return
	}
	n := g.number(b.writeNo.Add(1) - 1)
	x, y, c := g.pixelFor(n)
	b.ring.store(n, time.Since(b.epoch))
	cn.sent.Add(1) // before the write: the echo may beat PlacePixel's return
	if err := cn.c.PlacePixel(x, y, c.String(), cn.idPrefix+strconv.FormatUint(n, 36)); err != nil {
		cn.sent.Add(^uint64(0))
		b.sendErrors.Add(1)
		return
	}
	b.sent.Add(1)
}

func (b *bench) churnLoop(ctx context.Context, slots []*slot, end time.Time) {
	every := time.Duration(float64(time.Second) / b.cfg.Churn)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if !time.Now().Before(end) {
			return
		}
		s := slots[rand.IntN(len(slots))]
		select {
		case s.churn <- struct{}{}:
		default: // that slot is already being churned
		}
	}
}

// drain waits for in-flight writes and deliveries to settle.
func (b *bench) drain(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if b.settled() {
			return
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

// settled reports whether every open connection has had its writes
// answered (when the server echoes ids at all) and has seen the same last
// seq.
func (b *bench) settled() bool {
	acks := b.ackSeen.Load()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lo, hi uint64
	first := true
	for cn := range b.live {
		if acks && cn.unanswered() > 0 {
			return false
		}
		s := cn.lastSeq.Load()
		if first {
			lo, hi, first = s, s, false
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	return lo == hi
}

func (b *bench) totals() connTotals {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.folded
	for cn := range b.live {
		t.add(cn)
	}
	for _, cn := range b.finals {
		t.add(cn)
	}
	return t
}

func (b *bench) openConns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.live)
}

func (b *bench) fill(res *Result, sampled int, steadyDeliveries uint64, steadyFor time.Duration) {
	cfg := b.cfg
	res.Config = ConfigSummary{Clients: cfg.Clients, Rate: cfg.Rate, DurationSeconds: cfg.Duration.Seconds(), Ramp: cfg.Ramp,
		Churn: cfg.Churn, Sample: cfg.Sample.String(), SampledClients: sampled, V2: cfg.V2}
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.folded
	res.Connections = ConnStats{
		Attempts: b.attempts.Load(), Succeeded: b.succeeded.Load(), Failed: b.failed.Load(),
		PeakOpen: b.peakOpen, Churned: b.churned.Load(), Dropped: b.dropped.Load(),
		ConnectTime: summary(&b.connectTime), Failures: b.failures, DropCodes: b.dropCodes,
	}
	if a := res.Connections.Attempts; a > 0 {
		res.Connections.SuccessRate = float64(res.Connections.Succeeded) / float64(a)
	}
	sent := b.sent.Load()
	res.Writes = WriteStats{Sent: sent, SendErrors: b.sendErrors.Load(), Skipped: b.skipped.Load(), Acked: t.acked, Refused: t.refused}
	if s := steadyFor.Seconds(); s > 0 {
		res.Writes.SentPerSecond = float64(sent) / s
		res.Deliveries.PerSecond = float64(steadyDeliveries) / s
	}
	if b.ackSeen.Load() {
		res.Writes.Unanswered = t.unanswered
	}
	res.Deliveries.Total = t.delivered
	res.Deliveries.Missing = t.missing
	res.Deliveries.OutOfOrder = t.outOfOrder
	res.Deliveries.WithoutSeq = t.noSeq
	res.Deliveries.ClientsGaps = b.gappy
	if t.inOrder+t.missing > 0 {
		res.Deliveries.Completeness = float64(t.inOrder) / float64(t.inOrder+t.missing)
	}
	res.ErrorsByCode = b.errorsBy
	res.Latency.EndToEnd = summary(b.e2e.Merged())
	res.Latency.FanOut = summary(b.fanOut.Merged())
	if !b.ackSeen.Load() && sent > 0 {
		res.Warnings = append(res.Warnings, "no write id came back: the server does not echo ids, so acks are not counted")
	}
	if b.sizeMismatch.Load() {
		res.Warnings = append(res.Warnings, "the servers reported different canvas sizes: they are not one canvas, so completeness and latency are unreliable")
	}
	if t.noSeq > 0 {
		res.Warnings = append(res.Warnings, "some deliveries carried no seq: completeness covers only those that did")
	}
}

// countCapped increments m[key], folding new keys into "other" once there
// are many, so a stream of distinct error texts cannot grow it unbounded.
func countCapped(m map[string]uint64, key string) {
	if _, ok := m[key]; !ok && len(m) >= 32 {
		key = "other"
	}
	m[key]++
}

var httpStatus = regexp.MustCompile(`HTTP \d{3}`)

// failureReason names a dial error by kind, without the addresses and
// ports that would make every failure unique.
func failureReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port available"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	}
	if s := httpStatus.FindString(err.Error()); s != "" {
		return s
	}
	if strings.Contains(err.Error(), "not connected") {
		return "no connected message"
	}
	return "other"
}

// startProgress prints a line every cfg.Progress until the returned stop
// is called.
func (b *bench) startProgress(w io.Writer) (stop func()) {
	if b.cfg.Progress <= 0 || w == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(b.cfg.Progress)
		defer t.Stop()
		start, prevAt := time.Now(), time.Now()
		prev, prevSent := b.totals(), b.sent.Load()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			now, cur, sent := time.Now(), b.totals(), b.sent.Load()
			secs := now.Sub(prevAt).Seconds()
			e2e := b.e2e.Merged()
			b.mu.Lock()
			var errs uint64
			for _, n := range b.errorsBy {
				errs += n
			}
			b.mu.Unlock()
			phase, _ := b.phase.Load().(string)
			fmt.Fprintf(w, "%6.1fs %-6s open %d/%d  sent %.0f/s  delivered %.0f/s  missing %d  errors %d  e2e p50 %.1fms p99 %.1fms\n",
				now.Sub(start).Seconds(), phase, b.openConns(), b.cfg.Clients,
				float64(sent-prevSent)/secs, float64(cur.delivered-prev.delivered)/secs, cur.missing, errs,
				ms(e2e.Quantile(0.5)), ms(e2e.Quantile(0.99)))
			prev, prevSent, prevAt = cur, sent, now
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-finished
		})
	}
}
