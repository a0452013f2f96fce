package redisstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) (ports.CanvasStore, ports.Bus) {
		r := redistest.Shared(t)
		r.Flush(t)
		s, err := redisstore.Open(context.Background(), r.Client(t), redisstore.Options{Size: cfg.Size, HistorySize: cfg.HistorySize})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s, redisbus.New(r.Client(t))
	})
}

// storesBackend is the factory suite's backend on client, whose data
// flush empties.
func storesBackend(client redis.UniversalClient, flush func(testing.TB)) storetest.StoresFactory {
	return func(t *testing.T) storetest.Backend {
		flush(t)
		return storetest.Backend{Bus: redisbus.New(client), Durable: true, New: func(*testing.T) ports.CanvasStores {
			return redisstore.NewStores(client, redisstore.StoresOptions{HistorySize: 1000})
		}}
	}
}

func TestStoresContract(t *testing.T) {
	r := redistest.Shared(t)
	storetest.RunStores(t, storesBackend(r.Client(t), r.Flush))
}

// TestContractOnCluster runs the same contracts through cluster clients on
// a Redis Cluster of three nodes, each owning a third of the slots: the
// clients must find the node that owns a canvas's slot (a plain client
// would get MOVED from the others), a script whose keys span slots would
// fail with CROSSSLOT, so each canvas's keys must share one hash slot, and
// the events the script publishes on one node must reach a subscriber on
// another. Then canvases whose tags hash to different nodes are kept on
// those nodes.
func TestContractOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) (ports.CanvasStore, ports.Bus) {
		c.Flush(t)
		s, err := redisstore.Open(context.Background(), c.Client(t), redisstore.Options{Size: cfg.Size, HistorySize: cfg.HistorySize})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s, redisbus.New(c.Client(t))
	})
	t.Run("Stores", func(t *testing.T) {
		storetest.RunStores(t, storesBackend(c.Client(t), c.Flush))
	})
	t.Run("CanvasesSpreadOverNodes", func(t *testing.T) { testCanvasesSpread(t, c) })
}

// testCanvasesSpread opens main and two canvases whose hash tags fall on
// the other two nodes: each canvas's keys are on its own node only, and
// each store reads Redis's clock (Open, Ping) on its canvas's node.
func testCanvasesSpread(t *testing.T, c *redistest.Cluster) {
	ctx := context.Background()
	c.Flush(t)
	client := c.Client(t)
	nodeOf := func(key string) int {
		slot, err := client.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return int(slot) * len(c.Nodes) / 16384
	}
	// One slug per node, found by asking the cluster: main is on node 0.
	slugs := make([]domain.Slug, len(c.Nodes))
	slugs[nodeOf(redisstore.KeySeq)] = domain.MainSlug
	for i := 0; i < 100; i++ {
		slug := domain.Slug("canvas-" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		if n := nodeOf(redisstore.KeysOf(slug).Seq); slugs[n] == "" {
			slugs[n] = slug
		}
	}
	for n, slug := range slugs {
		if slug == "" {
			t.Fatalf("no slug of 100 hashes to node %d", n)
		}
	}
	t.Logf("canvases by node: %v", slugs)

	stores := redisstore.NewStores(client, redisstore.StoresOptions{HistorySize: 100})
	defer stores.Close()
	size := domain.Size{Width: 4, Height: 4}
	for n, slug := range slugs {
		for _, node := range c.Nodes {
			if err := node.Client(t).ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
		}
		s, err := stores.Open(ctx, slug, size)
		if err != nil {
			t.Fatalf("Open(%s): %v", slug, err)
		}
		if _, err := s.Place(ctx, []domain.Write{write(1, 1, 0x123456, "u", "")}); err != nil {
			t.Fatalf("Place on %s: %v", slug, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping on %s: %v", slug, err)
		}
		keys := redisstore.KeysOf(slug)
		for m, node := range c.Nodes {
			// A plain client on a node that does not own the slot gets MOVED.
			exists, err := node.Client(t).Exists(ctx, keys.Seq, keys.Size, keys.Pixels, keys.History).Result()
			if m == n && (err != nil || exists != 4) {
				t.Errorf("%s: %d of its keys on its node %d (%v), want all 4", slug, exists, n, err)
			}
			if m != n && (err == nil || !strings.Contains(err.Error(), "MOVED")) {
				t.Errorf("%s: node %d, not the owner, answered %d, %v; want MOVED", slug, m, exists, err)
			}
			// Scripts (the write, the clock's TIME) ran on the canvas's node
			// only: a clock measured elsewhere would misjudge deadlines.
			if ran := scriptCalls(t, node.Client(t)); (m == n) != (ran > 0) {
				t.Errorf("%s: node %d ran %d scripts; want them all on node %d", slug, m, ran, n)
			}
		}
	}
}

// scriptCalls is how many scripts a node ran since CONFIG RESETSTAT.
func scriptCalls(t *testing.T, node *redis.Client) int {
	t.Helper()
	info, err := node.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, line := range strings.Split(info, "\n") {
		for _, cmd := range []string{"cmdstat_evalsha:calls=", "cmdstat_eval:calls="} {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), cmd); ok {
				var n int
				for _, r := range rest {
					if r < '0' || r > '9' {
						break
					}
					n = n*10 + int(r-'0')
				}
				calls += n
			}
		}
	}
	return calls
}
