package ws

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// These tests pin down how the hub recovers when replaying is not the
// answer: a store that went backwards, and gaps too long to replay.

// placeMany writes n pixels straight to the store, in batches.
func placeMany(t *testing.T, s ports.CanvasStore, n int) {
	t.Helper()
	for n > 0 {
		batch := make([]domain.Write, min(n, 1000))
		for i := range batch {
			batch[i] = domain.Write{Pixel: domain.Pixel{X: i % 50, Y: i / 50 % 50, Color: domain.Color(n)}}
		}
		if _, err := s.Place(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		n -= len(batch)
	}
}

// reloadThenFollow expects `resumed` with recovered=false and then, in
// order, every event after the seq it names up to last: the hub may tell
// any position it has reached (writes may still be arriving live), but
// nothing after it may be missing.
func (c *client) reloadThenFollow(last float64) {
	c.t.Helper()
	m := c.next("resumed")
	if m["recovered"] != false {
		c.t.Fatalf("resumed = %v, want recovered=false", m)
	}
	for want := m["seq"].(float64) + 1; want <= last; want++ {
		if p := c.next("pixel_updated"); p["seq"] != want {
			c.t.Fatalf("after resumed at %v: %v, want seq %v", m["seq"], p, want)
		}
	}
}

// swappableStore lets a test replace the backend under a running hub, as
// a Redis that came back without its last writes.
type swappableStore struct {
	mu sync.Mutex
	ports.CanvasStore
}

func (s *swappableStore) current() ports.CanvasStore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.CanvasStore
}

func (s *swappableStore) swap(to ports.CanvasStore) {
	s.mu.Lock()
	s.CanvasStore = to
	s.mu.Unlock()
}

func (s *swappableStore) Place(ctx context.Context, w []domain.Write) ([]domain.Event, error) {
	return s.current().Place(ctx, w)
}

func (s *swappableStore) Since(ctx context.Context, after domain.Seq, epoch domain.Epoch, limit int) (ports.History, error) {
	return s.current().Since(ctx, after, epoch, limit)
}

func (s *swappableStore) Head(ctx context.Context) (domain.Head, error) {
	return s.current().Head(ctx)
}

func (s *swappableStore) Snapshot(ctx context.Context) (domain.Snapshot, error) {
	return s.current().Snapshot(ctx)
}

// The store goes back from seq 5 to 2 and then reuses 3, 4, 5: every
// client is told to reload at 2 and then receives exactly the new events,
// the sender its echoes too. (The old gateway moved back but kept each
// connection's position at 5, so it dropped all of them silently.)
func TestStoreThatWentBackDeliversWhatReusesItsSeqs(t *testing.T) {
	ss := &swappableStore{}
	h := newHarness(t, harnessOptions{syncInterval: 30 * time.Millisecond,
		wrap: func(s ports.CanvasStore) ports.CanvasStore { ss.CanvasStore = s; return ss }})
	writer, watcher := h.dial(""), h.dial("")
	for i := range 5 {
		writer.send(pixel(i, 0, "#FF0000", ""))
		writer.next("pixel_updated")
		watcher.next("pixel_updated")
	}
	restarted, err := logstore.Open(logstore.Options{Size: domain.DefaultSize, Bus: h.bus, Clock: system.NewClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = restarted.Close() })
	placeMany(t, restarted, 2)
	ss.swap(restarted)

	// The hub moves to the new timeline when it sees its first event or
	// its head, whichever comes first: told to reload at 0 or at 2, each
	// client receives the new timeline's events after that.
	for _, c := range []*client{writer, watcher} {
		c.reloadThenFollow(2)
	}
	for i := range 4 {
		writer.send(pixel(i, 3, "#00FF00", "again"))
		want := float64(3 + i)
		if m := writer.next("pixel_updated"); m["seq"] != want || m["id"] != "again" {
			t.Fatalf("writer: %v, want its echo at seq %v", m, want)
		}
		if m := watcher.next("pixel_updated"); m["seq"] != want {
			t.Fatalf("watcher: %v, want seq %v", m, want)
		}
	}
}

// A store emptied altogether (seq back to 0): after `resumed` at 0 the
// clients receive the new writes from seq 1.
func TestStoreThatLostEverythingDeliversItsNewWrites(t *testing.T) {
	ss := &shrinkingStore{}
	h := newHarness(t, harnessOptions{syncInterval: 30 * time.Millisecond,
		wrap: func(s ports.CanvasStore) ports.CanvasStore { ss.CanvasStore = s; return ss }})
	c := h.dial("")
	for i := range 3 {
		c.send(pixel(i, 1, "#FF0000", ""))
		c.next("pixel_updated")
	}
	fresh, err := logstore.Open(logstore.Options{Size: domain.DefaultSize, Bus: h.bus, Clock: system.NewClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fresh.Close() })
	ss.mu.Lock()
	ss.CanvasStore = fresh
	ss.mu.Unlock()
	if m := c.next("resumed"); m["recovered"] != false || m["seq"] != 0.0 {
		t.Fatalf("resumed = %v", m)
	}
	c.send(pixel(9, 9, "#0000FF", "first"))
	if m := c.next("pixel_updated"); m["seq"] != 1.0 || m["id"] != "first" {
		t.Fatalf("first write on the emptied store: %v", m)
	}
}

// A client that missed more than maxReplay events reloads its snapshot
// instead of being replayed into a send queue it would overflow (it used to
// be closed as slow, reconnect with the same since, and be closed again).
func TestResumeFarBehindReloadsAndStaysConnected(t *testing.T) {
	h := newHarness(t, harnessOptions{historySize: 3 * maxReplay, historyLimit: 3 * maxReplay})
	placeMany(t, h.store, 2*maxReplay)
	c := h.dial("?since=1")
	c.reloadThenFollow(2 * maxReplay)
	c.send(pixel(1, 1, "#123456", "after"))
	if m := c.next("pixel_updated"); m["seq"] != 2*maxReplay+1.0 {
		t.Fatalf("first event after the reload: %v", m)
	}
}

// Exactly maxReplay missed events are still replayed.
func TestResumeReplaysUpToMaxReplay(t *testing.T) {
	h := newHarness(t, harnessOptions{historySize: 3 * maxReplay})
	placeMany(t, h.store, maxReplay+5)
	c := h.dial("?since=5&epoch=" + h.epoch())
	for want := 6.0; want <= maxReplay+5; want++ {
		if m := c.next("pixel_updated"); m["seq"] != want {
			t.Fatalf("replay: %v, want seq %v", m, want)
		}
	}
	if m := c.next("resumed"); m["recovered"] != true {
		t.Fatalf("resumed = %v", m)
	}
}

// A gateway whose HISTORY_SIZE is below what the store keeps must not cut
// a replay short and still claim it recovered: that left a hole.
func TestResumeBeyondTheGatewaysLimitReloads(t *testing.T) {
	h := newHarness(t, harnessOptions{historySize: 100, historyLimit: 10})
	placeMany(t, h.store, 50)
	c := h.dial("?since=20")
	c.reloadThenFollow(50) // 30 events exceed the limit of 10
}

// A gap of more than maxReplay events (Pub/Sub lost them all) makes every
// client reload instead of closing them all as slow consumers.
func TestRepairFarBehindReloadsInsteadOfClosingClients(t *testing.T) {
	lost := membus.New() // the hub never hears these events
	h := newHarness(t, harnessOptions{storeBus: lost, historySize: 3 * maxReplay, syncInterval: 30 * time.Millisecond})
	cs := []*client{h.dial(""), h.dial(""), h.dial("")}
	// In one store call, so the gap appears whole: placed in batches, a
	// sync tick between two could repair the first batch (a gap within
	// maxReplay) before the rest made it too long.
	writes := make([]domain.Write, 2*maxReplay)
	for i := range writes {
		writes[i] = domain.Write{Pixel: domain.Pixel{X: i % 50, Y: i / 50 % 50, Color: domain.Color(i)}}
	}
	if _, err := h.store.Place(context.Background(), writes); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		c.reloadThenFollow(2 * maxReplay)
		c.send(map[string]any{"type": "ping"})
		c.next("pong")
	}
	if got := testutil.ToFloat64(h.metrics.SlowClients); got != 0 {
		t.Errorf("%v clients closed as slow", got)
	}
}

// A `resume` reads history from the store, so it is paid for from the
// pixel rate limit: a client looping on it gets rate_limited errors and
// the store is spared.
func TestResumeMessagesAreRateLimited(t *testing.T) {
	h := newHarness(t, harnessOptions{pixelRate: domain.RateRule{PerSecond: 0.001, Burst: 2}})
	c := h.dial("")
	for range 2 {
		c.send(map[string]any{"type": "resume", "since": 0})
		if m := c.next("resumed"); m["recovered"] != true {
			t.Fatalf("resumed = %v", m)
		}
	}
	c.send(map[string]any{"type": "resume", "since": 0})
	if m := c.next("error"); m["code"] != "rate_limited" {
		t.Fatalf("third resume: %v", m)
	}
	if got := testutil.ToFloat64(h.metrics.RateLimited.WithLabelValues("resume")); got != 1 {
		t.Errorf("RateLimited{resume} = %v", got)
	}
}
