package main

// Abuse and overload, against real processes on Redis: the per-client
// pixel budget holds over reconnects, connections and gateways; the Origin
// check refuses other sites' pages; and a Redis freeze punishes no honest
// client and applies no write it was told failed.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// answers records, by write id, how the server answered each write: "ok"
// for the echo, else the error's code.
type answers struct {
	mu sync.Mutex
	by map[string]string
}

func newAnswers() *answers { return &answers{by: map[string]string{}} }

func (a *answers) handle(m wsclient.Message) {
	var id, what string
	switch v := m.(type) {
	case wsclient.PixelUpdated:
		id, what = v.ID, "ok"
	case wsclient.Error:
		id, what = v.ID, v.Code
	}
	if id == "" {
		return
	}
	a.mu.Lock()
	a.by[id] = what
	a.mu.Unlock()
}

func (a *answers) get(id string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	w, ok := a.by[id]
	return w, ok
}

// count is how many answers were what.
func (a *answers) count(what string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, w := range a.by {
		if w == what {
			n++
		}
	}
	return n
}

// waitAnswered waits until every id up to n (prefix+0 ... prefix+n-1) is
// answered.
func (a *answers) waitAnswered(within time.Duration, prefix string, n int) error {
	return waitfor.Poll(within, func() error {
		for i := range n {
			if _, ok := a.get(prefix + strconv.Itoa(i)); !ok {
				return fmt.Errorf("write %s%d unanswered", prefix, i)
			}
		}
		return nil
	})
}

// dialAs connects with the given X-Forwarded-For (the gateway trusts
// 127.0.0.1 as a proxy: the header names the client) and records answers.
func dialAs(url, forwardedFor string, a *answers) (*wsclient.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return wsclient.Dial(ctx, url, wsclient.Options{Header: http.Header{"X-Forwarded-For": {forwardedFor}}, Handler: a.handle})
}

// canvasSeq is the api's snapshot's seq.
func canvasSeq(t *testing.T, api *testbin.Process) uint64 {
	t.Helper()
	var canvas struct{ Seq uint64 }
	getJSON(t, api.URL("/api/canvas"), &canvas)
	return canvas.Seq
}

// TestPixelBudgetHoldsOverReconnectsConnectionsAndGateways: with
// IP_PIXEL_RATE=30 IP_PIXEL_BURST=30, one client address that reconnects
// after every 40 pixels and at the same time draws through 50 connections
// spread over two gateways gets no more pixels than its budget in total
// (each new connection used to bring a fresh per-connection burst of 40:
// 8,000 px/s and more). Another address, drawing within the budget at the
// same time on the same gateways, is refused nothing.
func TestPixelBudgetHoldsOverReconnectsConnectionsAndGateways(t *testing.T) {
	const rate, burst = 30, 30
	r := redistest.Start(t)
	env := []string{"REDIS_URL=redis://" + r.Addr() + "/0", "IP_PIXEL_RATE=" + strconv.Itoa(rate), "IP_PIXEL_BURST=" + strconv.Itoa(burst), "TRUSTED_PROXIES=127.0.0.1"}
	gwBin := testbin.Build(t, "./apps/gateway")
	gws := []*testbin.Process{testbin.Start(t, gwBin, env...), testbin.Start(t, gwBin, env...)}
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), env...)
	const abuser, honest = "203.0.113.1", "203.0.113.2"
	const drawFor = 3 * time.Second

	seq0 := canvasSeq(t, api)
	start := time.Now()
	stop := start.Add(drawFor)
	abuse := newAnswers()
	var wg sync.WaitGroup
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		failures.Add(1)
		t.Errorf(format, args...)
	}

	// One client that reconnects after every 40 pixels, alternating
	// gateways; it waits for the answers before it reconnects.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for round := 0; time.Now().Before(stop) && failures.Load() == 0; round++ {
			c, err := dialAs(gws[round%2].WS("/ws"), abuser, abuse)
			if err != nil {
				fail("reconnecting client, round %d: %v", round, err)
				return
			}
			prefix := "r" + strconv.Itoa(round) + "-"
			for i := range 40 {
				if err := c.PlacePixel(i%50, 0, "#FF0000", prefix+strconv.Itoa(i)); err != nil {
					fail("reconnecting client: %v", err)
				}
			}
			if err := abuse.waitAnswered(10*time.Second, prefix, 40); err != nil {
				fail("reconnecting client, round %d: %v", round, err)
			}
			_ = c.Close()
		}
	}()
	// 50 connections at the per-connection rate (20/s), over both gateways.
	for k := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialAs(gws[k%2].WS("/ws"), abuser, abuse)
			if err != nil {
				fail("connection %d: %v", k, err)
				return
			}
			defer c.Close()
			prefix := "c" + strconv.Itoa(k) + "-"
			n := 0
			for ; time.Now().Before(stop); n++ {
				if err := c.PlacePixel(k, 1+n%40, "#00FF00", prefix+strconv.Itoa(n)); err != nil {
					fail("connection %d: %v", k, err)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := abuse.waitAnswered(15*time.Second, prefix, n); err != nil {
				fail("connection %d: %v", k, err)
			}
		}()
	}
	// Another address, at 10 px/s, through both gateways.
	other := newAnswers()
	sent := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		cs := make([]*wsclient.Client, 2)
		for i := range cs {
			c, err := dialAs(gws[i].WS("/ws"), honest, other)
			if err != nil {
				fail("other address: %v", err)
				return
			}
			defer c.Close()
			cs[i] = c
		}
		for ; time.Now().Before(stop); sent++ {
			if err := cs[sent%2].PlacePixel(sent%50, 45, "#0000FF", "o"+strconv.Itoa(sent)); err != nil {
				fail("other address: %v", err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err := other.waitAnswered(15*time.Second, "o", sent); err != nil {
			fail("other address: %v", err)
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	if t.Failed() {
		return
	}
	// Every write charged to the budget was charged between start and now.
	accepted := int(canvasSeq(t, api)-seq0) - other.count("ok")
	allowed := burst + int(rate*elapsed.Seconds()) + 3
	t.Logf("one address over %s: %d pixels accepted (budget %d), %d answered rate_limited; the other address: %d of %d accepted",
		elapsed.Round(10*time.Millisecond), accepted, allowed, abuse.count("rate_limited"), other.count("ok"), sent)
	if accepted > allowed {
		t.Errorf("one client address placed %d pixels in %s; its budget is %d", accepted, elapsed.Round(10*time.Millisecond), allowed)
	}
	if abuse.count("rate_limited") == 0 {
		t.Error("no write was answered rate_limited")
	}
	if got := other.count("ok"); got != sent {
		t.Errorf("the other address had %d of %d writes accepted (%d rate_limited)", got, sent, other.count("rate_limited"))
	}
}

// TestOriginCheck: a browser page on another site cannot open a
// connection (403 with a JSON error, before the upgrade); scripts (no
// Origin) and the page's own origin (here the web app's port on the
// gateway's host) can.
func TestOriginCheck(t *testing.T) {
	r := redistest.Start(t)
	gw := testbin.Start(t, testbin.Build(t, "./apps/gateway"), "REDIS_URL=redis://"+r.Addr()+"/0")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://127.0.0.1:3000", true},
		{"http://127.0.0.1:" + strconv.Itoa(gw.Port), true},
		{"https://evil.example", false},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		c, err := wsclient.Dial(ctx, gw.WS("/ws"), wsclient.Options{Header: h})
		if err == nil {
			_ = c.Close()
		}
		if (err == nil) != tc.ok {
			t.Errorf("Origin %q: dial error %v, want accepted=%v", tc.origin, err, tc.ok)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, gw.URL("/ws"), nil)
	for k, v := range map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://evil.example"} {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(body), `"error"`) {
		t.Errorf("refusal = %d %s %q, want 403 with a JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestRedisFreezeDoesNotPunishHonestClients: an artist drawing at 5 px/s,
// well within every limit, keeps drawing through a 10 s freeze of Redis
// (SIGSTOP-like: connections stay open, nothing is answered). It is never
// told rate_limited (its messages are judged by when they arrived, not when
// the gateway got round to them), and afterwards the canvas holds exactly
// the writes it was told were accepted: none answered `unavailable` was
// applied when Redis thawed.
func TestRedisFreezeDoesNotPunishHonestClients(t *testing.T) {
	r := redistest.Start(t)
	env := []string{"REDIS_URL=redis://" + r.Addr() + "/0"}
	gw := testbin.Start(t, testbin.Build(t, "./apps/gateway"), env...)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), env...)
	got := newAnswers()
	c, err := dialAs(gw.WS("/ws"), "203.0.113.5", got)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	const before, freeze, after = 2 * time.Second, 10 * time.Second, 4 * time.Second
	done := make(chan int)
	go func() {
		tick := time.NewTicker(200 * time.Millisecond) // 5 px/s
		defer tick.Stop()
		end := time.Now().Add(before + freeze + after)
		n := 0
		for ; time.Now().Before(end); n++ {
			// Every write on a pixel of its own, so the canvas tells
			// exactly which were applied.
			if err := c.PlacePixel(n%50, 5+n/50, "#FF0000", "w"+strconv.Itoa(n)); err != nil {
				t.Errorf("write %d: %v", n, err)
				break
			}
			<-tick.C
		}
		done <- n
	}()
	time.Sleep(before)
	r.Pause(t)
	t.Log("Redis frozen")
	time.Sleep(freeze)
	r.Unpause(t)
	t.Log("Redis thawed")
	n := <-done
	if err := got.waitAnswered(30*time.Second, "w", n); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d writes: %d acknowledged, %d unavailable, %d rate_limited", n, got.count("ok"), got.count("unavailable"), got.count("rate_limited"))
	if k := got.count("rate_limited"); k > 0 {
		t.Errorf("a client at 5 px/s was told rate_limited %d times after the freeze", k)
	}
	if got.count("unavailable") == 0 {
		t.Error("no write was refused during the freeze: nothing was tested")
	}

	resp, err := http.Get(api.URL("/api/canvas/raw"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/canvas/raw: %d %v", resp.StatusCode, err)
	}
	width, _ := strconv.Atoi(resp.Header.Get("X-Canvas-Width"))
	for i := range n {
		x, y := i%50, 5+i/50
		p := raw[3*(y*width+x):]
		painted := p[0] == 0xFF && p[1] == 0 && p[2] == 0
		answer, _ := got.get("w" + strconv.Itoa(i))
		if painted != (answer == "ok") {
			t.Errorf("write %d at (%d,%d): answered %s, on the canvas: %v", i, x, y, answer, painted)
		}
	}
}
