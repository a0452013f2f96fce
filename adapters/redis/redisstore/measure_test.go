package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/measure"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
)

// TestMeasureCapacityWithShards: the same number of concurrent writers
// write single pixels (one Place, one script, as a REST request or a
// WebSocket message does) to K canvases, for a fixed time, on
//
//   - a one-node Redis Cluster (every canvas on one node),
//   - a three-node Redis Cluster with the same K canvases, whose hash tags
//     spread them evenly over the nodes,
//   - the same three-node cluster with K other canvases all on one node,
//
// each through a cluster client built as the apps build theirs. It
// reports accepted writes/s, and per node the scripts it ran (INFO
// commandstats) and the CPU it used (INFO cpu), plus this process's CPU:
// the writers' share, which competes for the same cores as the nodes.
// Nothing is asserted about time; it fails only if writes fail or a
// canvas's scripts run on a node that does not own it.
//
//	PIXEL_MEASURE=1 PIXEL_REDIS_IMAGE=pixel-redis:local TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost \
//	  go test ./adapters/redis/redisstore -run MeasureCapacityWithShards -count=1 -v
//
// PIXEL_MEASURE_SECONDS sets each phase's length (default 5).
func TestMeasureCapacityWithShards(t *testing.T) {
	if os.Getenv("PIXEL_MEASURE") == "" {
		t.Skip("a measurement: PIXEL_MEASURE=1 to run it")
	}
	const canvases, writers = 6, 24
	seconds, err := measure.EnvInt("PIXEL_MEASURE_SECONDS", 5)
	if err != nil || seconds == 0 {
		t.Fatalf("PIXEL_MEASURE_SECONDS: %v (want at least 1)", err)
	}
	phase := time.Duration(seconds) * time.Second
	ctx := context.Background()

	three := redistest.StartCluster(t, 3)
	one := redistest.StartCluster(t, 1)
	threeClient := three.Client(t)
	nodeOf := func(slug domain.Slug) int {
		slot, err := threeClient.ClusterKeySlot(ctx, redisstore.KeysOf(slug).Seq).Result()
		if err != nil {
			t.Fatal(err)
		}
		return int(slot) * len(three.Nodes) / 16384
	}
	// K canvases, K/3 on each node of the three; K others all on node 0.
	var spread, piled []domain.Slug
	perNode := make([]int, len(three.Nodes))
	for i := 0; len(spread) < canvases || len(piled) < canvases; i++ {
		if i > 10000 {
			t.Fatal("no slugs for every node")
		}
		slug := domain.Slug(fmt.Sprintf("canvas-%d", i))
		n := nodeOf(slug)
		switch {
		case perNode[n] < canvases/len(three.Nodes):
			perNode[n]++
			spread = append(spread, slug)
		case n == 0 && len(piled) < canvases:
			piled = append(piled, slug)
		}
	}
	t.Logf("canvases spread: %v; piled on node 0: %v", spread, piled)

	for _, p := range []struct {
		name    string
		cluster *redistest.Cluster
		slugs   []domain.Slug
	}{
		{"1 node, K canvases", one, spread},
		{"3 nodes, K canvases spread by hash tag", three, spread},
		{"3 nodes, K canvases all on one node", three, piled},
	} {
		r := measureWrites(t, p.cluster, p.slugs, writers, phase)
		for i, n := range r.nodes {
			owns := false
			for _, slug := range p.slugs {
				owns = owns || len(r.nodes) == 1 || nodeOf(slug) == i
			}
			if owns != (n.scripts > 0) {
				t.Errorf("%s: node %d ran %d scripts, owning a canvas: %v", p.name, i, n.scripts, owns)
			}
		}
		var nodes []string
		for i, n := range r.nodes {
			nodes = append(nodes, fmt.Sprintf("node %d: %d scripts (%.0f %%), %.2f CPU s", i, n.scripts, 100*float64(n.scripts)/float64(max(r.scripts(), 1)), n.cpu))
		}
		t.Logf("%s: %d canvases, %d writers, %v: %d accepted writes, %.0f writes/s; this process %.2f CPU s; machine %.0f %% busy; %s",
			p.name, len(p.slugs), writers, phase, r.accepted, float64(r.accepted)/phase.Seconds(), r.clientCPU, 100*r.machineBusy, strings.Join(nodes, "; "))
	}
}

type nodeLoad struct {
	scripts int
	cpu     float64 // seconds, user + sys, of the Redis process
}

type measured struct {
	accepted  int64
	clientCPU float64
	// machineBusy is the share of the machine's CPU time (every core,
	// every process: other work too) that was not idle during the phase.
	machineBusy float64
	nodes       []nodeLoad
}

func (m measured) scripts() int {
	n := 0
	for _, l := range m.nodes {
		n += l.scripts
	}
	return n
}

// measureWrites runs writers goroutines, spread evenly over slugs, each
// placing one pixel per call on its canvas until phase has passed.
func measureWrites(t *testing.T, c *redistest.Cluster, slugs []domain.Slug, writers int, phase time.Duration) measured {
	t.Helper()
	ctx := context.Background()
	c.Flush(t)
	client := c.Client(t)
	stores := redisstore.NewStores(client, redisstore.StoresOptions{HistorySize: redisstore.DefaultHistorySize})
	defer stores.Close()
	size := domain.DefaultSize
	opened := make([]interface {
		Place(context.Context, []domain.Write) ([]domain.Event, error)
	}, len(slugs))
	for i, slug := range slugs {
		s, err := stores.Open(ctx, slug, size)
		if err != nil {
			t.Fatalf("Open(%s): %v", slug, err)
		}
		opened[i] = s
	}
	nodeClients := make([]*redis.Client, len(c.Nodes))
	cpuBefore := make([]float64, len(c.Nodes))
	for i, n := range c.Nodes {
		nodeClients[i] = n.Client(t)
		if err := nodeClients[i].ConfigResetStat(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		cpuBefore[i] = redistest.CPU(t, nodeClients[i])
	}
	clientBefore := measure.ProcessCPU()
	busyBefore, allBefore := measure.MachineCPU()

	var accepted atomic.Int64
	var failed atomic.Value
	deadline := time.Now().Add(phase)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			s := opened[w%len(opened)]
			for i := w; time.Now().Before(deadline); i += writers {
				px := write(i%size.Width, (i/size.Width)%size.Height, domain.Color(i&0xFFFFFF), "measure", "")
				events, err := s.Place(ctx, []domain.Write{px})
				if err != nil {
					failed.Store(err)
					return
				}
				accepted.Add(int64(len(events)))
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		t.Fatalf("Place: %v", err)
	}
	m := measured{accepted: accepted.Load(), clientCPU: measure.ProcessCPU() - clientBefore}
	if busy, all := measure.MachineCPU(); all > allBefore {
		m.machineBusy = float64(busy-busyBefore) / float64(all-allBefore)
	}
	for i, nc := range nodeClients {
		m.nodes = append(m.nodes, nodeLoad{scripts: scriptCalls(t, nc), cpu: redistest.CPU(t, nc) - cpuBefore[i]})
	}
	if got := m.scripts(); int64(got) < m.accepted {
		t.Errorf("%d scripts ran for %d accepted writes", got, m.accepted)
	}
	return m
}
