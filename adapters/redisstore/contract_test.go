package redisstore_test

import (
	"context"
	"testing"

	"github.com/pixelplayground/pixelplayground/adapters/contract/storetest"
	"github.com/pixelplayground/pixelplayground/adapters/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redisstore"
	"github.com/pixelplayground/pixelplayground/adapters/redistest"
	"github.com/pixelplayground/pixelplayground/ports"
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

// TestContractOnClusterNode runs the same contract on a one-node Redis
// Cluster, where a script whose keys span slots fails with CROSSSLOT: the
// store's keys must share one hash slot.
func TestContractOnClusterNode(t *testing.T) {
	r := redistest.StartClusterNode(t)
	storetest.Run(t, func(t *testing.T, cfg storetest.Config) (ports.CanvasStore, ports.Bus) {
		r.Flush(t)
		s, err := redisstore.Open(context.Background(), r.Client(t), redisstore.Options{Size: cfg.Size, HistorySize: cfg.HistorySize})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s, redisbus.New(r.Client(t))
	})
}
