package ws

// End-to-end tests of one gateway on an in-process store, through real
// WebSocket clients on loopback: the protocol as clients see it.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/router"
	"github.com/gorilla/websocket"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/mempresence"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// harness is one gateway on an in-process store, served on loopback.
type harness struct {
	t       testing.TB
	hub     *Hub
	store   ports.CanvasStore
	bus     ports.Bus
	metrics *metrics.Metrics
	url     string
}

type harnessOptions struct {
	pixelRate    domain.RateRule
	ping         time.Duration
	historySize  int
	historyLimit int // the hub's HistoryLimit (HISTORY_SIZE in the apps)
	syncInterval time.Duration
	storeBus     ports.Bus // the bus the store publishes on, if not the hub's
	wrap         func(ports.CanvasStore) ports.CanvasStore
	messageRate  domain.RateRule
	budget       ports.Budget  // the shared per-client pixel budget, if any
	placeTimeout time.Duration // the place-a-pixel path's store deadline, if not its default
	server       ServerOptions
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	bus := membus.New()
	storeBus := o.storeBus
	if storeBus == nil {
		storeBus = bus
	}
	if o.historySize == 0 {
		o.historySize = 1000
	}
	st, err := logstore.Open(logstore.Options{Size: domain.DefaultSize, HistorySize: o.historySize, Bus: storeBus, Clock: system.NewClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var store ports.CanvasStore = st
	if o.wrap != nil {
		store = o.wrap(store)
	}
	m := metrics.New()
	var placer *place.Service
	if o.budget != nil || o.placeTimeout > 0 {
		placer = place.New(place.Options{Store: store, Budget: o.budget, Metrics: m, Timeout: o.placeTimeout})
	}
	hub := NewHub(HubOptions{
		GatewayID: "gw_test", Store: store, Placer: placer, Bus: bus, Presence: mempresence.New(system.NewClock()), Clock: system.NewClock(),
		Metrics: m, PixelRate: o.pixelRate, MessageRate: o.messageRate, HistoryLimit: o.historyLimit, SyncInterval: o.syncInterval, CursorFlush: 20 * time.Millisecond,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	so := o.server
	so.PingInterval = o.ping
	srv := NewServer(hub, system.NewIDs(), so)
	url := serveWS(t, srv.Handle, func() { hub.Shutdown(context.Background()) })
	return &harness{t: t, hub: hub, store: store, bus: bus, metrics: m, url: url}
}

// serveWS serves handle at /ws on a loopback port for the test and returns
// the ws:// URL; at the end it calls shutdown (the hub's drain), then stops
// the server.
func serveWS(t testing.TB, handle fasthttp.RequestHandler, shutdown func()) string {
	t.Helper()
	r := router.New()
	r.GET("/ws", handle)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fasthttp.Server{Handler: r.Handler}
	go func() { _ = fs.Serve(ln) }()
	t.Cleanup(func() {
		shutdown()
		_ = fs.Shutdown()
	})
	return "ws://" + ln.Addr().String() + "/ws"
}

// dialWS dials and closes the handshake response's body, as every HTTP
// response must be (the WebSocket connection lives on), and returns the
// response's status (0 without a response).
func dialWS(d *websocket.Dialer, url string) (*websocket.Conn, int, error) {
	conn, resp, err := d.Dial(url, nil)
	if resp == nil {
		return conn, 0, err
	}
	_ = resp.Body.Close()
	return conn, resp.StatusCode, err
}

// client is a test client that records every message it reads.
type client struct {
	t    testing.TB
	conn *websocket.Conn
	msgs chan map[string]any
	raw  chan []byte
	done chan struct{}
	err  error
	id   string
	seq  uint64
}

func (h *harness) dial(query string, subprotocols ...string) *client {
	h.t.Helper()
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: subprotocols}
	conn, _, err := dialWS(d, h.url+query)
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	c := &client{t: h.t, conn: conn, msgs: make(chan map[string]any, 100000), raw: make(chan []byte, 100000), done: make(chan struct{})}
	h.t.Cleanup(func() { _ = conn.Close() })
	go c.read()
	m := c.next("connected")
	c.id, _ = m["clientId"].(string)
	c.seq = uint64(m["seq"].(float64))
	if m["message"] != "Connected to Cloud Pixel Playground" || c.id == "" || m["width"] != 50.0 || m["height"] != 50.0 {
		h.t.Fatalf("connected message = %v", m)
	}
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		c.raw <- data
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			c.t.Errorf("server sent invalid JSON %q", data)
			return
		}
		if m["type"] == "batch" {
			for _, e := range m["events"].([]any) {
				c.msgs <- e.(map[string]any)
			}
			continue
		}
		c.msgs <- m
	}
}

func (c *client) send(v any) {
	c.t.Helper()
	if s, ok := v.(string); ok {
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			c.t.Fatal(err)
		}
		return
	}
	if err := c.conn.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message of the given type, skipping presence and
// cursor traffic unless asked for.
func (c *client) next(typ string) map[string]any {
	c.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			if m["type"] == typ {
				return m
			}
			if t := m["type"]; t == "stats" || t == "user_list" || t == "presence" || t == "cursors" {
				continue
			}
			c.t.Fatalf("waiting for %s, got %v", typ, m)
		case <-c.done:
			c.t.Fatalf("waiting for %s: connection closed: %v", typ, c.err)
		case <-deadline:
			c.t.Fatalf("no %s within 15s", typ)
		}
	}
}

// nextOf returns the next message of any of the given types, skipping
// every other.
func (c *client) nextOf(types ...string) map[string]any {
	c.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			if typ, _ := m["type"].(string); slices.Contains(types, typ) {
				return m
			}
		case <-c.done:
			c.t.Fatalf("waiting for %v: connection closed: %v", types, c.err)
		case <-deadline:
			c.t.Fatalf("no %v within 15s", types)
		}
	}
}

// waitFor returns the first message of type typ that satisfies ok.
func (c *client) waitFor(typ string, ok func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-c.msgs:
			if m["type"] == typ && ok(m) {
				return m
			}
		case <-c.done:
			c.t.Fatalf("waiting for %s: connection closed: %v", typ, c.err)
		case <-deadline:
			c.t.Fatalf("no matching %s within 15s", typ)
		}
	}
}

func (c *client) closeCode() int {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.t.Fatal("connection not closed within 5s")
	}
	var ce *websocket.CloseError
	if errors.As(c.err, &ce) {
		return ce.Code
	}
	return -1
}

func pixel(x, y int, color, id string) map[string]any {
	return map[string]any{"type": "pixel_update", "x": x, "y": y, "color": color, "id": id}
}

func TestPixelReachesEveryoneWithSeqAndOnlyTheSenderGetsItsID(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	a, b := h.dial(""), h.dial("")
	a.send(map[string]any{"type": "set_username", "username": "  Alice  "})
	a.waitFor("user_list", func(m map[string]any) bool { return len(m["users"].([]any)) == 1 })
	a.send(map[string]any{"type": "pixel_update", "x": 1, "y": 2, "color": "#abcdef", "id": "w1", "username": "Mallory", "timestamp": 5})
	ma, mb := a.next("pixel_updated"), b.next("pixel_updated")
	if ma["id"] != "w1" || ma["color"] != "#ABCDEF" || ma["username"] != "Alice" || ma["seq"] != 1.0 || ma["x"] != 1.0 || ma["y"] != 2.0 {
		t.Errorf("sender got %v", ma)
	}
	if _, has := mb["id"]; has || mb["seq"] != 1.0 || mb["username"] != "Alice" {
		t.Errorf("other client got %v", mb)
	}
	if ts := ma["timestamp"].(float64); time.Since(time.UnixMilli(int64(ts))) > time.Minute || ts != mb["timestamp"] {
		t.Errorf("timestamp %v / %v", ma["timestamp"], mb["timestamp"])
	}
	b.send(pixel(3, 3, "#000000", ""))
	if m := a.next("pixel_updated"); m["username"] != "Anonymous" || m["seq"] != 2.0 {
		t.Errorf("anonymous write = %v", m)
	}
}

func TestBadInputGetsTheSpecsErrorsAndHurtsNobody(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	bad, good := h.dial(""), h.dial("")
	for _, tc := range []struct {
		in         any
		code, text string
	}{
		{"not json", codeBadJSON, msgBadJSON},
		{`{"type":`, codeBadJSON, msgBadJSON},
		{`[1,2]`, codeBadJSON, msgBadJSON},
		{`{"type":5}`, codeBadJSON, msgBadJSON},
		{map[string]any{"type": "pixel_update", "x": "5", "y": 5, "color": "#FF0000", "id": "a"}, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": 2.5, "y": 5, "color": "#FF0000", "id": "b"}, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": 50, "y": 0, "color": "#FF0000", "id": "c"}, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": -1, "y": 0, "color": "#FF0000", "id": "d"}, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": 1, "y": 1, "color": "red", "id": "e"}, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": 1, "y": 1, "color": 16711680, "id": "f"}, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": 1, "y": 1}, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": 1, "y": 1, "color": "#FF0000", "id": strings.Repeat("i", 65)}, codeBadID, msgBadID},
		// The same reading of a write as REST's (one place-a-pixel path):
		// 1e-400 is not 0, and an id of another type is not "too long".
		{`{"type":"pixel_update","x":1e-400,"y":1,"color":"#FF0000","id":"g"}`, codeBadPixel, msgBadPixel},
		{map[string]any{"type": "pixel_update", "x": 1, "y": 1, "color": "#FF0000", "id": 7}, codeBadID, msgBadIDType},
	} {
		bad.send(tc.in)
		m := bad.next("error")
		if m["code"] != tc.code || m["message"] != tc.text {
			t.Errorf("%v: got %v, want %s / %s", tc.in, m, tc.code, tc.text)
		}
		msg, _ := tc.in.(map[string]any)
		if want, _ := msg["id"].(string); tc.code == codeBadPixel && want != "" && m["id"] != want {
			t.Errorf("%v: error should carry the write id, got %v", tc.in, m)
		}
	}
	// Unknown types are ignored without a reply: the next reply is the pong.
	bad.send(`{"type":"teleport"}`)
	bad.send(`{"type":"ping"}`)
	if m := bad.next("pong"); m["timestamp"] == nil {
		t.Errorf("pong = %v", m)
	}
	// A huge username is cut; HTML stays text.
	bad.send(map[string]any{"type": "set_username", "username": "<b>" + strings.Repeat("x", 10000)})
	bad.waitFor("user_list", func(m map[string]any) bool {
		u := m["users"].([]any)
		return len(u) == 1 && u[0] == "<b>"+strings.Repeat("x", 17)
	})
	// 100 KB message: closed with 1009, and the other client carries on.
	// The server may close before the whole frame is written, so the write
	// error is expected and ignored.
	_ = bad.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 100<<10)+`"}`))
	if code := bad.closeCode(); code != websocket.CloseMessageTooBig {
		t.Errorf("close code = %d, want 1009", code)
	}
	good.send(pixel(0, 0, "#123456", "ok"))
	if m := good.next("pixel_updated"); m["id"] != "ok" {
		t.Errorf("good client got %v", m)
	}
}

func TestRateLimitRejectsWithIDAndKeepsTheConnection(t *testing.T) {
	h := newHarness(t, harnessOptions{pixelRate: domain.RateRule{PerSecond: 0.001, Burst: 3}})
	c := h.dial("")
	for i := 0; i < 5; i++ {
		c.send(pixel(i, 0, "#FF0000", string(rune('a'+i))))
	}
	accepted, limited := 0, 0
	for accepted+limited < 5 {
		m := <-c.msgs
		switch m["type"] {
		case "pixel_updated":
			accepted++
		case "error":
			if m["code"] != codeRateLimited || m["id"] == nil {
				t.Errorf("error = %v", m)
			}
			limited++
		}
	}
	if accepted != 3 || limited != 2 {
		t.Errorf("accepted %d, limited %d; want 3 and 2", accepted, limited)
	}
	c.send(`{"type":"ping"}`)
	c.next("pong")
}

func TestResumeReplaysInOrderThenSaysResumed(t *testing.T) {
	h := newHarness(t, harnessOptions{historySize: 20})
	c := h.dial("")
	c.send(pixel(0, 0, "#111111", "first"))
	seen := uint64(c.next("pixel_updated")["seq"].(float64))
	_ = c.conn.Close()
	var writes []domain.Write
	for i := 0; i < 10; i++ {
		writes = append(writes, domain.Write{Pixel: domain.Pixel{X: i, Y: 1, Color: 0x222222}})
	}
	if _, err := h.store.Place(context.Background(), writes); err != nil {
		t.Fatal(err)
	}
	r := h.dial("?since=" + itoa(seen) + "&epoch=" + h.epoch())
	for i := 1; i <= 10; i++ {
		m := r.next("pixel_updated")
		if m["seq"] != float64(seen+uint64(i)) {
			t.Fatalf("replay %d: %v", i, m)
		}
	}
	if m := r.next("resumed"); m["recovered"] != true || m["seq"] != float64(seen+10) {
		t.Fatalf("resumed = %v", m)
	}
	// Live events continue after the replay, exactly once.
	r.send(pixel(5, 5, "#333333", "live"))
	if m := r.next("pixel_updated"); m["seq"] != float64(seen+11) || m["id"] != "live" {
		t.Fatalf("live after resume = %v", m)
	}
	// Too old for the history kept: recovered=false.
	if _, err := h.store.Place(context.Background(), append(writes, writes...)); err != nil {
		t.Fatal(err)
	}
	old := h.dial("?since=1")
	if m := old.next("resumed"); m["recovered"] != false {
		t.Fatalf("resume past history = %v", m)
	}
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// epoch is the store's current epoch, for a resume on its timeline.
func (h *harness) epoch() string {
	h.t.Helper()
	head, err := h.store.Head(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return string(head.Epoch)
}

func TestSlowClientIsDisconnectedAndOthersGetEverything(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	// The slow client never reads; its tiny receive buffer keeps the
	// client side of the backlog small.
	tiny := &websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	slowConn, _, err := dialWS(tiny, h.url)
	if err != nil {
		t.Fatal(err)
	}
	defer slowConn.Close()
	fast, _, err := dialWS(websocket.DefaultDialer, h.url)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	// Registered before the writes begin: its connected message is queued
	// under the lock deliveries take, and tells where its stream starts.
	_ = fast.SetReadDeadline(time.Now().Add(60 * time.Second))
	var connected struct {
		Type string
		Seq  uint64
	}
	if err := fast.ReadJSON(&connected); err != nil || connected.Type != "connected" {
		t.Fatalf("fast client's first message: %+v %v", connected, err)
	}
	// Enough to overflow what the kernel buffers on the server's side (its
	// send buffer autotunes up to 4 MiB, ~30,000 of these frames) plus the
	// gateway's own queue.
	const n, batch = 60_000, 200
	var placer sync.WaitGroup
	placer.Add(1)
	go func() {
		defer placer.Done()
		for i := 0; i < n; i += batch {
			writes := make([]domain.Write, batch)
			for j := range writes {
				writes[j] = domain.Write{Pixel: domain.Pixel{X: (i + j) % 50, Y: (i + j) / 50 % 50, Color: domain.Color(i + j)}}
			}
			if _, err := h.store.Place(context.Background(), writes); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(5 * time.Millisecond) // ~40,000 events/s: steady, not one burst
		}
	}()
	// The fast client reads with a byte scan, not a JSON decode per frame,
	// so that it stays fast under the race detector on a busy machine.
	seqKey := []byte(`"seq":`)
	last := connected.Seq
	for last < n {
		_, data, err := fast.ReadMessage()
		if err != nil {
			t.Fatalf("fast client after seq %d: %v", last, err)
		}
		if !bytes.HasPrefix(data, []byte(`{"type":"pixel_updated"`)) {
			continue
		}
		rest := data[bytes.Index(data, seqKey)+len(seqKey):]
		seq, err := strconv.ParseUint(string(rest[:bytes.IndexAny(rest, ",}")]), 10, 64)
		if err != nil || seq != last+1 {
			t.Fatalf("fast client: seq %d after %d (%v)", seq, last, err)
		}
		last = seq
	}
	placer.Wait()
	waitfor.True(t, 10*time.Second, "the slow client dropped, the fast one kept", func() bool { return h.hub.ConnCount() == 1 })
}

func TestHeartbeatClosesAPeerThatStopsAnswering(t *testing.T) {
	h := newHarness(t, harnessOptions{ping: 100 * time.Millisecond})
	deaf, _, err := dialWS(websocket.DefaultDialer, h.url) // never reads, so never answers pings
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()
	alive := h.dial("") // reads, so gorilla answers every ping
	waitfor.True(t, 3*time.Second, "only the peer answering pings left after many ping periods", func() bool { return h.hub.ConnCount() == 1 })
	alive.send(`{"type":"ping"}`)
	alive.next("pong")
}

func TestPresenceAndCursors(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	a, b := h.dial(""), h.dial("")
	a.send(map[string]any{"type": "set_username", "username": "Alice"})
	b.send(map[string]any{"type": "set_username", "username": "Bob"})
	for _, c := range []*client{a, b} {
		c.waitFor("user_list", func(m map[string]any) bool {
			u := m["users"].([]any)
			return len(u) == 2 && u[0] == "Alice" && u[1] == "Bob"
		})
	}
	a.send(map[string]any{"type": "cursor", "x": 12.5, "y": 3})
	m := b.waitFor("cursors", func(m map[string]any) bool { return len(m["cursors"].([]any)) > 0 })
	cur := m["cursors"].([]any)[0].(map[string]any)
	if cur["clientId"] != a.id || cur["username"] != "Alice" || cur["x"] != 12.5 || cur["y"] != 3.0 {
		t.Errorf("cursor = %v", cur)
	}
	a.send(map[string]any{"type": "cursor"})
	b.waitFor("cursors", func(m map[string]any) bool {
		g := m["gone"].([]any)
		return len(g) == 1 && g[0] == a.id
	})
	_ = a.conn.Close()
	b.waitFor("stats", func(m map[string]any) bool { return m["activeUsers"] == 1.0 })
}

func TestV2ClientsReceiveBatchesV1ClientsNever(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	v2, v1 := h.dial("", "pixel.v2"), h.dial("")
	writes := make([]domain.Write, 300)
	for i := range writes {
		writes[i] = domain.Write{Pixel: domain.Pixel{X: i % 50, Y: i / 50, Color: 0xFF00FF}}
	}
	if _, err := h.store.Place(context.Background(), writes); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{v2, v1} {
		for i := 1; i <= len(writes); i++ {
			if m := c.next("pixel_updated"); m["seq"] != float64(c.seq+uint64(i)) {
				t.Fatalf("event %d = %v", i, m)
			}
		}
	}
	batches := func(c *client) (n int) {
		for len(c.raw) > 0 {
			if strings.HasPrefix(string(<-c.raw), `{"type":"batch"`) {
				n++
			}
		}
		return n
	}
	if n := batches(v1); n != 0 {
		t.Errorf("v1 client received %d batches", n)
	}
	if n := batches(v2); n == 0 {
		t.Error("v2 client received no batch for 300 events queued at once")
	}
}

func TestShutdownClosesWith1012(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	c := h.dial("")
	h.hub.Shutdown(context.Background())
	if code := c.closeCode(); code != websocket.CloseServiceRestart {
		t.Fatalf("close code = %d, want 1012", code)
	}
	_, status, err := dialWS(websocket.DefaultDialer, h.url)
	if err == nil || status != http.StatusServiceUnavailable {
		t.Fatalf("upgrade while draining: err %v, status %d", err, status)
	}
}

func TestGapsAreRepairedFromHistory(t *testing.T) {
	lost := membus.New() // the store publishes where the hub does not listen
	h := newHarness(t, harnessOptions{storeBus: lost, syncInterval: 30 * time.Millisecond})
	c := h.dial("")
	if _, err := h.store.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: 1, Y: 1, Color: 1}}, {Pixel: domain.Pixel{X: 2, Y: 2, Color: 2}}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if m := c.next("pixel_updated"); m["seq"] != float64(i) {
			t.Fatalf("repaired event %d = %v", i, m)
		}
	}
}

// TestUndecodableBusMessageIsRepairedAtOnce: a message on the pixel
// channel that this gateway cannot read (a newer server's format, say)
// may have carried events; the gateway repairs from history at once
// rather than at its next sync (an hour here) or the next event.
func TestUndecodableBusMessageIsRepairedAtOnce(t *testing.T) {
	lost := membus.New() // the store publishes where the hub does not listen
	h := newHarness(t, harnessOptions{storeBus: lost, syncInterval: time.Hour})
	c := h.dial("")
	if _, err := h.store.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: 1, Y: 1, Color: 1}}, {Pixel: domain.Pixel{X: 2, Y: 2, Color: 2}}}); err != nil {
		t.Fatal(err)
	}
	if err := h.bus.Publish(context.Background(), ports.ChannelPixelUpdates, []byte(`{"k":"p","seq":1,"x":"not a number"}`)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if m := c.next("pixel_updated"); m["seq"] != float64(i) {
			t.Fatalf("repaired event %d = %v", i, m)
		}
	}
}

// downStore fails every write while down, like Redis going away.
type downStore struct {
	ports.CanvasStore
	mu   sync.Mutex
	down bool
}

func (d *downStore) Place(ctx context.Context, w []domain.Write) ([]domain.Event, error) {
	d.mu.Lock()
	down := d.down
	d.mu.Unlock()
	if down {
		return nil, ports.ErrUnavailable
	}
	return d.CanvasStore.Place(ctx, w)
}

func TestStoreOutageAnswersUnavailableAndKeepsTheConnection(t *testing.T) {
	ds := &downStore{}
	h := newHarness(t, harnessOptions{wrap: func(s ports.CanvasStore) ports.CanvasStore { ds.CanvasStore = s; return ds }})
	c := h.dial("")
	ds.mu.Lock()
	ds.down = true
	ds.mu.Unlock()
	c.send(pixel(1, 1, "#FF0000", "x1"))
	if m := c.next("error"); m["code"] != codeUnavailable || m["id"] != "x1" {
		t.Fatalf("error = %v", m)
	}
	ds.mu.Lock()
	ds.down = false
	ds.mu.Unlock()
	c.send(pixel(1, 1, "#FF0000", "x2"))
	if m := c.next("pixel_updated"); m["id"] != "x2" {
		t.Fatalf("after recovery = %v", m)
	}
}

func FuzzDecodeInbound(f *testing.F) {
	for _, s := range []string{`{"type":"pixel_update","x":1,"y":2,"color":"#FF0000","id":"a"}`, `{"type":"cursor","x":1.5}`, `{}`, `[]`, `{"x":1e400}`, `{"type":"resume","since":-1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeInbound(data)
		if err != nil {
			return
		}
		p, _, problem := place.Parse(m.pixelFields(), domain.DefaultSize)
		if problem == place.OK && (!domain.DefaultSize.Contains(p.X, p.Y) || p.Color > domain.White) {
			t.Fatalf("accepted invalid pixel %+v from %q", p, data)
		}
		_, _, _ = place.String(m.Username)
		_, _ = place.Number(m.Since)
	})
}

func TestGapBeyondHistoryTellsClientsToReload(t *testing.T) {
	lost := membus.New() // the hub never hears these events: only repair can
	h := newHarness(t, harnessOptions{storeBus: lost, historySize: 5, syncInterval: 30 * time.Millisecond})
	c := h.dial("")
	writes := make([]domain.Write, 20) // more than history keeps
	for i := range writes {
		writes[i] = domain.Write{Pixel: domain.Pixel{X: i, Y: 0, Color: 1}}
	}
	if _, err := h.store.Place(context.Background(), writes); err != nil {
		t.Fatal(err)
	}
	m := c.next("resumed")
	if m["recovered"] != false {
		t.Fatalf("resumed = %v", m)
	}
	// What history still holds after the jump is delivered, in order,
	// ending at the store's latest.
	last := m["seq"].(float64)
	for last < 20 {
		p := c.next("pixel_updated")
		if p["seq"] != last+1 {
			t.Fatalf("after the jump to %v: %v", m["seq"], p)
		}
		last = p["seq"].(float64)
	}
}

// shrinkingStore pretends the backend lost its data: its latest seq drops.
type shrinkingStore struct {
	ports.CanvasStore
	mu   sync.Mutex
	lost bool
}

func (s *shrinkingStore) Head(ctx context.Context) (domain.Head, error) {
	s.mu.Lock()
	lost, inner := s.lost, s.CanvasStore // a test may swap the store under mu
	s.mu.Unlock()
	h, err := inner.Head(ctx)
	if lost {
		h.Seq = 0 // on the same epoch: a store that does not know it lost data
	}
	return h, err
}

func TestStoreThatLostDataTellsClientsToReload(t *testing.T) {
	ss := &shrinkingStore{}
	h := newHarness(t, harnessOptions{syncInterval: 30 * time.Millisecond,
		wrap: func(s ports.CanvasStore) ports.CanvasStore { ss.CanvasStore = s; return ss }})
	c := h.dial("")
	c.send(pixel(1, 1, "#FF0000", "w"))
	c.next("pixel_updated")
	ss.mu.Lock()
	ss.lost = true
	ss.mu.Unlock()
	if m := c.next("resumed"); m["recovered"] != false || m["seq"] != 0.0 {
		t.Fatalf("resumed = %v", m)
	}
}

// gatedStore holds Head, once armed, until released: it keeps a new
// connection inside register while the test shuts the hub down.
type gatedStore struct {
	ports.CanvasStore
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStore) Head(ctx context.Context) (domain.Head, error) {
	if g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	return g.CanvasStore.Head(ctx)
}

func TestConnectionAcceptedDuringShutdownIsClosedWith1012(t *testing.T) {
	g := &gatedStore{entered: make(chan struct{}), release: make(chan struct{})}
	// No sync ticks: only the new connection asks for the latest seq.
	h := newHarness(t, harnessOptions{syncInterval: time.Hour,
		wrap: func(s ports.CanvasStore) ports.CanvasStore { g.CanvasStore = s; return g }})
	g.armed.Store(true)
	conn, _, err := dialWS(&websocket.Dialer{HandshakeTimeout: 5 * time.Second}, h.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection never reached register")
	}
	h.hub.Shutdown(context.Background())
	close(g.release)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err == nil {
		t.Fatalf("a connection accepted while draining was served: %s", msg)
	}
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseServiceRestart {
		t.Fatalf("close = %v, want 1012", err)
	}
}
