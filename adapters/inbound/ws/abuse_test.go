package ws

// Abuse and overload, one gateway on an in-process store: the Origin check
// on the upgrade, the shared per-client pixel budget and its retryAfter,
// the message budget every frame is charged to, and a reader that never
// waits for a stalled store.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membudget"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// dialHeader is dial with headers on the upgrade request.
func (h *harness) dialHeader(header http.Header) *client {
	h.t.Helper()
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(h.url, header)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	c := &client{t: h.t, conn: conn, msgs: make(chan map[string]any, 100000), raw: make(chan []byte, 100000), done: make(chan struct{})}
	h.t.Cleanup(func() { _ = conn.Close() })
	go c.read()
	m := c.next("connected")
	c.id, _ = m["clientId"].(string)
	return c
}

// waitAny returns the first message that satisfies ok.
func (c *client) waitAny(ok func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			if ok(m) {
				return m
			}
		case <-c.done:
			c.t.Fatalf("connection closed: %v", c.err)
		case <-deadline:
			c.t.Fatal("no matching message within 15s")
		}
	}
}

func TestOriginPolicy(t *testing.T) {
	own := NewOriginPolicy(nil, true)
	listed := NewOriginPolicy([]string{"https://Pixels.example.com:443", "wss://ws.example.com/ws", "not an origin"}, false)
	playground := NewOriginPolicy([]string{"", "wss://ws.example.com", "https://api.example.com"}, true)
	for _, tc := range []struct {
		p            *OriginPolicy
		origin, host string
		want         bool
	}{
		{own, "", "gw.example.com", true}, // scripts and bots send none
		{own, "https://evil.example", "gw.example.com", false},
		{own, "http://localhost:3000", "localhost:3002", true}, // the split deployment's page
		{own, "https://pixels.example.com", "PIXELS.example.com", true},
		{own, "http://[::1]:3000", "[::1]:3002", true},
		{own, "http://127.0.0.1:3000", "localhost:3002", false},
		{own, "null", "gw.example.com", false},
		{own, "https://gw.example.com.evil.example", "gw.example.com", false},
		{listed, "https://pixels.example.com", "gw.internal", true},
		{listed, "https://pixels.example.com:8443", "gw.internal", false},
		{listed, "http://pixels.example.com", "gw.internal", false},
		{listed, "https://ws.example.com", "gw.internal", true},
		{listed, "https://gw.internal", "gw.internal", false}, // a list is exactly the list
		{NewOriginPolicy([]string{"*"}, false), "https://evil.example", "gw.internal", true},
		{playground, "https://ws.example.com", "play.example.com", true},
		{playground, "https://api.example.com", "play.example.com", true},
		{playground, "https://play.example.com", "play.example.com:8080", true},
		{playground, "https://evil.example", "play.example.com", false},
	} {
		if got := tc.p.Allows(tc.origin, tc.host); got != tc.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tc.origin, tc.host, got, tc.want)
		}
	}
}

// TestOriginIsCheckedOnTheUpgrade: a page elsewhere cannot make its
// visitors draw (403 with a JSON error, before any upgrade), while the
// page's own origin and clients that send no Origin connect.
func TestOriginIsCheckedOnTheUpgrade(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(h.url, http.Header{"Origin": {"https://evil.example"}})
	if err == nil {
		_ = conn.Close()
		t.Fatal("an upgrade from https://evil.example was accepted")
	}
	if resp == nil {
		t.Fatalf("no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var e struct{ Error string }
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Fatalf("refusal = %d %q, want 403 with a JSON error", resp.StatusCode, body)
	}
	if h.hub.ConnCount() != 0 {
		t.Fatalf("%d connections registered after the refusal", h.hub.ConnCount())
	}
	if n := testutil.ToFloat64(h.metrics.ConnsRefused.WithLabelValues("origin")); n != 1 {
		t.Fatalf("pixel_connections_refused_total{reason=origin} = %v after one refusal, want 1", n)
	}
	h.dial("") // no Origin
	port := h.url[strings.LastIndex(h.url, ":")+1 : strings.LastIndex(h.url, "/")]
	h.dialHeader(http.Header{"Origin": {"http://127.0.0.1:" + port}})
	h.dialHeader(http.Header{"Origin": {"http://127.0.0.1:3000"}}) // the page on another port of this host
}

// TestSharedPixelBudgetAnswersRetryAfter: the per-client budget (all of a
// client's connections together) is charged for WebSocket writes; over it
// the answer is rate_limited with retryAfter in milliseconds. A client
// named by a trusted proxy is its own client.
func TestSharedPixelBudgetAnswersRetryAfter(t *testing.T) {
	budget := membudget.New(domain.RateRule{PerSecond: 1, Burst: 3}, system.NewClock())
	h := newHarness(t, harnessOptions{budget: budget, server: ServerOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	a1 := h.dialHeader(http.Header{"X-Forwarded-For": {"203.0.113.1"}})
	a2 := h.dialHeader(http.Header{"X-Forwarded-For": {"203.0.113.1"}})
	other := h.dialHeader(http.Header{"X-Forwarded-For": {"203.0.113.2"}})
	accepted, limited := 0, 0
	for i, c := range []*client{a1, a2, a1, a2, a1, a2} {
		id := "a" + itoa(uint64(i))
		c.send(pixel(i, 0, "#FF0000", id))
		m := c.waitAny(func(m map[string]any) bool {
			return (m["type"] == "pixel_updated" || m["type"] == "error") && m["id"] == id
		})
		if m["type"] == "pixel_updated" {
			accepted++
			continue
		}
		limited++
		ms, ok := m["retryAfter"].(float64)
		if m["code"] != codeRateLimited || !ok || ms < 1 || ms > 1000 {
			t.Fatalf("refusal = %v, want rate_limited with retryAfter in (0, 1000] ms", m)
		}
	}
	if accepted != 3 || limited != 3 {
		t.Fatalf("two connections of one client: %d accepted, %d limited; want the budget's 3 and 3", accepted, limited)
	}
	other.send(pixel(0, 1, "#00FF00", "b"))
	if m := other.waitAny(func(m map[string]any) bool { return m["id"] == "b" }); m["type"] != "pixel_updated" {
		t.Fatalf("another client was refused: %v", m)
	}
}

// flood sends frames as fast as it can until the connection fails.
func flood(conn *websocket.Conn, send func() error) {
	for range 100000 {
		if send() != nil {
			return
		}
	}
}

// TestMessageFloodsAreClosed: every frame costs a token, whatever it is. A
// flood of cursor moves without x (which skip the cursor limit), of unknown
// or missing types, and of protocol pings each gets its connection closed
// with 1008 "message rate exceeded" within the budget, while another
// connection keeps receiving pixels.
func TestMessageFloodsAreClosed(t *testing.T) {
	// The pixel and cursor limits are the defaults, so the budget is its
	// floor: 20+30+10 = 60/s, burst 40+60+10 = 110.
	const rate, burst = 60, 110
	for _, tc := range []struct {
		name  string
		frame string // a text frame, or "" for a protocol ping
	}{
		{"cursor without x", `{"type":"cursor"}`},
		{"unknown type", `{"type":"teleport","x":1}`},
		{"no type", `{"x":1}`},
		{"protocol ping", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{messageRate: domain.RateRule{PerSecond: 1, Burst: 1}})
			watcher, artist := h.dial(""), h.dial("")
			d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
			conn, _, err := dialWS(d, h.url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var pongs atomic.Int64
			conn.SetPongHandler(func(string) error { pongs.Add(1); return nil })
			closed := make(chan error, 1)
			go func() {
				for {
					if _, _, err := conn.ReadMessage(); err != nil {
						closed <- err
						return
					}
				}
			}()
			start := time.Now()
			go flood(conn, func() error {
				if tc.frame == "" {
					return conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
				}
				return conn.WriteMessage(websocket.TextMessage, []byte(tc.frame))
			})
			// Meanwhile the others draw and watch.
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					if err := artist.conn.WriteJSON(pixel(i, 3, "#0000FF", "p"+itoa(uint64(i)))); err != nil {
						t.Error(err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			var err2 error
			select {
			case err2 = <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the flooding connection was not closed within 10s")
			}
			elapsed := time.Since(start)
			var ce *websocket.CloseError
			if !errors.As(err2, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "message rate exceeded" {
				t.Fatalf("closed with %v, want 1008 \"message rate exceeded\"", err2)
			}
			handled := int(pongs.Load())
			if tc.frame != "" {
				for _, typ := range []string{"cursor", "other"} {
					handled += int(testutil.ToFloat64(h.metrics.MessagesIn.WithLabelValues(typ)))
				}
			}
			if limit := burst + int(rate*elapsed.Seconds()) + 2; handled > limit {
				t.Fatalf("%d frames handled in %s before the close; the budget allows %d", handled, elapsed, limit)
			}
			if n := testutil.ToFloat64(h.metrics.RateLimited.WithLabelValues("message")); n != 1 {
				t.Errorf("message-rate closes counted: %v, want 1", n)
			}
			t.Logf("%d frames handled, closed after %s", handled, elapsed.Round(time.Millisecond))
			wg.Wait()
			for i := range 10 {
				id := "p" + itoa(uint64(i))
				watcher.waitFor("pixel_updated", func(m map[string]any) bool { return m["x"] == float64(i) && m["y"] == 3.0 })
				artist.waitFor("pixel_updated", func(m map[string]any) bool { return m["id"] == id })
			}
		})
	}
}

// stallStore holds every Place while stalled, as a frozen Redis does,
// until the caller gives up (then the write is not applied, as the Redis
// store guarantees) or the stall ends.
type stallStore struct {
	ports.CanvasStore
	mu      sync.Mutex
	stalled chan struct{} // nil: not stalled
}

func (s *stallStore) stall() {
	s.mu.Lock()
	s.stalled = make(chan struct{})
	s.mu.Unlock()
}

func (s *stallStore) thaw() {
	s.mu.Lock()
	close(s.stalled)
	s.stalled = nil
	s.mu.Unlock()
}

func (s *stallStore) Place(ctx context.Context, w []domain.Write) ([]domain.Event, error) {
	s.mu.Lock()
	stalled := s.stalled
	s.mu.Unlock()
	if stalled != nil {
		select {
		case <-stalled:
		case <-ctx.Done():
			return nil, ports.ErrUnavailable
		}
	}
	return s.CanvasStore.Place(ctx, w)
}

// TestStoreStallDoesNotPunishHonestClients: while the store stalls, the
// reader keeps reading (a ping is answered at once) and judges each write
// by when it arrived, so a client that keeps to its rate through the stall
// is never told rate_limited afterwards; what the worker could not place is
// answered `unavailable`, only after the store call gave up, and is not on
// the canvas.
func TestStoreStallDoesNotPunishHonestClients(t *testing.T) {
	ss := &stallStore{}
	h := newHarness(t, harnessOptions{pixelRate: domain.RateRule{PerSecond: 10, Burst: 3}, placeTimeout: 300 * time.Millisecond,
		wrap: func(s ports.CanvasStore) ports.CanvasStore { ss.CanvasStore = s; return ss }})
	c := h.dial("")
	ss.stall()
	const n = 20 // at 6.7/s, under the limit of 10/s
	answers := []map[string]any{}
	answer := func(m map[string]any) bool { return m["type"] == "pixel_updated" || m["type"] == "error" }
	for i := range n {
		c.send(pixel(i, 5, "#FF0000", "s"+itoa(uint64(i))))
		if i == n/2 {
			start := time.Now()
			c.send(`{"type":"ping"}`)
			c.waitAny(func(m map[string]any) bool {
				if answer(m) {
					answers = append(answers, m)
				}
				return m["type"] == "pong"
			})
			if d := time.Since(start); d > time.Second {
				t.Errorf("a ping during the stall was answered after %s: the reader waits for the store", d)
			}
		}
		time.Sleep(150 * time.Millisecond)
	}
	ss.thaw()
	acked, unavailable := map[int]bool{}, map[int]bool{}
	for len(acked)+len(unavailable) < n {
		var m map[string]any
		if len(answers) > 0 {
			m, answers = answers[0], answers[1:]
		} else {
			m = c.waitAny(answer)
		}
		id, _ := m["id"].(string)
		if !strings.HasPrefix(id, "s") {
			t.Fatalf("unexpected %v", m)
		}
		var i int
		_ = json.Unmarshal([]byte(id[1:]), &i)
		switch {
		case m["type"] == "pixel_updated":
			acked[i] = true
		case m["code"] == codeUnavailable:
			unavailable[i] = true
		default:
			t.Fatalf("write %s during the stall: %v", id, m)
		}
	}
	if len(unavailable) == 0 {
		t.Fatal("no write was refused during the stall: the test did not stall anything")
	}
	snap, err := h.store.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		painted := snap.At(i, 5) == 0xFF0000
		if painted != acked[i] {
			t.Errorf("pixel %d: painted %v, acknowledged %v, answered unavailable %v", i, painted, acked[i], unavailable[i])
		}
	}
	t.Logf("%d acknowledged, %d unavailable", len(acked), len(unavailable))
}
