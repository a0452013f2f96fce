package redistest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FailoverNodeTimeout is the cluster-node-timeout of a cluster with a
// replica: how long a silent master has before the others deem it failed
// and its replica may take over. Redis's default, 15 s, would make a
// failover test wait that long; a second is still far above any pause a
// healthy container shows on a loaded machine.
const FailoverNodeTimeout = 1000 * time.Millisecond

// StartClusterWithReplica runs, for this test alone, a Redis Cluster of
// three masters, as StartCluster does, plus a replica of Nodes[0], the
// master of {canvas}, with cluster-node-timeout FailoverNodeTimeout. It
// returns once the replica is in sync and every node knows it as the
// replica of Nodes[0]. Three masters is the fewest with which a majority
// survives the loss of one and can elect the replica in its place.
func StartClusterWithReplica(t testing.TB) *Cluster {
	t.Helper()
	const masters = 3
	n := node{args: clusterArgs(FailoverNodeTimeout), listenOnHostPort: true}
	c := &Cluster{}
	for range masters {
		c.Nodes = append(c.Nodes, startForTest(t, n))
	}
	c.Replica = startForTest(t, n)
	c.form(t)

	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	masterID, err := c.Nodes[0].Client(t).Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatalf("redistest: CLUSTER MYID: %v", err)
	}
	rc := c.Replica.Client(t)
	replicaID, err := rc.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatalf("redistest: CLUSTER MYID: %v", err)
	}
	// form returns once every node knows every other, so the replica knows
	// the master it is asked to follow.
	if err := rc.Do(ctx, "CLUSTER", "REPLICATE", masterID).Err(); err != nil {
		t.Fatalf("redistest: CLUSTER REPLICATE %s: %v", masterID, err)
	}
	// The masters' votes elect the replica only if they know it as the
	// failed master's replica, which they learn by gossip, and it may only
	// take over once it has had a copy of the data.
	poll(ctx, t, "the replica to sync and every node to know it as a replica", func() (bool, string) {
		info, err := rc.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			return false, fmt.Sprintf("replica: %v %q", err, info)
		}
		for _, r := range append([]*Redis{c.Replica}, c.Nodes...) {
			nodes, err := r.Client(t).ClusterNodes(ctx).Result()
			if err != nil || !hasLine(nodes, replicaID, "slave", masterID) {
				return false, fmt.Sprintf("node %s: %v\n%s", r.addr, err, nodes)
			}
		}
		return true, ""
	})
	return c
}

// WaitReplicaCaughtUp returns once the replica has applied every write
// its master had accepted when it was called, so that those writes survive
// the master's death; it fails the test after within. Replication is
// asynchronous: without this, a write the master acknowledged a moment ago
// may not be on the replica yet.
func (c *Cluster) WaitReplicaCaughtUp(t testing.TB, within time.Duration) {
	t.Helper()
	if c.Replica == nil {
		t.Fatal("redistest: WaitReplicaCaughtUp on a cluster without a replica")
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	info, err := c.Nodes[0].Client(t).Info(ctx, "replication").Result()
	if err != nil {
		t.Fatalf("redistest: INFO replication of the master: %v", err)
	}
	target, ok := infoInt(info, "master_repl_offset")
	if !ok {
		t.Fatalf("redistest: no master_repl_offset in %q", info)
	}
	rc := c.Replica.Client(t)
	poll(ctx, t, fmt.Sprintf("the replica to reach offset %d", target), func() (bool, string) {
		info, err := rc.Info(ctx, "replication").Result()
		got, ok := infoInt(info, "slave_repl_offset")
		return err == nil && ok && got >= target, fmt.Sprintf("%v %q", err, info)
	})
}

// WaitPromoted returns once the replica has become a master and considers
// the cluster healthy again, which it does only when it serves the slots
// of the master it replaced; it fails the test after within.
func (c *Cluster) WaitPromoted(t testing.TB, within time.Duration) {
	t.Helper()
	if c.Replica == nil {
		t.Fatal("redistest: WaitPromoted on a cluster without a replica")
	}
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	rc := c.Replica.Client(t)
	poll(ctx, t, "the replica to be promoted", func() (bool, string) {
		// Each look has its own short deadline, so that the last one still
		// says what the replica saw (its role and its view of the cluster)
		// instead of only that the overall wait ran out.
		cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer ccancel()
		role, err := rc.Do(cctx, "ROLE").Slice()
		if err != nil || len(role) == 0 || role[0] != "master" {
			nodes, _ := rc.ClusterNodes(cctx).Result()
			return false, fmt.Sprintf("ROLE %v %v; CLUSTER NODES as the replica sees them:\n%s", role, err, nodes)
		}
		info, err := rc.ClusterInfo(cctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok"), fmt.Sprintf("%v %q", err, info)
	})
}

// hasLine reports whether a CLUSTER NODES reply has a line for node id
// whose flags include flag and whose master is master.
func hasLine(nodes, id, flag, master string) bool {
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == id && f[3] == master && slices.Contains(strings.Split(f[2], ","), flag) {
			return true
		}
	}
	return false
}

// infoInt reads an integer field of an INFO reply.
func infoInt(info, field string) (int64, bool) {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
