package redistest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// StartClusterNode runs, for this test alone, a Redis with cluster mode on
// that owns all 16384 slots: a one-node Redis Cluster. A plain client works
// against it, yet Redis enforces the cluster's rules, so a script or a
// multi-key command whose keys hash to different slots fails with CROSSSLOT
// just as it would on a real Cluster; a cluster client works too.
func StartClusterNode(t testing.TB) *Redis {
	t.Helper()
	return StartCluster(t, 1).Nodes[0]
}

// Cluster is a Redis Cluster, one container per node.
type Cluster struct {
	// Nodes are the masters in slot order: node i owns the i-th of
	// len(Nodes) equal ranges. {canvas} (slot 1466) is on Nodes[0].
	Nodes []*Redis
	// Replica, when StartClusterWithReplica made one, replicates Nodes[0].
	Replica *Redis
}

// StartCluster runs, for this test alone, a Redis Cluster of n masters
// that split the 16384 slots evenly, and returns once every node sees the
// whole cluster healthy. With two or more nodes a key lives on one node
// only: a plain client gets MOVED for keys of the others, a cluster client
// follows.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("redistest: a cluster of %d nodes", n)
	}
	c := &Cluster{}
	for range n {
		c.Nodes = append(c.Nodes, startForTest(t, node{args: clusterArgs(0), listenOnHostPort: true}))
	}
	c.form(t)
	return c
}

// form introduces the nodes to each other, gives the masters (c.Nodes)
// their slots, and returns once every node, the replica too, sees the
// whole cluster healthy.
func (c *Cluster) form(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	all := c.all()
	first := all[0].Client(t)
	for _, r := range all[1:] {
		// Nodes meet on Docker's network, where each container has its own
		// address; only clients go through the loopback interface.
		ip, err := r.container.ContainerIP(ctx)
		if err != nil {
			t.Fatalf("redistest: container IP of a cluster node: %v", err)
		}
		// Without the bus port, MEET would assume the port + 10000.
		if err := first.Do(ctx, "CLUSTER", "MEET", ip, r.innerPort, r.busPort).Err(); err != nil {
			t.Fatalf("redistest: CLUSTER MEET %s: %v", ip, err)
		}
	}
	const slots = 16384
	n := len(c.Nodes)
	for i, r := range c.Nodes {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if err := r.Client(t).Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatalf("redistest: assign slots %d-%d: %v", lo, hi, err)
		}
	}
	// A node serves keys only once it considers the cluster healthy, and a
	// client may ask any node for the slot map, so every node must know
	// every other and its slots.
	known := fmt.Sprintf("cluster_known_nodes:%d", len(all))
	for _, r := range all {
		nc := r.Client(t)
		poll(ctx, t, fmt.Sprintf("node %s to see a healthy cluster of %d", r.addr, len(all)), func() (bool, string) {
			info, err := nc.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, known), fmt.Sprintf("%v %q", err, info)
		})
	}
}

// all is the masters, then the replica if there is one.
func (c *Cluster) all() []*Redis {
	all := append([]*Redis(nil), c.Nodes...)
	if c.Replica != nil {
		all = append(all, c.Replica)
	}
	return all
}

// clusterArgs makes a container a cluster node, with the given
// cluster-node-timeout (zero: Redis's default).
//
// Clients outside Docker reach a node only through its published port on
// the loopback interface, so that is the endpoint it must give in CLUSTER
// SLOTS and MOVED replies (by default it gives its container address, or
// no address at all before it meets a peer). The endpoint is announced as
// a hostname rather than with cluster-announce-ip, because the announced IP
// is also what nodes gossip for the cluster bus and replication, and the
// other containers would then dial their own loopback. The port, though,
// is one for everyone: a replica connects to its master at the master's
// container address and announced port, so each node listens inside its
// container on the port published for it (start's listenOnHostPort). The
// bus port is fixed (clusterBusPort), since host port + 10000 may not be
// a port at all, except for nodes on their host port, which take the port
// next to it (nodeArgs says why).
func clusterArgs(nodeTimeout time.Duration) []string {
	args := []string{
		"--cluster-enabled", "yes",
		"--cluster-port", strconv.Itoa(clusterBusPort),
		"--cluster-preferred-endpoint-type", "hostname",
		"--cluster-announce-hostname", "127.0.0.1",
	}
	if nodeTimeout > 0 {
		args = append(args, "--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10))
	}
	return args
}

// clusterBusPort is where every cluster node listens for its peers.
const clusterBusPort = 16379

// URL names every node, the replica too, as a seed, the way REDIS_URL
// does with REDIS_CLUSTER=true.
func (c *Cluster) URL() string {
	all := c.all()
	u := "redis://" + all[0].addr
	for i, r := range all[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + r.addr
	}
	return u
}

// Client returns a cluster client seeded with every node and built the way
// the apps build theirs, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *goredis.ClusterClient {
	t.Helper()
	cc, err := redisconn.NewClusterClient(redisconn.Options{URL: c.URL(), Cluster: true})
	if err != nil {
		t.Fatalf("redistest: cluster client: %v", err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// ClusterClient returns a cluster client seeded with this node, built the
// way the apps build theirs, closed when the test ends. The node must be
// part of a cluster (StartCluster, StartClusterNode).
func (r *Redis) ClusterClient(t testing.TB) *goredis.ClusterClient {
	t.Helper()
	c, err := redisconn.NewClusterClient(redisconn.Options{Host: "127.0.0.1", Port: r.port, Cluster: true})
	if err != nil {
		t.Fatalf("redistest: cluster client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Flush deletes every key on every master (a replica follows its own).
func (c *Cluster) Flush(t testing.TB) {
	t.Helper()
	for _, r := range c.Nodes {
		r.Flush(t)
	}
}

// poll calls check until it reports done, and fails the test, with what
// check last said, when ctx's deadline (every caller sets one) passes
// first. The wait itself is waitfor's, the one every test uses.
func poll(ctx context.Context, t testing.TB, what string, check func() (done bool, last string)) {
	t.Helper()
	deadline, _ := ctx.Deadline()
	err := waitfor.Poll(time.Until(deadline), func() error {
		if done, last := check(); !done {
			return errors.New(last)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("redistest: gave up waiting for %s: %v", what, err)
	}
}
