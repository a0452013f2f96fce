package ws

// Tests of the gateway with many canvases: each canvas's clients see only
// their canvas (events, presence, cursors), hubs come and go with their
// clients, private and archived canvases are refused as the contract says.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/canvasdir"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/mempresence"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// countingBus counts the live subscriptions per channel, so a test sees
// what the gateway is subscribed to.
type countingBus struct {
	ports.Bus
	mu   sync.Mutex
	subs map[string]int
}

func (b *countingBus) Subscribe(ctx context.Context, channels []string, handle func(ports.Message), resubscribed func()) error {
	err := b.Bus.Subscribe(ctx, channels, handle, resubscribed)
	if err != nil {
		return err
	}
	b.mu.Lock()
	for _, c := range channels {
		b.subs[c]++
	}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		for _, c := range channels {
			b.subs[c]--
		}
		b.mu.Unlock()
	}()
	return nil
}

func (b *countingBus) subscribed(channel string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.subs[channel]
}

// multi is one gateway serving every canvas of an embedded directory.
type multi struct {
	t        testing.TB
	gw       *Gateway
	dir      *canvasdir.Directory
	bus      *countingBus
	presence *mempresence.Presence
	url      string
}

func newMulti(t testing.TB, grace, refresh time.Duration) *multi {
	t.Helper()
	clock := system.NewClock()
	bus := &countingBus{Bus: membus.New(), subs: map[string]int{}}
	stores, err := logstore.NewStores(logstore.StoresOptions{Options: logstore.Options{HistorySize: 1000, Bus: bus, Clock: clock}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stores.Close() })
	mainStore, err := stores.Open(context.Background(), domain.MainSlug, domain.DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := canvasdir.Open(canvasdir.Options{Dir: t.TempDir(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	presence := mempresence.New(clock)
	gw := NewGateway(GatewayOptions{
		HubOptions: HubOptions{GatewayID: "gw_test", Store: mainStore, Bus: bus, Presence: presence, Clock: clock,
			Metrics: metrics.New(), CursorFlush: 20 * time.Millisecond, DrainSpread: -1},
		Canvases: dir, Stores: stores, IdleGrace: grace, CanvasRefresh: refresh,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := gw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := NewGatewayServer(gw, system.NewIDs(), ServerOptions{})
	url := serveWS(t, srv.Handle, func() { gw.Shutdown(context.Background()) })
	return &multi{t: t, gw: gw, dir: dir, bus: bus, presence: presence, url: url}
}

func (m *multi) create(name string, private bool, rate domain.RateRule) (domain.CanvasInfo, ports.CanvasSecrets) {
	m.t.Helper()
	spec, err := domain.CanvasRules{ServerPixelRate: domain.DefaultPixelRate}.Check(domain.CanvasSpec{Name: name, Size: domain.Size{Width: 20, Height: 10}, Private: private, PixelRate: rate})
	if err != nil {
		m.t.Fatal(err)
	}
	info, secrets, err := m.dir.Create(context.Background(), spec, ports.CanvasLimits{})
	if err != nil {
		m.t.Fatal(err)
	}
	return info, secrets
}

// join connects to a canvas and returns the client and its `connected`.
func (m *multi) join(query string) (*client, map[string]any) {
	m.t.Helper()
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, status, err := dialWS(d, m.url+query)
	if err != nil {
		m.t.Fatalf("dial %s: %v (status %d)", query, err, status)
	}
	c := &client{t: m.t, conn: conn, msgs: make(chan map[string]any, 100000), raw: make(chan []byte, 100000), done: make(chan struct{})}
	m.t.Cleanup(func() { _ = conn.Close() })
	go c.read()
	connected := c.next("connected")
	c.id, _ = connected["clientId"].(string)
	return c, connected
}

// refused dials and returns the HTTP status and JSON error of a refusal.
func (m *multi) refused(query string) (int, string) {
	m.t.Helper()
	resp, err := http.Get(strings.Replace(m.url, "ws://", "http://", 1) + query) // no upgrade headers needed: refused before
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Error string }
	_ = json.Unmarshal(body, &e)
	// The same with a real WebSocket handshake.
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if conn, status, err := dialWS(d, m.url+query); err == nil {
		_ = conn.Close()
		m.t.Fatalf("%s: upgraded, want a refusal", query)
	} else if status != resp.StatusCode {
		m.t.Fatalf("%s: handshake status %d, plain GET %d", query, status, resp.StatusCode)
	}
	return resp.StatusCode, e.Error
}

// drained returns every message c has received so far (and within wait).
func drained(c *client, wait time.Duration) []map[string]any {
	var out []map[string]any
	deadline := time.After(wait)
	for {
		select {
		case m := <-c.msgs:
			out = append(out, m)
		case <-deadline:
			return out
		}
	}
}

func TestCanvasesNeverSeeEachOthersEventsPresenceOrCursors(t *testing.T) {
	m := newMulti(t, time.Minute, time.Minute)
	a, _ := m.create("Canvas A", false, domain.RateRule{})
	b, _ := m.create("Canvas B", false, domain.RateRule{})
	a1, ca := m.join("?canvas=" + string(a.Slug))
	a2, _ := m.join("?canvas=" + string(a.Slug))
	b1, cb := m.join("?canvas=" + string(b.Slug))
	main1, cm := m.join("")
	if ca["canvas"] != string(a.Slug) || ca["name"] != "Canvas A" || ca["width"] != 20.0 || ca["height"] != 10.0 || ca["seq"] != 0.0 {
		t.Errorf("connected on A = %v", ca)
	}
	if cb["canvas"] != string(b.Slug) || cm["canvas"] != "main" || cm["width"] != 50.0 {
		t.Errorf("connected on B = %v, on main = %v", cb, cm)
	}
	for c, name := range map[*client]string{a1: "Ann", a2: "Abe", b1: "Bea", main1: "Max"} {
		c.send(map[string]any{"type": "set_username", "username": name})
	}
	a2.waitFor("user_list", func(msg map[string]any) bool { return len(msg["users"].([]any)) == 2 })
	b1.waitFor("user_list", func(msg map[string]any) bool { return len(msg["users"].([]any)) == 1 })

	// A draws and points; its other client sees all of it, in order.
	const n = 10
	for i := 0; i < n; i++ {
		a1.send(pixel(i, 0, "#FF0000", "a"+string(rune('0'+i))))
	}
	a1.send(map[string]any{"type": "cursor", "x": 3.5, "y": 4.5})
	for i := 1; i <= n; i++ {
		if p := a2.next("pixel_updated"); p["seq"] != float64(i) || p["x"] != float64(i-1) {
			t.Fatalf("A's event %d = %v", i, p)
		}
	}
	a2.waitFor("cursors", func(msg map[string]any) bool {
		cs := msg["cursors"].([]any)
		return len(cs) == 1 && cs[0].(map[string]any)["clientId"] == a1.id
	})
	// B draws one; its own seq starts at 1: nothing of A's counts there.
	b1.send(pixel(0, 0, "#0000FF", "b0"))
	if p := b1.next("pixel_updated"); p["seq"] != 1.0 || p["id"] != "b0" {
		t.Fatalf("B's first event = %v", p)
	}
	for c, others := range map[*client][]string{b1: {"Ann", "Abe", "Max"}, main1: {"Ann", "Abe", "Bea"}} {
		for _, msg := range drained(c, 300*time.Millisecond) {
			switch msg["type"] {
			case "pixel_updated":
				if msg["id"] != "b0" {
					t.Errorf("a client of another canvas got %v", msg)
				}
			case "cursors":
				t.Errorf("a client of another canvas got cursors %v", msg)
			case "user_list":
				for _, u := range msg["users"].([]any) {
					if slices.Contains(others, u.(string)) {
						t.Errorf("user_list of another canvas lists %v: %v", u, msg)
					}
				}
			case "stats":
				if msg["activeUsers"] != 1.0 {
					t.Errorf("stats of another canvas: %v", msg)
				}
			}
		}
	}
	// Presence: one entry per canvas (main's is the gateway's own id), and
	// the lobby's sum per canvas.
	entries, err := m.presence.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	online := domain.OnlineByCanvas(entries)
	if online[a.Slug] != 2 || online[b.Slug] != 1 || online[domain.MainSlug] != 1 {
		t.Errorf("online by canvas = %v (entries %v)", online, entries)
	}
}

func TestCanvasPixelRateIsTheConnectionsLimit(t *testing.T) {
	m := newMulti(t, time.Minute, time.Minute)
	slow, _ := m.create("Slow", false, domain.RateRule{PerSecond: 1, Burst: 3})
	c, connected := m.join("?canvas=" + string(slow.Slug))
	if connected["pixelRate"] != 1.0 || connected["pixelBurst"] != 3.0 || connected["archived"] != false {
		t.Errorf("connected = %v", connected)
	}
	_, cm := m.join("?canvas=main")
	if cm["pixelRate"] != domain.DefaultPixelRate.PerSecond || cm["pixelBurst"] != float64(domain.DefaultPixelRate.Burst) || cm["name"] != "Main canvas" {
		t.Errorf("main's connected = %v", cm)
	}
	for i := 0; i < 4; i++ {
		c.send(pixel(i, 0, "#FF0000", "w"+string(rune('0'+i))))
	}
	// The three accepted writes' echoes come from the store, the refusal
	// from the reader: in either order.
	accepted := 0
	for {
		m := c.nextOf("pixel_updated", "error")
		if m["type"] == "error" {
			if m["code"] != codeRateLimited || m["id"] != "w3" || accepted > 3 {
				t.Errorf("the fourth write within a burst of 3 got %v (after %d echoes)", m, accepted)
			}
			break
		}
		accepted++
	}
}

func TestCanvasHubFollowsItsClients(t *testing.T) {
	const grace = 300 * time.Millisecond
	m := newMulti(t, grace, time.Minute)
	a, _ := m.create("Comes and goes", false, domain.RateRule{})
	ch := ports.PixelChannel(a.Slug)
	if m.gw.Hubs() != 1 || m.bus.subscribed(ch) != 0 {
		t.Fatalf("before any client: %d hubs, %d subscriptions", m.gw.Hubs(), m.bus.subscribed(ch))
	}
	c1, _ := m.join("?canvas=" + string(a.Slug))
	if m.gw.Hubs() != 2 || m.bus.subscribed(ch) != 1 || m.bus.subscribed(UserEventsChannel(a.Slug)) != 1 || m.bus.subscribed(CursorChannel(a.Slug)) != 1 {
		t.Fatalf("with a client: %d hubs, %d subscriptions", m.gw.Hubs(), m.bus.subscribed(ch))
	}
	entry := domain.PresenceEntryID("gw_test", a.Slug)
	hasEntry := func() bool {
		entries, _ := m.presence.List(context.Background())
		return slices.ContainsFunc(entries, func(e domain.GatewayPresence) bool { return e.GatewayID == entry })
	}
	waitfor.True(t, 5*time.Second, "the canvas's presence entry", hasEntry)
	// A reconnect within the grace keeps the hub and its subscription.
	m.gw.mu.Lock()
	first := m.gw.hubs[a.Slug].hub
	m.gw.mu.Unlock()
	_ = c1.conn.Close()
	waitfor.True(t, 5*time.Second, "the client gone", func() bool { return first.ConnCount() == 0 })
	c2, _ := m.join("?canvas=" + string(a.Slug))
	m.gw.mu.Lock()
	again := m.gw.hubs[a.Slug].hub
	m.gw.mu.Unlock()
	if again != first || m.bus.subscribed(ch) != 1 {
		t.Fatalf("a reconnect within the grace made a new hub (%v) or subscription (%d)", again != first, m.bus.subscribed(ch))
	}
	// The last client leaves: after the grace, no hub, no subscription, no
	// presence entry.
	_ = c2.conn.Close()
	left := time.Now()
	waitfor.True(t, 5*time.Second, "the hub stopped", func() bool { return m.gw.Hubs() == 1 })
	if since := time.Since(left); since < grace-50*time.Millisecond {
		t.Errorf("the hub stopped %v after its last client left, before the grace (%v)", since, grace)
	}
	waitfor.True(t, 5*time.Second, "unsubscribed", func() bool {
		return m.bus.subscribed(ch) == 0 && m.bus.subscribed(UserEventsChannel(a.Slug)) == 0 && m.bus.subscribed(CursorChannel(a.Slug)) == 0
	})
	if hasEntry() {
		t.Error("the stopped hub's presence entry is still listed")
	}
	// The next client subscribes again, and events flow.
	c3, connected := m.join("?canvas=" + string(a.Slug))
	if m.bus.subscribed(ch) != 1 || m.gw.Hubs() != 2 {
		t.Fatalf("after a new client: %d subscriptions, %d hubs", m.bus.subscribed(ch), m.gw.Hubs())
	}
	c3.send(pixel(1, 1, "#00FF00", "again"))
	if p := c3.next("pixel_updated"); p["id"] != "again" || p["seq"] != connected["seq"].(float64)+1 {
		t.Errorf("after the hub came back: %v (connected %v)", p, connected)
	}
	// Main's hub never stops.
	if m.bus.subscribed(ports.ChannelPixelUpdates) != 1 {
		t.Errorf("main's subscriptions: %d", m.bus.subscribed(ports.ChannelPixelUpdates))
	}
}

func TestPrivateCanvasIsRefusedWithoutItsInvite(t *testing.T) {
	m := newMulti(t, time.Minute, time.Minute)
	secret, sec := m.create("Secret", true, domain.RateRule{})
	q := "?canvas=" + string(secret.Slug)
	for _, query := range []string{q, q + "&invite=", q + "&invite=wrong", "?canvas=no-such-canvas", "?canvas=api"} {
		if status, msg := m.refused(query); status != http.StatusNotFound || msg != "Canvas not found" {
			t.Errorf("%s: %d %q, want 404 Canvas not found", query, status, msg)
		}
	}
	if status, _ := m.refused("?canvas=Not_A_Slug"); status != http.StatusBadRequest {
		t.Errorf("a bad slug: %d, want 400", status)
	}
	if _, connected := m.join(q + "&invite=" + sec.Invite); connected["canvas"] != string(secret.Slug) {
		t.Errorf("with its invite: %v", connected)
	}
	// A revoked invite stops working at once for new connections.
	if _, err := m.dir.RotateInvite(context.Background(), secret.Slug); err != nil {
		t.Fatal(err)
	}
	if status, _ := m.refused(q + "&invite=" + sec.Invite); status != http.StatusNotFound {
		t.Errorf("a revoked invite: %d, want 404", status)
	}
}

func TestArchivedCanvasRefusesWrites(t *testing.T) {
	m := newMulti(t, time.Minute, 50*time.Millisecond)
	old, _ := m.create("Old", false, domain.RateRule{})
	live, _ := m.create("Live", false, domain.RateRule{})
	before, _ := m.join("?canvas=" + string(live.Slug))
	before.send(pixel(0, 0, "#FF0000", "ok"))
	if p := before.next("pixel_updated"); p["id"] != "ok" {
		t.Fatalf("before archiving: %v", p)
	}
	for _, s := range []domain.Slug{old.Slug, live.Slug} {
		if err := m.dir.Archive(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	c, connected := m.join("?canvas=" + string(old.Slug))
	if connected["archived"] != true {
		t.Errorf("connected = %v", connected)
	}
	c.send(pixel(0, 0, "#FF0000", "w1"))
	if e := c.next("error"); e["code"] != codeArchived || e["id"] != "w1" || e["message"] != msgArchived {
		t.Errorf("a write to an archived canvas got %v", e)
	}
	// A client connected before the canvas was archived is refused too,
	// once the hub has read the directory again.
	waitfor.True(t, 5*time.Second, "the hub knows", func() bool {
		m.gw.mu.Lock()
		defer m.gw.mu.Unlock()
		return m.gw.hubs[live.Slug].hub.Canvas().Archived
	})
	before.send(pixel(1, 0, "#FF0000", "late"))
	if e := before.next("error"); e["code"] != codeArchived || e["id"] != "late" {
		t.Errorf("a write after archiving got %v", e)
	}
}

func TestGatewayDrainClosesEveryCanvasAndWithdraws(t *testing.T) {
	m := newMulti(t, time.Minute, time.Minute)
	a, _ := m.create("Drained", false, domain.RateRule{})
	ca, _ := m.join("?canvas=" + string(a.Slug))
	cm, _ := m.join("")
	waitfor.True(t, 5*time.Second, "both entries", func() bool {
		entries, _ := m.presence.List(context.Background())
		return len(entries) == 2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.gw.Shutdown(ctx)
	for _, c := range []*client{ca, cm} {
		if code := c.closeCode(); code != websocket.CloseServiceRestart {
			t.Errorf("close code %d, want 1012", code)
		}
	}
	if entries, _ := m.presence.List(context.Background()); len(entries) != 0 {
		t.Errorf("entries after the drain: %v", entries)
	}
	if status, _ := m.refused("?canvas=" + string(a.Slug)); status != http.StatusServiceUnavailable {
		t.Errorf("a canvas during the drain: %d, want 503", status)
	}
	if m.bus.subscribed(ports.PixelChannel(a.Slug)) != 0 {
		waitfor.True(t, 5*time.Second, "unsubscribed", func() bool { return m.bus.subscribed(ports.PixelChannel(a.Slug)) == 0 })
	}
}
