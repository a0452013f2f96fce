package redistest_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestRestartKeepsPortAndData(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	addr := r.Addr()
	c := r.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	r.Stop(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded while the container is stopped")
	}
	r.Start(t)

	if r.Addr() != addr {
		t.Fatalf("address changed across a restart: %s -> %s", addr, r.Addr())
	}
	got, err := c.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after restart GET k = %q, %v; want v", got, err)
	}
}

// TestKillKeepsAcknowledgedWrites: a SIGKILLed Redis comes back with every
// write it answered, from its append-only file.
func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	c := r.Client(t)
	const n = 2000
	for i := range n {
		if err := c.Set(ctx, "k"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r.Kill(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after the kill")
	}
	r.Start(t)
	if got, err := c.DBSize(ctx).Result(); err != nil || got != n {
		t.Fatalf("after SIGKILL and restart DBSIZE = %d, %v; want %d", got, err, n)
	}
	if got, err := c.Get(ctx, "k"+strconv.Itoa(n-1)).Int(); err != nil || got != n-1 {
		t.Fatalf("the last write before the kill: %d, %v", got, err)
	}
}

func TestSharedIsOneContainerAndFlushEmptiesIt(t *testing.T) {
	ctx := context.Background()
	a, b := redistest.Shared(t), redistest.Shared(t)
	if a != b || a.Addr() != b.Addr() {
		t.Fatalf("Shared started two containers: %s and %s", a.Addr(), b.Addr())
	}
	c := a.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	a.Flush(t)
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("after Flush DBSIZE = %d, %v; want 0", n, err)
	}
}

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

// TestClusterReplicaTakesOver: the replica of {canvas}'s master holds what
// the master acknowledged once it has caught up, and when the master is
// SIGKILLed it is promoted and serves that data to a cluster client.
func TestClusterReplicaTakesOver(t *testing.T) {
	ctx := context.Background()
	c := redistest.StartClusterWithReplica(t)
	cc := c.Client(t)
	const n = 500
	for i := range n {
		if err := cc.Set(ctx, "{canvas}:k"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitReplicaCaughtUp(t, 10*time.Second)
	// A replica answers reads of its slots only on a READONLY connection.
	conn := c.Replica.Client(t).Conn()
	defer conn.Close()
	if err := conn.ReadOnly(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := conn.Get(ctx, "{canvas}:k"+strconv.Itoa(n-1)).Int(); err != nil || got != n-1 {
		t.Fatalf("the replica, caught up, has the last write as %d, %v", got, err)
	}

	c.Nodes[0].Kill(t)
	start := time.Now()
	c.WaitPromoted(t, 30*time.Second)
	t.Logf("the replica was promoted %s after the kill (cluster-node-timeout %s)", time.Since(start).Round(100*time.Millisecond), redistest.FailoverNodeTimeout)
	// A new client learns the slot map from the survivors.
	after := c.Client(t)
	if got, err := after.Get(ctx, "{canvas}:k"+strconv.Itoa(n-1)).Int(); err != nil || got != n-1 {
		t.Fatalf("after the failover the last write reads %d, %v", got, err)
	}
	if err := after.Set(ctx, "{canvas}:after", 1, 0).Err(); err != nil {
		t.Fatalf("write after the failover: %v", err)
	}
	if n, err := c.Replica.Client(t).Exists(ctx, "{canvas}:after").Result(); err != nil || n != 1 {
		t.Fatalf("the write after the failover is not on the promoted replica: %d, %v", n, err)
	}
}
