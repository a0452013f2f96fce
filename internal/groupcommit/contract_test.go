package groupcommit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/groupcommit"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/storetest"
)

// The contract suites run against the gathering store: its concurrent
// writers (storetest's ConcurrentWriters, SnapshotIsConsistentUnderWrites)
// are gathered into shared store calls, and the suite still finds seqs
// 1..n without gaps, each caller's batch consecutive and in its order,
// history and publication in seq order.
var opts = groupcommit.Options{Window: time.Millisecond, Max: 64}

func TestContractEmbedded(t *testing.T) {
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) (ports.CanvasStore, ports.Bus) {
		bus := membus.New()
		s, err := logstore.Open(logstore.Options{Size: cfg.Size, HistorySize: cfg.HistorySize, Bus: bus})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return groupcommit.New(s, opts), bus
	})
}

func TestStoresContractEmbedded(t *testing.T) {
	storetest.RunStores(t, func(t *testing.T) storetest.Backend {
		bus := membus.New()
		dir := t.TempDir()
		return storetest.Backend{Bus: bus, Durable: true, New: func(t *testing.T) ports.CanvasStores {
			s, err := logstore.NewStores(logstore.StoresOptions{Options: logstore.Options{Dir: dir, HistorySize: 1000, Bus: bus}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return groupcommit.NewStores(s, opts)
		}}
	})
}

func TestContractRedis(t *testing.T) {
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) (ports.CanvasStore, ports.Bus) {
		r := redistest.Shared(t)
		r.Flush(t)
		s, err := redisstore.Open(context.Background(), r.Client(t), redisstore.Options{Size: cfg.Size, HistorySize: cfg.HistorySize})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return groupcommit.New(s, opts), redisbus.New(r.Client(t))
	})
}

func TestStoresContractRedis(t *testing.T) {
	r := redistest.Shared(t)
	client := r.Client(t)
	storetest.RunStores(t, func(t *testing.T) storetest.Backend {
		r.Flush(t)
		return storetest.Backend{Bus: redisbus.New(client), Durable: true, New: func(*testing.T) ports.CanvasStores {
			return groupcommit.NewStores(redisstore.NewStores(client, redisstore.StoresOptions{HistorySize: 1000}), opts)
		}}
	})
}

// countingStore counts the calls of Place that reach the real store.
type countingStore struct {
	ports.CanvasStore
	calls atomic.Int64
}

func (c *countingStore) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	c.calls.Add(1)
	return c.CanvasStore.Place(ctx, writes)
}

// Many writers on a real Redis: their writes reach Redis in fewer calls
// than they made, and every one is accepted with its own event.
func TestWritersShareScriptsOnRedis(t *testing.T) {
	r := redistest.Shared(t)
	r.Flush(t)
	size := domain.Size{Width: 64, Height: 64}
	s, err := redisstore.Open(context.Background(), r.Client(t), redisstore.Options{Size: size})
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingStore{CanvasStore: s}
	g := groupcommit.New(counted, opts)
	const writers, each = 32, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				write := domain.Write{Pixel: domain.Pixel{X: w, Y: i, Color: domain.Color(w<<8 | i)}, Username: fmt.Sprint("w", w)}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				events, err := g.Place(ctx, []domain.Write{write})
				cancel()
				if err != nil || len(events) != 1 || events[0].Pixel != write.Pixel || events[0].Username != write.Username {
					t.Errorf("writer %d, write %d: %v, %v", w, i, events, err)
					return
				}
			}
		})
	}
	wg.Wait()
	calls := counted.calls.Load()
	t.Logf("%d writes reached Redis in %d store calls", writers*each, calls)
	if calls >= writers*each {
		t.Errorf("%d writes took %d store calls: nothing was gathered", writers*each, calls)
	}
}
