package provingground

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// churnLifetime is how long a churning client stays: long enough to draw
// and receive, short enough that CHURN_RATE × churnLifetime extra clients
// are open at any time.
const churnLifetime = time.Second

// sendRing is how many recent writes' send times are kept for latency; a
// delivery more than this many writes late is not timed.
const sendRing = 1 << 22

// stressRun is the shared state of one stress run.
type stressRun struct {
	urls     []string
	pps      float64
	interval time.Duration
	stop     chan struct{}
	epoch    time.Time

	nextWrite atomic.Int64
	sendNanos []atomic.Int64 // send time of write n at n % sendRing, ns after epoch
	latency   measure.Sharded

	mu           sync.Mutex
	connectTimes []time.Duration
	attempts     int
	failures     []error
	sendErrors   int
	churners     []*probe
	sentBy       map[*probe]int
	deliveries   atomic.Uint64
}

func (s *stressRun) onPixel(m wsclient.PixelUpdated, at time.Time) {
	s.deliveries.Add(1)
	n, ok := writeOf(m.Color)
	if !ok {
		return
	}
	if sent := s.sendNanos[n%sendRing].Load(); sent > 0 {
		s.latency.Record(uint64(n), at.Sub(s.epoch)-time.Duration(sent))
	}
}

// connect dials one client and accounts for the attempt.
func (s *stressRun) connect(url, name string) (*wsclient.Client, *probe, error) {
	c, p, took, err := dialProbe(url, name, s.onPixel)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if err != nil {
		s.failures = append(s.failures, err)
		return nil, nil, err
	}
	s.connectTimes = append(s.connectTimes, took)
	return c, p, nil
}

// draw sends one write: colour and pixel name the write, the id is its
// number, and the send time is recorded just before the frame goes out.
func (s *stressRun) draw(c *wsclient.Client, p *probe) {
	n := int(s.nextWrite.Add(1))
	if n > maxWriteNumber {
		return
	}
	x, y := writePixel(n, canvasWidth*canvasWidth)
	s.sendNanos[n%sendRing].Store(int64(time.Since(s.epoch)))
	err := c.PlacePixel(x, y, writeColor(n), strconv.Itoa(n))
	s.mu.Lock()
	if err != nil {
		s.sendErrors++
	} else {
		s.sentBy[p]++
	}
	s.mu.Unlock()
}

// churn runs one short-lived client: connect, draw for churnLifetime,
// wait for its own writes to be confirmed, leave.
func (s *stressRun) churn(id int) {
	c, p, err := s.connect(s.urls[id%len(s.urls)], "churn-"+strconv.Itoa(id))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.churners = append(s.churners, p)
	s.mu.Unlock()
	leave := make(chan struct{})
	timer := time.AfterFunc(churnLifetime, func() { close(leave) })
	defer timer.Stop()
	stopOrLeave := make(chan struct{})
	go func() {
		select {
		case <-leave:
		case <-s.stop:
		}
		close(stopOrLeave)
	}()
	pace(stopOrLeave, s.interval, time.Duration(rand.Int64N(int64(s.interval))), func() { s.draw(c, p) })
	// Give the churner's writes a while to be confirmed before it leaves.
	// Unconfirmed ones are not lost from view: the test fails unless every
	// write sent was confirmed, so the outcome is not checked here.
	_ = waitfor.Poll(5*time.Second, func() error {
		s.mu.Lock()
		sent := s.sentBy[p]
		s.mu.Unlock()
		if _, acked, _, _ := p.snapshot(); acked < sent {
			return fmt.Errorf("unconfirmed")
		}
		return nil
	})
	_ = c.Close()
	<-c.Done()
}

// TestStressWithChurn is suite 2: STEADY_STATE_CLIENTS stay connected to
// four gateways (spread evenly) while CHURN_RATE clients a second connect,
// draw for a second and leave; every client draws PIXELS_PER_SECOND for
// TEST_DURATION seconds. It proves that every connection attempt succeeds
// and that no client that stayed connected misses a seq, and it measures
// end-to-end latency (the sender's send time, matched by write number at
// every receiver, on this process's clock), throughput, connection times
// and the gateways' CPU and memory.
func TestStressWithChurn(t *testing.T) {
	rep := newReport(t, "Proving ground 2: stress with churn")
	steady := intSetting(t, rep, "STEADY_STATE_CLIENTS", 100)
	churnRate := floatSetting(t, rep, "CHURN_RATE", 5)
	pps := floatSetting(t, rep, "PIXELS_PER_SECOND", 2)
	duration := secondsSetting(t, rep, "TEST_DURATION", 15)
	pixelRate := int(math.Ceil(2*pps)) + 20
	c := startCluster(t, gatewayCount, pixelRate, 2*pixelRate)
	rep.add("gateways", "%d, clients spread evenly, PIXEL_RATE=%d PIXEL_BURST=%d", gatewayCount, pixelRate, 2*pixelRate)

	s := &stressRun{
		urls: c.wsURLs(), pps: pps, interval: time.Duration(float64(time.Second) / pps),
		stop: make(chan struct{}), epoch: time.Now(),
		sendNanos: make([]atomic.Int64, sendRing), sentBy: map[*probe]int{},
	}
	clients := make([]*wsclient.Client, steady)
	probes := make([]*probe, steady)
	t.Cleanup(func() { closeAll(clients) })
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	rampStart := time.Now()
	for i := range steady {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			clients[i], probes[i], _ = s.connect(s.urls[i%len(s.urls)], "steady-"+strconv.Itoa(i))
		}()
	}
	wg.Wait()
	ramp := time.Since(rampStart)
	if len(s.failures) > 0 {
		t.Fatalf("%d of %d steady connections failed, first: %v", len(s.failures), steady, s.failures[0])
	}

	before := make([]processSample, len(c.gateways))
	for i, g := range c.gateways {
		var err error
		if before[i], err = scrapeProcess(g.URL("/metrics")); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	deliveriesBefore := s.deliveries.Load()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			offset := s.interval * time.Duration(i) / time.Duration(steady)
			pace(s.stop, s.interval, offset, func() { s.draw(clients[i], probes[i]) })
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		id := 0
		pace(s.stop, time.Duration(float64(time.Second)/churnRate), 0, func() {
			wg.Add(1)
			go func(id int) { defer wg.Done(); s.churn(id) }(id)
			id++
		})
	}()
	time.Sleep(duration) // the load runs for duration: a schedule, not a wait
	close(s.stop)
	sendingTime := time.Since(start)
	deliveriesDuring := s.deliveries.Load() - deliveriesBefore
	wg.Wait()

	// Drain: every steady client has its writes confirmed and reaches the
	// same last seq, which is the store's.
	var canvas apiCanvas
	drainErr := waitfor.Poll(20*time.Second, func() error {
		if err := getJSON(c.api.URL("/api/canvas"), &canvas); err != nil {
			return err
		}
		for i, p := range probes {
			seqs, acked, _, closed := p.snapshot()
			s.mu.Lock()
			sent := s.sentBy[p]
			s.mu.Unlock()
			if closed != nil {
				return fmt.Errorf("steady client %d was disconnected: %+v", i, *closed)
			}
			if seqs.last() < canvas.Seq || acked < sent {
				return fmt.Errorf("steady client %d at seq %d of %d, %d of %d writes confirmed", i, seqs.last(), canvas.Seq, acked, sent)
			}
		}
		return nil
	})
	wall := time.Since(start)
	after := make([]processSample, len(c.gateways))
	for i, g := range c.gateways {
		var err error
		if after[i], err = scrapeProcess(g.URL("/metrics")); err != nil {
			t.Fatal(err)
		}
	}

	// Figures.
	s.mu.Lock()
	defer s.mu.Unlock()
	written := 0
	for _, n := range s.sentBy {
		written += n
	}
	acked, errs := 0, map[string]int{}
	var steadySeqs, churnSeqs seqTracker // sums
	add := func(into *seqTracker, s seqTracker) {
		into.inOrder += s.inOrder
		into.missing += s.missing
		into.beforeStart += s.beforeStart
		into.outOfOrder += s.outOfOrder
	}
	for i, p := range probes {
		seqs, a, e, _ := p.snapshot()
		acked += a
		mergeCounts(errs, e)
		add(&steadySeqs, seqs)
		if !seqs.clean() {
			t.Errorf("steady client %d: %v", i, &seqs)
		}
	}
	churnDirty := 0
	for _, p := range s.churners {
		seqs, a, e, _ := p.snapshot()
		acked += a
		mergeCounts(errs, e)
		add(&churnSeqs, seqs)
		if !seqs.clean() {
			churnDirty++
		}
	}
	succeeded := s.attempts - len(s.failures)
	rep.add("connections", "%d/%d attempts succeeded (%.2f%%): %d steady in %s, %d churned",
		succeeded, s.attempts, 100*float64(succeeded)/float64(max(s.attempts, 1)), steady, ramp.Round(time.Millisecond), len(s.churners))
	rep.add("connect time ms", "p50 %s  p95 %s  p99 %s  max %s", ms(percentile(s.connectTimes, 0.5)),
		ms(percentile(s.connectTimes, 0.95)), ms(percentile(s.connectTimes, 0.99)), ms(percentile(s.connectTimes, 1)))
	rep.add("writes", "%d sent, %d confirmed, %d send errors, errors by code: %s", written, acked, s.sendErrors, measure.FormatCounts(errs, ", "))
	pixelsIn := float64(acked) / sendingTime.Seconds()
	deliveriesOut := float64(deliveriesDuring) / sendingTime.Seconds()
	rep.add("pixels/s in", "%.1f", pixelsIn)
	rep.add("deliveries/s out", "%.0f (while sending)", deliveriesOut)
	rep.add("broadcast multiplier", "%.1f deliveries per write", float64(s.deliveries.Load())/float64(max(acked, 1)))
	lat := s.latency.Merged()
	rep.add("latency ms (send→receive)", "p50 %s  p95 %s  p99 %s  max %s  (%d deliveries timed)",
		ms(lat.Quantile(0.5)), ms(lat.Quantile(0.95)), ms(lat.Quantile(0.99)), ms(lat.Max()), lat.Count())
	rep.add("completeness, steady", "%v", &steadySeqs)
	rep.add("completeness, churned", "%v (while open)", &churnSeqs)
	for i := range c.gateways {
		cpu := (after[i].CPUSeconds - before[i].CPUSeconds) / wall.Seconds()
		rep.add(fmt.Sprintf("gateway %d", i), "CPU %.1f%% of a core, RSS %.1f MiB", 100*cpu, after[i].RSSBytes/(1<<20))
	}

	if len(s.failures) > 0 {
		t.Errorf("%d of %d connection attempts failed, first: %v", len(s.failures), s.attempts, s.failures[0])
	}
	if drainErr != nil {
		t.Error(drainErr)
	}
	if churnDirty > 0 {
		t.Errorf("%d of %d churned clients, while open: %v", churnDirty, len(s.churners), &churnSeqs)
	}
	if s.sendErrors > 0 || len(errs) > 0 || acked != written {
		t.Errorf("%d writes sent, %d confirmed, %d send errors, server errors: %s", written, acked, s.sendErrors, measure.FormatCounts(errs, ", "))
	}
	if s.nextWrite.Load() > maxWriteNumber {
		t.Errorf("more than %d writes: they can no longer be told apart; shorten the run", maxWriteNumber)
	}
	if !t.Failed() {
		rep.add("result", "PASS")
	}
}
