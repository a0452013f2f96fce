package provingground

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// Chaos timing that the old scripts had no variable for.
const (
	// gatewayDownFor is how long a killed gateway stays down before it is
	// started again: long enough that clients redial while it is gone and
	// the balancer has to route around it.
	gatewayDownFor = 500 * time.Millisecond
	// redisDownFor is the Redis outage.
	redisDownFor = 3 * time.Second
	// drawAfterChaos keeps clients drawing after Redis is back, so the
	// check covers writes made after the recovery too.
	drawAfterChaos = 2 * time.Second
	// chaosRegion is how many pixels the chaos writes share (the first rows
	// of the canvas): small, so that writes overwrite each other and the
	// lost-update check meets both cases, final and overwritten.
	chaosRegion = 4 * canvasWidth
)

// ackedWrite is a write the server confirmed to its sender.
type ackedWrite struct {
	x, y  int
	color string
	seq   uint64
}

// chaosClient is one resilient client and what it saw.
type chaosClient struct {
	name string
	r    *wsclient.Resilient

	mu       sync.Mutex
	sent     map[string]bool // write ids sent
	acked    map[string]ackedWrite
	refused  map[string]string // write id -> error code
	errors   map[string]int    // by code
	notConn  int               // writes not sent: between a drop and the redial
	sendFail int               // writes whose frame could not be written
}

func (c *chaosClient) onMessage(m wsclient.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m := m.(type) {
	case wsclient.PixelUpdated:
		if m.ID != "" {
			c.acked[m.ID] = ackedWrite{x: m.X, y: m.Y, color: m.Color, seq: m.Seq}
		}
	case wsclient.Error:
		c.errors[m.Code]++
		if m.ID != "" {
			c.refused[m.ID] = m.Code
		}
	}
}

func (c *chaosClient) draw(n int) {
	id := fmt.Sprintf("%s-%d", c.name, n)
	x, y := writePixel(n, chaosRegion)
	err := c.r.PlacePixel(x, y, writeColor(n), id)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case errors.Is(err, wsclient.ErrNotConnected):
		c.notConn++
	case err != nil:
		c.sendFail++
	default:
		c.sent[id] = true
	}
}

// TestChaos is suite 3: NUM_CLIENTS resilient clients connect through a
// round-robin load balancer to four gateways and keep drawing
// (PIXELS_PER_SECOND each) while every CHAOS_INTERVAL seconds, for
// TEST_DURATION seconds, one gateway is SIGKILLed and started again on the
// same port; then Redis is stopped for a few seconds and started again
// (same container, data intact), and later SIGKILLed and started again. It proves that every dropped client
// reconnects, that every client's canvas ends identical to the server's
// snapshot (resume lost nothing), and that no write the server confirmed
// is missing from the final canvas. wsclient.Resilient redials one URL, so
// the balancer is what moves a client off a dead gateway: it skips a
// backend that refuses the connection.
func TestChaos(t *testing.T) {
	rep := newReport(t, "Proving ground 3: chaos")
	numClients := intSetting(t, rep, "NUM_CLIENTS", 20)
	duration := secondsSetting(t, rep, "TEST_DURATION", 20)
	interval := secondsSetting(t, rep, "CHAOS_INTERVAL", 5)
	pps := floatSetting(t, rep, "PIXELS_PER_SECOND", 4)
	pixelRate := int(math.Ceil(2*pps)) + 20
	c := startCluster(t, gatewayCount, pixelRate, 2*pixelRate)
	rep.add("gateways", "%d behind a round-robin TCP load balancer that skips refusing backends, PIXEL_RATE=%d PIXEL_BURST=%d",
		gatewayCount, pixelRate, 2*pixelRate)
	lb := startLoadBalancer(t, c.addrs())
	url := "ws://" + lb.Addr() + "/ws"

	clients := make([]*chaosClient, numClients)
	t.Cleanup(func() {
		for _, cl := range clients {
			if cl != nil && cl.r != nil {
				_ = cl.r.Close()
			}
		}
	})
	for i := range clients {
		cl := &chaosClient{name: fmt.Sprintf("chaos-%03d", i), sent: map[string]bool{}, acked: map[string]ackedWrite{},
			refused: map[string]string{}, errors: map[string]int{}}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		r, err := wsclient.NewResilient(ctx, url, wsclient.ResilientOptions{
			Options:   wsclient.Options{Username: cl.name},
			APIURL:    c.api.URL(""),
			OnMessage: cl.onMessage,
		})
		cancel()
		if err != nil {
			t.Fatalf("client %s: %v", cl.name, err)
		}
		cl.r = r
		clients[i] = cl
	}

	// Draw throughout.
	stop := make(chan struct{})
	var drawing sync.WaitGroup
	var nextWrite atomic.Int64
	every := time.Duration(float64(time.Second) / pps)
	for i, cl := range clients {
		drawing.Add(1)
		go func() {
			defer drawing.Done()
			pace(stop, every, every*time.Duration(i)/time.Duration(numClients), func() {
				if n := int(nextWrite.Add(1)); n <= maxWriteNumber {
					cl.draw(n)
				}
			})
		}()
	}
	stopDrawing := sync.OnceFunc(func() { close(stop); drawing.Wait() })
	t.Cleanup(stopDrawing)

	// Chaos: kill and restart the gateways in turn, then Redis. The sleeps
	// below are the schedule (a kill every interval, outages of a set
	// length, drawing on afterwards), not waits for a condition.
	chaosStart := time.Now()
	kills := 0
	for next := interval; next <= duration; next += interval {
		time.Sleep(time.Until(chaosStart.Add(next)))
		c.restartGateway(t, kills%len(c.gateways), gatewayDownFor)
		kills++
	}
	rep.add("gateway kills", "%d (SIGKILL, down %s, restarted on the same port), balancer routed %v, refused %d",
		kills, gatewayDownFor, lb.Routed(), lb.Refused())
	redisDown := func(row, how string, stop func(testing.TB)) {
		start := time.Now()
		stop(t)
		time.Sleep(redisDownFor)
		c.redis.Start(t)
		rep.add(row, "%s for %s (restart included: %s)", how, redisDownFor, time.Since(start).Round(100*time.Millisecond))
		time.Sleep(drawAfterChaos)
	}
	redisDown("Redis outage", "stopped, same container and data,", c.redis.Stop)
	// A crash this time: no clean shutdown, so what comes back is what the
	// append-only file held when the process died.
	redisDown("Redis crash", "SIGKILLed, back from its append-only file, down", c.redis.Kill)
	stopDrawing()

	// Every client back, and caught up with the store.
	for _, cl := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := cl.r.WaitConnected(ctx)
		cancel()
		if err != nil {
			t.Errorf("client %s did not reconnect: %v", cl.name, err)
		}
	}
	var snap domain.Snapshot
	err := waitfor.Poll(30*time.Second, func() error {
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if snap, err = wsclient.FetchSnapshot(ctx, httpClient, c.api.URL("")); err != nil {
			return err
		}
		for _, cl := range clients {
			if cl.r.Seq() < snap.Seq {
				return fmt.Errorf("client %s at seq %d, the store at %d", cl.name, cl.r.Seq(), snap.Seq)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}

	// Canvases identical to the snapshot, pixel for pixel.
	identical := 0
	for _, cl := range clients {
		mine := cl.r.Snapshot()
		if mine.Size != snap.Size || !bytes.Equal(mine.RGB, snap.RGB) {
			diff := 0
			for i := 0; i+2 < len(mine.RGB) && i+2 < len(snap.RGB); i += 3 {
				if !bytes.Equal(mine.RGB[i:i+3], snap.RGB[i:i+3]) {
					diff++
				}
			}
			t.Errorf("client %s: canvas differs from the server's snapshot (seq %d) in %d pixels (client at seq %d)",
				cl.name, snap.Seq, diff, cl.r.Seq())
			continue
		}
		identical++
	}

	// Confirmed writes are in the final canvas or overwritten by later ones.
	pixels := map[[2]int]apiPixel{}
	var sent, acked, refused, notConn, sendFail, finalWins, overwritten, lost int
	errs := map[string]int{}
	for _, cl := range clients {
		cl.mu.Lock()
		sent += len(cl.sent)
		acked += len(cl.acked)
		refused += len(cl.refused)
		notConn += cl.notConn
		sendFail += cl.sendFail
		mergeCounts(errs, cl.errors)
		writes := make([]ackedWrite, 0, len(cl.acked))
		for _, w := range cl.acked {
			writes = append(writes, w)
		}
		cl.mu.Unlock()
		for _, w := range writes {
			at, ok := pixels[[2]int{w.x, w.y}]
			if !ok {
				if err := getJSON(c.api.URL(fmt.Sprintf("/api/pixel/%d/%d", w.x, w.y)), &at); err != nil {
					t.Fatal(err)
				}
				pixels[[2]int{w.x, w.y}] = at
			}
			switch {
			case at.Seq == w.seq && at.Color == w.color:
				finalWins++
			case at.Seq > w.seq:
				overwritten++
			default:
				lost++
				if lost <= 5 {
					t.Errorf("confirmed write lost: %s at (%d,%d) seq %d; the pixel is %s at seq %d", w.color, w.x, w.y, w.seq, at.Color, at.Seq)
				}
			}
		}
	}

	// How the reconnects went.
	var recovery, firstEvent []time.Duration
	var reconnects, unfinished, replayed, reloads, dropped int
	var gaps, dups uint64
	codes := map[string]int{}
	for _, cl := range clients {
		st := cl.r.Stats()
		if len(st.Reconnects) > 0 {
			dropped++
		}
		for _, rc := range st.Reconnects {
			reconnects++
			codes[fmt.Sprint(rc.CloseCode)]++
			if rc.Attempts == 0 || rc.ResumedAfter == 0 {
				unfinished++
				continue
			}
			recovery = append(recovery, rc.ResumedAfter)
			if rc.FirstEventAfter > 0 {
				firstEvent = append(firstEvent, rc.FirstEventAfter)
			}
			replayed += rc.Replayed
			if rc.Reloaded {
				reloads++
			}
		}
		gaps += st.Gaps
		dups += st.Duplicates
		if st.Gaps > 0 || st.Duplicates > 0 {
			t.Errorf("client %s: %d events skipped, %d duplicated", cl.name, st.Gaps, st.Duplicates)
		}
		for _, p := range st.Problems {
			t.Errorf("client %s: %s", cl.name, p)
		}
	}
	rep.add("clients dropped", "%d of %d, %d drops (close codes %s), %d reconnected (%.0f%%)",
		dropped, numClients, reconnects, measure.FormatCounts(codes, ", "), reconnects-unfinished, 100*float64(reconnects-unfinished)/float64(max(reconnects, 1)))
	rep.add("recovery ms (drop→resumed)", "p50 %s  p99 %s  max %s", ms(percentile(recovery, 0.5)), ms(percentile(recovery, 0.99)), ms(percentile(recovery, 1)))
	rep.add("live again ms (drop→next event)", "p50 %s  p99 %s  max %s", ms(percentile(firstEvent, 0.5)), ms(percentile(firstEvent, 0.99)), ms(percentile(firstEvent, 1)))
	rep.add("replayed on resume", "%d events, %d snapshot reloads, %d seqs skipped, %d duplicated", replayed, reloads, gaps, dups)
	rep.add("writes", "%d sent, %d confirmed, %d refused, %d unanswered (connection lost first); %d not sent (no connection), %d failed to send",
		sent, acked, refused, sent-acked-refused, notConn, sendFail)
	rep.add("errors by code", "%s", measure.FormatCounts(errs, ", "))
	rep.add("confirmed writes", "%d final, %d overwritten by a higher seq, %d lost", finalWins, overwritten, lost)
	rep.add("final canvases", "%d of %d identical to the server's snapshot at seq %d", identical, numClients, snap.Seq)

	if unfinished > 0 {
		t.Errorf("%d of %d drops never recovered", unfinished, reconnects)
	}
	if kills > 0 && dropped == 0 {
		t.Error("no client was dropped by the gateway kills: the chaos did not reach the clients")
	}
	if acked == 0 {
		t.Error("no write was confirmed")
	}
	if !t.Failed() {
		rep.add("result", "PASS")
	}
}
