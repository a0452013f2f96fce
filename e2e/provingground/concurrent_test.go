package provingground

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// restWriters is how many REST clients write every target pixel in every
// round alongside the WebSocket clients.
const restWriters = 2

// contestWrite is one write to a contested pixel and what became of it.
type contestWrite struct {
	source string // client name or "rest-N"
	round  int
	x, y   int
	color  string
	seq    uint64 // 0 until confirmed
}

// contestClient is one WebSocket writer and everything it received.
type contestClient struct {
	name string
	r    *wsclient.Resilient

	mu       sync.Mutex
	received map[uint64]wsclient.PixelUpdated // by seq
	acked    map[string]uint64                // write id -> seq
	errors   map[string]int
}

func (c *contestClient) onMessage(m wsclient.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m := m.(type) {
	case wsclient.PixelUpdated:
		c.received[m.Seq] = m
		if m.ID != "" {
			c.acked[m.ID] = m.Seq
		}
	case wsclient.Error:
		c.errors[m.Code]++
	}
}

func (c *contestClient) ackedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.acked)
}

// putPixel is PUT /api/pixel; it returns the write's seq.
func putPixel(apiURL string, x, y int, color string) (uint64, error) {
	body := fmt.Sprintf(`{"x":%d,"y":%d,"color":%q}`, x, y, color)
	req, err := http.NewRequest(http.MethodPut, apiURL+"/api/pixel", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("PUT /api/pixel: HTTP %d %s", resp.StatusCode, raw)
	}
	var out struct {
		Success bool
		Seq     uint64
	}
	if err := json.Unmarshal(raw, &out); err != nil || !out.Success || out.Seq == 0 {
		return 0, fmt.Errorf("PUT /api/pixel: unexpected answer %s (%v)", raw, err)
	}
	return out.Seq, nil
}

// TestConcurrentWrites is suite 4: NUM_CLIENTS clients spread over four
// gateways, plus REST PUT /api/pixel writers, all write the same
// TARGET_PIXELS pixels at the same moment, CONCURRENT_WRITES rounds in a
// row. It proves that the system picks one winner per pixel that everybody
// agrees on: the stored colour of every contested pixel is the write with
// the highest seq, which every client received as its last write to that
// pixel, and every client's final canvas is identical to the others' and to
// GET /api/canvas.
func TestConcurrentWrites(t *testing.T) {
	rep := newReport(t, "Proving ground 4: concurrent writes")
	numClients := intSetting(t, rep, "NUM_CLIENTS", 16)
	targets := intSetting(t, rep, "TARGET_PIXELS", 10)
	rounds := intSetting(t, rep, "CONCURRENT_WRITES", 20)
	if targets > canvasWidth*canvasWidth {
		t.Fatalf("TARGET_PIXELS=%d: the canvas has %d pixels", targets, canvasWidth*canvasWidth)
	}
	if (numClients+restWriters)*targets*rounds > maxWriteNumber {
		t.Fatalf("too many writes to tell apart (at most %d)", maxWriteNumber)
	}
	// Every client bursts all its targets at once, round after round: the
	// limiter is not under test, so it never gets in the way.
	const pixelRate = 100_000
	c := startCluster(t, gatewayCount, pixelRate, pixelRate)
	rep.add("gateways", "%d, clients spread evenly, PIXEL_RATE=PIXEL_BURST=%d; %d REST writers on the api", gatewayCount, pixelRate, restWriters)
	apiURL := c.api.URL("")
	urls := c.wsURLs()

	clients := make([]*contestClient, numClients)
	t.Cleanup(func() {
		for _, cl := range clients {
			if cl != nil && cl.r != nil {
				_ = cl.r.Close()
			}
		}
	})
	for i := range clients {
		cl := &contestClient{name: fmt.Sprintf("writer-%03d", i), received: map[uint64]wsclient.PixelUpdated{},
			acked: map[string]uint64{}, errors: map[string]int{}}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		r, err := wsclient.NewResilient(ctx, urls[i%len(urls)], wsclient.ResilientOptions{
			Options: wsclient.Options{Username: cl.name}, APIURL: apiURL, OnMessage: cl.onMessage,
		})
		cancel()
		if err != nil {
			t.Fatalf("client %s: %v", cl.name, err)
		}
		cl.r = r
		clients[i] = cl
	}

	// writes[id] for every write; a WebSocket write's id is its map key,
	// sent with it; a REST write gets its seq from the response.
	var mu sync.Mutex
	writes := map[string]*contestWrite{}
	var nextWrite atomic.Int64
	newWrite := func(source string, round, target int) (string, *contestWrite) {
		n := int(nextWrite.Add(1))
		x, y := writePixel(target, canvasWidth*canvasWidth)
		w := &contestWrite{source: source, round: round, x: x, y: y, color: writeColor(n)}
		id := fmt.Sprintf("w%d", n)
		mu.Lock()
		writes[id] = w
		mu.Unlock()
		return id, w
	}
	var roundTimes []time.Duration
	var writeErrs []error
	for round := range rounds {
		release := make(chan struct{})
		var wg sync.WaitGroup
		for i, cl := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				// Each client starts at another pixel, so the pixels see
				// their writers in different orders.
				for k := range targets {
					id, w := newWrite(cl.name, round, (i+k)%targets)
					if err := cl.r.PlacePixel(w.x, w.y, w.color, id); err != nil {
						mu.Lock()
						writeErrs = append(writeErrs, fmt.Errorf("%s: %w", cl.name, err))
						mu.Unlock()
					}
				}
			}()
		}
		// One request per REST writer and pixel, all in flight at once, so
		// they land among the WebSocket writes rather than after them.
		for k := range restWriters {
			for p := range targets {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-release
					_, w := newWrite(fmt.Sprintf("rest-%d", k), round, p)
					seq, err := putPixel(apiURL, w.x, w.y, w.color)
					mu.Lock()
					if err != nil {
						writeErrs = append(writeErrs, err)
					} else {
						w.seq = seq
					}
					mu.Unlock()
				}()
			}
		}
		start := time.Now()
		close(release)
		wg.Wait()
		err := waitfor.Poll(15*time.Second, func() error {
			for _, cl := range clients {
				if n := cl.ackedCount(); n < (round+1)*targets {
					return fmt.Errorf("round %d: %s has %d of %d writes confirmed", round, cl.name, n, (round+1)*targets)
				}
			}
			return nil
		})
		roundTimes = append(roundTimes, time.Since(start))
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(writeErrs) > 0 {
		t.Fatalf("%d writes failed, first: %v", len(writeErrs), writeErrs[0])
	}
	for _, cl := range clients {
		cl.mu.Lock()
		for id, seq := range cl.acked {
			writes[id].seq = seq
		}
		cl.mu.Unlock()
	}

	// The store's answer, and everybody caught up with it.
	var canvas apiCanvas
	if err := getJSON(apiURL+"/api/canvas", &canvas); err != nil {
		t.Fatal(err)
	}
	for _, cl := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := cl.r.WaitSeq(ctx, canvas.Seq)
		cancel()
		if err != nil {
			t.Fatalf("client %s: %v", cl.name, err)
		}
	}

	// The winner of each pixel is its confirmed write with the highest seq.
	type pix = [2]int
	winners := map[pix]*contestWrite{}
	bySeq := map[uint64]*contestWrite{}
	for _, w := range writes {
		if w.seq == 0 {
			t.Fatalf("write %s by %s at (%d,%d) was never confirmed", w.color, w.source, w.x, w.y)
		}
		if other, dup := bySeq[w.seq]; dup {
			t.Fatalf("seq %d confirmed to two writes: %+v and %+v", w.seq, *other, *w)
		}
		bySeq[w.seq] = w
		if cur := winners[pix{w.x, w.y}]; cur == nil || w.seq > cur.seq {
			winners[pix{w.x, w.y}] = w
		}
	}
	// Who won each pixel in each round, for the report.
	type roundPix struct {
		round int
		p     pix
	}
	roundWinners := map[roundPix]*contestWrite{}
	for _, w := range writes {
		k := roundPix{w.round, pix{w.x, w.y}}
		if cur := roundWinners[k]; cur == nil || w.seq > cur.seq {
			roundWinners[k] = w
		}
	}
	restWins := 0
	for _, w := range roundWinners {
		if strings.HasPrefix(w.source, "rest-") {
			restWins++
		}
	}
	for p, w := range winners {
		if got := canvas.Pixels[fmt.Sprintf("%d,%d", p[0], p[1])]; got != w.color {
			t.Errorf("pixel (%d,%d): GET /api/canvas has %s, the highest-seq write (seq %d, %s) was %s", p[0], p[1], got, w.seq, w.source, w.color)
		}
		var info apiPixel
		if err := getJSON(apiURL+fmt.Sprintf("/api/pixel/%d/%d", p[0], p[1]), &info); err != nil {
			t.Fatal(err)
		}
		if info.Seq != w.seq || info.Color != w.color {
			t.Errorf("pixel (%d,%d): GET /api/pixel says %s at seq %d, want %s at seq %d", p[0], p[1], info.Color, info.Seq, w.color, w.seq)
		}
	}

	// Every client received every confirmed write as confirmed, and its
	// last write to each contested pixel is the winner.
	reference := apiSnapshot(t, canvas)
	identical := 0
	for _, cl := range clients {
		cl.mu.Lock()
		wrong := 0
		for seq, w := range bySeq {
			m, ok := cl.received[seq]
			if !ok || m.X != w.x || m.Y != w.y || m.Color != w.color {
				wrong++
				if wrong <= 3 {
					t.Errorf("client %s: seq %d received as %+v (present %v), confirmed as %s at (%d,%d)", cl.name, seq, m, ok, w.color, w.x, w.y)
				}
			}
		}
		last := map[pix]wsclient.PixelUpdated{}
		for _, m := range cl.received {
			if cur, ok := last[pix{m.X, m.Y}]; !ok || m.Seq > cur.Seq {
				last[pix{m.X, m.Y}] = m
			}
		}
		for p, w := range winners {
			if m := last[p]; m.Seq != w.seq || m.Color != w.color {
				t.Errorf("client %s: last write to (%d,%d) it received is %s at seq %d, the winner is %s at seq %d", cl.name, p[0], p[1], m.Color, m.Seq, w.color, w.seq)
			}
		}
		errs := measure.FormatCounts(cl.errors, ", ")
		cl.mu.Unlock()
		if errs != "none" {
			t.Errorf("client %s: errors %s", cl.name, errs)
		}
		st := cl.r.Stats()
		if st.Gaps > 0 || st.Duplicates > 0 || len(st.Reconnects) > 0 || len(st.Problems) > 0 {
			t.Errorf("client %s: %d seqs skipped, %d duplicated, %d reconnects, problems %v", cl.name, st.Gaps, st.Duplicates, len(st.Reconnects), st.Problems)
		}
		if snap := cl.r.Snapshot(); snap.Size == reference.Size && bytes.Equal(snap.RGB, reference.RGB) {
			identical++
		} else {
			t.Errorf("client %s: final canvas differs from GET /api/canvas", cl.name)
		}
	}

	wsWrites := rounds * numClients * targets
	restCount := rounds * restWriters * targets
	rep.add("writes", "%d rounds × %d pixels: %d WebSocket + %d REST = %d, all confirmed, seqs unique", rounds, targets, wsWrites, restCount, len(writes))
	rep.add("round time ms", "p50 %s  max %s (release to every WebSocket write confirmed)", ms(percentile(roundTimes, 0.5)), ms(percentile(roundTimes, 1)))
	rep.add("winners", "%d contested pixels × %d rounds: %d won by a WebSocket write, %d by a REST write", len(winners), rounds, len(roundWinners)-restWins, restWins)
	rep.add("agreement", "%d of %d clients identical to GET /api/canvas at seq %d", identical, numClients, canvas.Seq)
	if !t.Failed() {
		rep.add("result", "PASS")
	}
}

// apiSnapshot turns GET /api/canvas into packed RGB for comparison.
func apiSnapshot(t *testing.T, c apiCanvas) domain.Snapshot {
	t.Helper()
	size, err := domain.NewSize(c.Width, c.Height)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pixels) != size.Pixels() {
		t.Fatalf("GET /api/canvas lists %d pixels for a %v canvas", len(c.Pixels), size)
	}
	snap := domain.BlankSnapshot(size)
	snap.Seq = c.Seq
	for y := range size.Height {
		for x := range size.Width {
			col, err := domain.ParseColor(c.Pixels[fmt.Sprintf("%d,%d", x, y)])
			if err != nil {
				t.Fatalf("GET /api/canvas pixel (%d,%d): %v", x, y, err)
			}
			i := 3 * size.Index(x, y)
			snap.RGB[i], snap.RGB[i+1], snap.RGB[i+2] = col.RGB()
		}
	}
	return snap
}
