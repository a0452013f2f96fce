package redistest_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
)

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
	// Usually 2-3 s; a machine running every suite at once has taken
	// longer, and a failed election is retried after a few node timeouts.
	c.WaitPromoted(t, 60*time.Second)
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
