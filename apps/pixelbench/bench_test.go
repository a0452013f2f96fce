package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

func startTestBaseline(t *testing.T, w, h int, batched bool) *baseline {
	t.Helper()
	b, err := startBaseline("127.0.0.1:0", domain.Size{Width: w, Height: h}, batched)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func runBench(t *testing.T, cfg Config) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var progress bytes.Buffer
	res, err := Run(ctx, cfg, &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	var table bytes.Buffer
	printTable(&table, res)
	t.Logf("results:\n%s", table.String())
	return res
}

func TestBaselineRunDeliversEverything(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(map[bool]string{true: "batched", false: "frame"}[batched], func(t *testing.T) { testBaselineRun(t, batched) })
	}
}

func testBaselineRun(t *testing.T, batched bool) {
	b := startTestBaseline(t, 50, 50, batched)
	res := runBench(t, Config{
		URLs: []string{b.URL()}, Clients: 50, Rate: 200, Duration: 2 * time.Second, Ramp: 1000,
		Sample: Sample{Fraction: 0.2}, Drain: 10 * time.Second, ConnectTimeout: 5 * time.Second, Progress: 500 * time.Millisecond,
	})
	c, w, d := res.Connections, res.Writes, res.Deliveries
	if c.Attempts != 50 || c.Succeeded != 50 || c.Failed != 0 || c.SuccessRate != 1 || c.PeakOpen != 50 || c.Dropped != 0 {
		t.Errorf("connections %+v", c)
	}
	if c.ConnectTime.Count != 50 || c.ConnectTime.P50Ms <= 0 || c.ConnectTime.MaxMs < c.ConnectTime.P99Ms {
		t.Errorf("connect time %+v", c.ConnectTime)
	}
	// 200/s for 2 s; a loaded machine may skip a few, never send more.
	if w.Sent < 300 || w.Sent > 400 || w.SendErrors != 0 {
		t.Errorf("writes %+v", w)
	}
	if w.Acked != w.Sent || w.Refused != 0 || w.Unanswered != 0 {
		t.Errorf("not every write came back: %+v", w)
	}
	// Every client was connected before the first write: each gets them all.
	if d.Total != 50*w.Sent || d.Missing != 0 || d.OutOfOrder != 0 || d.WithoutSeq != 0 || d.Completeness != 1 || d.ClientsGaps != 0 {
		t.Errorf("deliveries %+v for %d writes", d, w.Sent)
	}
	if d.PerSecond < 0.7*50*200 || d.PerSecond > 1.1*50*200 {
		t.Errorf("%.0f deliveries/s, want about %d", d.PerSecond, 50*200)
	}
	if len(res.ErrorsByCode) != 0 {
		t.Errorf("errors %v", res.ErrorsByCode)
	}
	if res.Config.SampledClients != 10 {
		t.Errorf("%d sampled clients", res.Config.SampledClients)
	}
	// Each sampled client times every delivery it receives.
	for name, l := range map[string]LatencySummary{"e2e": res.Latency.EndToEnd, "fan-out": res.Latency.FanOut} {
		if l.Count != 10*w.Sent {
			t.Errorf("%s: %d samples, want %d", name, l.Count, 10*w.Sent)
		}
		if !(0 < l.P50Ms && l.P50Ms <= l.P95Ms && l.P95Ms <= l.P99Ms && l.P99Ms <= l.MaxMs && l.MaxMs < 5000) {
			t.Errorf("%s: implausible %+v", name, l)
		}
	}
	if res.Interrupted || len(res.Warnings) != 0 {
		t.Errorf("interrupted %v warnings %v", res.Interrupted, res.Warnings)
	}
}

func TestChurnOverV2StaysComplete(t *testing.T) {
	b := startTestBaseline(t, 16, 16, true)
	res := runBench(t, Config{
		URLs: []string{b.URL(), b.URL()}, Clients: 20, Rate: 100, Duration: 1500 * time.Millisecond, Ramp: 1000, Churn: 10,
		Sample: Sample{Count: 5}, V2: true, Drain: 10 * time.Second, ConnectTimeout: 5 * time.Second,
	})
	c, d := res.Connections, res.Deliveries
	if c.Churned < 5 || c.Attempts != 20+c.Churned || c.Succeeded != c.Attempts || c.Dropped != 0 {
		t.Errorf("connections %+v", c)
	}
	if d.Missing != 0 || d.OutOfOrder != 0 || d.Completeness != 1 || d.Total == 0 {
		t.Errorf("deliveries %+v", d)
	}
	if res.Writes.Unanswered != 0 || res.Writes.Acked == 0 {
		t.Errorf("writes %+v", res.Writes)
	}
	if res.Latency.EndToEnd.Count == 0 {
		t.Error("no latency samples")
	}
}

func TestUnreachableServerFailsFastAndIsCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String() + "/ws"
	_ = ln.Close() // nothing listens there now
	start := time.Now()
	res := runBench(t, Config{URLs: []string{url}, Clients: 3, Rate: 10, Duration: 300 * time.Millisecond,
		Ramp: 100, Drain: time.Second, ConnectTimeout: time.Second})
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	c := res.Connections
	if c.Succeeded != 0 || c.Failed < 3 || c.Failed != c.Attempts || c.SuccessRate != 0 || c.Failures["connection refused"] != c.Failed {
		t.Errorf("connections %+v", c)
	}
	if res.Writes.Sent != 0 || res.Writes.Skipped == 0 {
		t.Errorf("writes %+v", res.Writes)
	}
}

func TestRunFromTheCommandLine(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-baseline", "-width", "8", "-height", "8", "-clients", "5", "-rate", "20",
		"-duration", "500ms", "-sample", "100%", "-progress", "0", "-json", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"(baseline)", "completeness     100.0000%", "latency e2e", "5/5 succeeded"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Baseline || res.Config.SampledClients != 5 || res.Deliveries.Total != 5*res.Writes.Sent || res.Writes.Sent == 0 {
		t.Errorf("json %+v", res)
	}
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-url", "ws://a/ws,ws://b/ws", "-url", "ws://c/", "-clients", "30", "-rate", "30", "-sample", "7"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.cfg.URLs, []string{"ws://a/ws", "ws://b/ws", "ws://c/"}) || o.cfg.Sample != (Sample{Count: 7}) {
		t.Errorf("%+v", o.cfg)
	}
	if o, err := parseFlags(nil, &bytes.Buffer{}); err != nil || !slices.Equal(o.cfg.URLs, []string{defaultURL}) {
		t.Errorf("defaults: %v %v", o.cfg.URLs, err)
	}
	for _, bad := range [][]string{
		{"-clients", "0"}, {"-clients", "20001"}, {"-duration", "11m"}, {"-rate", "-1"}, {"-ramp", "0"},
		{"-sample", "1.5"}, {"-sample", "x"}, {"-url", "http://a/"}, {"-baseline", "-url", "ws://a/"},
		{"-baseline", "-width", "0"}, {"stray"}, {"-baseline-writes", "some", "-baseline"},
		{"-serve-baseline", "0.0.0.0:9000"}, {"-serve-baseline", "nowhere"}, {"-serve-baseline", "127.0.0.1:9000", "-url", "ws://a/"},
	} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &bytes.Buffer{}, &stderr); code != 0 || !strings.Contains(stderr.String(), "-churn") {
		t.Errorf("-h: exit %d, %q", code, stderr.String())
	}
}

func TestRatePerClientWarning(t *testing.T) {
	cfg := Config{URLs: []string{"ws://x/"}, Clients: 10, Rate: 201, Duration: time.Second, Ramp: 1, ConnectTimeout: time.Second}
	w, err := cfg.check()
	if err != nil || len(w) != 1 || !strings.Contains(w[0], "20/s per connection") {
		t.Fatalf("%v %v", w, err)
	}
	cfg.Rate = 200
	if w, _ := cfg.check(); len(w) != 0 {
		t.Fatalf("warned at exactly 20/s: %v", w)
	}
}

func TestSample(t *testing.T) {
	cases := []struct {
		in   string
		want Sample
		of   int // of 50 clients
	}{
		{"0.1", Sample{Fraction: 0.1}, 5}, {"10%", Sample{Fraction: 0.1}, 5}, {"1.0", Sample{Fraction: 1}, 50},
		{"1", Sample{Count: 1}, 1}, {"80", Sample{Count: 80}, 50}, {"0", Sample{}, 0}, {"0.001", Sample{Fraction: 0.001}, 1},
	}
	for _, c := range cases {
		got, err := parseSample(c.in)
		if err != nil || got != c.want || got.of(50) != c.of {
			t.Errorf("%q: %+v %v, of(50)=%d; want %+v, %d", c.in, got, err, got.of(50), c.want, c.of)
		}
	}
}

func TestGeometryIdentifiesEveryWrite(t *testing.T) {
	if colorMul*colorInv&0xFFFFFF != 1 {
		t.Fatalf("colorInv %x is not the inverse of %x", colorInv, colorMul)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []domain.Size{{Width: 50, Height: 50}, {Width: 1, Height: 1}, {Width: 4096, Height: 3}, {Width: 7, Height: 900}} {
		g := *newGeometry(size.Width, size.Height)
		if g.number(0) != g.base || g.number(g.limit()) != g.base {
			t.Fatalf("%v: numbering does not wrap at %d", size, g.limit())
		}
		for range 10000 {
			n := rng.Uint64N(g.limit())
			x, y, c := g.pixelFor(n)
			if !size.Contains(x, y) {
				t.Fatalf("%v: write %d at (%d,%d)", size, n, x, y)
			}
			back, ok := g.writeOf(x, y, c.String())
			if !ok || back != n {
				t.Fatalf("%v: write %d came back as %d (%v)", size, n, back, ok)
			}
		}
	}
	g := *newGeometry(50, 50)
	for _, bad := range []struct {
		x, y  int
		color string
	}{{-1, 0, "#000000"}, {50, 0, "#000000"}, {0, 50, "#000000"}, {0, 0, "red"}} {
		if _, ok := g.writeOf(bad.x, bad.y, bad.color); ok {
			t.Errorf("%+v identified", bad)
		}
	}
}

func TestSendRing(t *testing.T) {
	r := newSendRing()
	r.store(5, time.Second)
	if at, ok := r.lookup(5); !ok || at != time.Second {
		t.Fatalf("%v %v", at, ok)
	}
	if _, ok := r.lookup(6); ok {
		t.Fatal("unsent write found")
	}
	r.store(5+ringSize, 2*time.Second) // the same slot, a later write
	if _, ok := r.lookup(5); ok {
		t.Fatal("overwritten write still found")
	}
}

func TestBaselineBatchesForV2AndStampsSeq(t *testing.T) {
	for _, batched := range []bool{true, false} {
		t.Run(map[bool]string{true: "batched", false: "frame"}[batched], func(t *testing.T) { testBaselineV2(t, batched) })
	}
}

func testBaselineV2(t *testing.T, batched bool) {
	b := startTestBaseline(t, 8, 8, batched)
	d := websocket.Dialer{Subprotocols: []string{"pixel.v2"}}
	ws, resp, err := d.Dial(b.URL(), nil)
	if resp != nil {
		_ = resp.Body.Close() // empty after an upgrade; an error page otherwise
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ws.Close() }()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, first, err := ws.ReadMessage()
	if err != nil || !strings.Contains(string(first), `"type":"connected"`) || !strings.Contains(string(first), `"width":8`) {
		t.Fatalf("first frame %s %v", first, err)
	}
	// Three writes in one go: the broadcaster queues them faster than one
	// frame goes out, or at worst sends them one by one; either way they
	// arrive in order, stamped 1, 2, 3.
	for i := range 3 {
		msg := `{"type":"pixel_update","x":` + string(rune('0'+i)) + `,"y":0,"color":"#00FF00","id":"k"}`
		if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	var got []wsclient.Message
	for len(got) < 3 {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		wsclient.DecodeFrame(data, func(m wsclient.Message) { got = append(got, m) })
	}
	for i, m := range got {
		p, ok := m.(wsclient.PixelUpdated)
		if !ok || p.Seq != uint64(i+1) || p.X != i || p.Color != "#00FF00" || p.ID != "k" || p.Timestamp < float64(time.Now().Add(-time.Minute).UnixMilli()) {
			t.Fatalf("event %d: %#v", i, m)
		}
	}

	// A batch as the writer builds it decodes into its events.
	var conn *baseConn
	b.mu.Lock()
	for c := range b.conns {
		conn = c
	}
	b.mu.Unlock()
	conn.mu.Lock()
	conn.queue = append(conn.queue, []byte(`{"type":"pong","timestamp":1}`), []byte(`{"type":"pong","timestamp":2}`))
	conn.mu.Unlock()
	conn.notify <- struct{}{}
	_, data, err := ws.ReadMessage()
	if err != nil || !strings.HasPrefix(string(data), `{"type":"batch","events":[`) {
		t.Fatalf("batch frame %s %v", data, err)
	}
	var pongs []wsclient.Message
	wsclient.DecodeFrame(data, func(m wsclient.Message) { pongs = append(pongs, m) })
	if len(pongs) != 2 || pongs[1] != (wsclient.Pong{Timestamp: 2}) {
		t.Fatalf("batch decoded to %#v", pongs)
	}
}

// Batched writes keep v1 frames apart: everything queued goes out in one
// write, each message still its own frame.
func TestBaselineBatchedWritesKeepV1FramesApart(t *testing.T) {
	b := startTestBaseline(t, 8, 8, true)
	ws, resp, err := websocket.DefaultDialer.Dial(b.URL(), nil)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ws.Close() }()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil { // connected
		t.Fatal(err)
	}
	var conn *baseConn
	b.mu.Lock()
	for c := range b.conns {
		conn = c
	}
	b.mu.Unlock()
	big := `{"type":"pong","pad":"` + strings.Repeat("x", 70000) + `","timestamp":3}` // a 64-bit length header
	conn.mu.Lock()
	conn.queue = append(conn.queue, []byte(`{"type":"pong","timestamp":1}`), []byte(`{"type":"pong","timestamp":2}`), []byte(big))
	conn.mu.Unlock()
	conn.notify <- struct{}{}
	for i, want := range []string{`{"type":"pong","timestamp":1}`, `{"type":"pong","timestamp":2}`, big} {
		_, data, err := ws.ReadMessage()
		if err != nil || string(data) != want {
			t.Fatalf("frame %d: %.60s... %v", i, data, err)
		}
	}
}
