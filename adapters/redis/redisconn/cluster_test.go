package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestFrozenClusterNodeFailsWithinTheBound: a cluster node that stops
// answering (paused, as behind a black-holed network) makes a cluster
// client's command fail as unavailable after at most 1+ClusterMaxRedirects
// read timeouts, and the client carries on once the node is back.
func TestFrozenClusterNodeFailsWithinTheBound(t *testing.T) {
	ctx := context.Background()
	r := redistest.StartClusterNode(t)
	c := r.ClusterClient(t)
	if err := c.Set(ctx, "{canvas}:seq", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Pause(t)
	start := time.Now()
	err := redisconn.WrapUnavailable("set", c.Set(ctx, "{canvas}:seq", 2, 0).Err())
	took := time.Since(start)
	r.Unpause(t)
	if !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("write to a frozen node: %v, want ErrUnavailable", err)
	}
	limit := time.Duration(1+redisconn.ClusterMaxRedirects)*redisconn.ReadTimeout + 2*time.Second
	if took > limit {
		t.Errorf("failing took %v, want under %v", took, limit)
	}
	t.Logf("a frozen node failed the write after %v", took.Round(10*time.Millisecond))
	waitfor.Until(t, 10*time.Second, func() error {
		if err := c.Set(ctx, "{canvas}:seq", 3, 0).Err(); err != nil {
			return fmt.Errorf("no recovery after unpause: %w", err)
		}
		return nil
	})
}
