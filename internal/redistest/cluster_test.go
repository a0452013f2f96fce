package redistest_test

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
)

// TestClusterSpreadsSlotsAndRedirects: in a cluster of two each node owns
// half the slots; a plain client is redirected, with an address reachable
// from here, and a cluster client seeded with one node reaches both.
func TestClusterSpreadsSlotsAndRedirects(t *testing.T) {
	ctx := context.Background()
	c := redistest.StartCluster(t, 2)
	// {canvas} hashes to slot 1466 (first half), {presence} to 15428.
	err := c.Nodes[1].Client(t).Set(ctx, "{canvas}:k", "v", 0).Err()
	if addr, moved := goredis.IsMovedError(err); !moved || addr != c.Nodes[0].Addr() {
		t.Fatalf("plain client on the wrong node: %v; want MOVED to %s", err, c.Nodes[0].Addr())
	}
	cc := c.Nodes[1].ClusterClient(t)
	for _, k := range []string{"{canvas}:k", "{presence}:k"} {
		if err := cc.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatalf("cluster client SET %s: %v", k, err)
		}
	}
	for i, r := range c.Nodes {
		if n, err := r.Client(t).DBSize(ctx).Result(); err != nil || n != 1 {
			t.Errorf("node %d holds %d keys (%v); want 1", i, n, err)
		}
	}
	c.Flush(t)
	if n, err := c.Nodes[0].Client(t).DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("after Flush node 0 holds %d keys (%v)", n, err)
	}
}

// TestClusterNodeTakesAClusterClient: the one-node cluster gives clients
// its published address, so a cluster client works against it too.
func TestClusterNodeTakesAClusterClient(t *testing.T) {
	ctx := context.Background()
	r := redistest.StartClusterNode(t)
	cc := r.ClusterClient(t)
	if err := cc.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Client(t).Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k = %q, %v", got, err)
	}
}
