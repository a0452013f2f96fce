package redisstore_test

import (
	"context"
	"testing"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
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

// TestContractOnCluster runs the same contract through cluster clients on a
// Redis Cluster of three nodes, each owning a third of the slots: the
// clients must find the node that owns {canvas} (a plain client would get
// MOVED from the others), a script whose keys span slots would fail with
// CROSSSLOT, so the store's keys must share one hash slot, and the events
// the script publishes on one node must reach a subscriber on another.
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
}
