package ws

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/mempresence"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

// These tests run the hub's delivery goroutine on a fake clock
// (testing/synctest), without sockets: the timing of repairs is exact.

// historyStore is a store whose events were never published: the hub can
// learn of them only from Head and Since. Since fails while down.
type historyStore struct {
	ports.CanvasStore // nil: only what the delivery path calls is here
	mu                sync.Mutex
	latest            domain.Seq
	down              bool
	sinceCalls        int
}

func (s *historyStore) Size() domain.Size { return domain.DefaultSize }

const historyEpoch = "history"

func (s *historyStore) Head(context.Context) (domain.Head, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return domain.Head{Seq: s.latest, Epoch: historyEpoch}, nil
}

func (s *historyStore) Since(_ context.Context, after domain.Seq, epoch domain.Epoch, limit int) (ports.History, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sinceCalls++
	if s.down {
		return ports.History{}, ports.ErrUnavailable
	}
	var events []domain.Event
	for seq := after + 1; seq <= s.latest && len(events) < limit; seq++ {
		events = append(events, domain.Event{Kind: domain.PixelPlaced, Seq: seq})
	}
	return ports.History{Events: events, Complete: epoch == historyEpoch, Head: domain.Head{Seq: s.latest, Epoch: historyEpoch}}, nil
}

func (s *historyStore) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sinceCalls
}

// startBubbleHub starts a hub inside the current synctest bubble; the test
// must shut it down before the bubble ends.
func startBubbleHub(t *testing.T, store ports.CanvasStore, sync time.Duration) (*Hub, *metrics.Metrics) {
	t.Helper()
	m := metrics.New()
	h := NewHub(HubOptions{GatewayID: "gw_bubble", Store: store, Bus: membus.New(),
		Presence: mempresence.New(system.NewClock()), Clock: system.NewClock(), Metrics: m, SyncInterval: sync,
		Log: slog.New(slog.DiscardHandler)})
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, m
}

func (r *registry) deliveredSeq() domain.Seq {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered
}

// A repair that fails is retried at the sync pace, once per tick, never in
// a loop; once history answers, the lost event is delivered.
func TestFailedRepairsAreRetriedAtTheSyncPaceNotInALoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &historyStore{down: true}
		h, m := startBubbleHub(t, store, 50*time.Millisecond)
		defer h.Shutdown(context.Background())
		store.mu.Lock()
		store.latest = 1 // written, but its publication was lost
		store.mu.Unlock()

		time.Sleep(975 * time.Millisecond)
		synctest.Wait()
		// Ticks at 50, 100, ..., 950 ms: the first finds the gateway behind
		// (nothing delivered since it started), each repair fails, and the
		// next is allowed one sync interval later, at the next tick.
		if got := store.calls(); got != 19 {
			t.Fatalf("history was read %d times in 975ms at a 50ms sync pace, want 19", got)
		}
		if got := h.reg.deliveredSeq(); got != 0 {
			t.Fatalf("delivered up to %d while history was down", got)
		}

		store.mu.Lock()
		store.down = false
		store.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if got := h.reg.deliveredSeq(); got != 1 {
			t.Fatalf("delivered up to %d once history answered, want 1", got)
		}
		if got := testutil.ToFloat64(m.Replayed); got != 1 {
			t.Fatalf("Replayed = %v, want 1", got)
		}
	})
}

// Events in flight under load are not a gap: a gateway that keeps
// delivering is never repaired, however far the store runs ahead of it at
// each look; one that stalls is repaired after two looks.
func TestSyncRepairsOnlyAStalledGateway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &historyStore{}
		h, _ := startBubbleHub(t, store, 100*time.Millisecond)
		defer h.Shutdown(context.Background())
		// Just after each tick, one more event is written and published
		// live; the store is always one ahead at the next look.
		time.Sleep(time.Millisecond)
		for seq := domain.Seq(1); seq <= 10; seq++ {
			store.mu.Lock()
			store.latest = seq + 1
			store.mu.Unlock()
			h.feed(seqInput{events: []domain.Event{{Kind: domain.PixelPlaced, Seq: seq}}})
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		if got := store.calls(); got != 0 {
			t.Fatalf("a gateway making progress was repaired %d times", got)
		}
		// Seq 11 is never published: two looks later it is repaired.
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if got, delivered := store.calls(), h.reg.deliveredSeq(); got != 1 || delivered != 11 {
			t.Fatalf("after stalling: %d repairs, delivered up to %d; want 1 repair and 11", got, delivered)
		}
	})
}
