// Package redistest starts a throw-away Redis in Docker for tests, with
// testcontainers-go.
//
// Three ways to get one:
//
//   - Start gives a test its own container, terminated when the test ends.
//     Only such a container may be stopped and started again, or paused
//     (outage tests): it keeps its host port and, thanks to the append-only
//     file, its data.
//   - Shared gives every test of a test binary the same container, so a
//     package's tests do not each pay a second for a fresh one. Users of
//     Shared must call Flush before relying on an empty Redis, must not run
//     such tests in parallel with each other, and must never Stop it.
//   - StartCluster (and StartClusterNode, its one-node case) gives a test a
//     Redis Cluster of its own, one container per node, whose nodes tell
//     clients addresses reachable from the host, so a go-redis cluster
//     client works against it. StartClusterWithReplica adds a replica of
//     the master of {canvas}, and a node timeout short enough for a
//     failover test: Kill that master and the replica takes over.
//
// A package using Shared terminates the container from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		redistest.Cleanup()
//		os.Exit(code)
//	}
//
// The image comes from PIXEL_REDIS_IMAGE (default redis:7-alpine, which a
// developer's machine pulls; CI builds pixel-redis:local with
// scripts/redis-image.sh because it cannot pull). When Docker is unreachable
// tests are skipped with a message saying so, except under CI=true, where a
// missing Docker is a failure rather than silently untested code.
package redistest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	dockerclient "github.com/moby/moby/client"
	goredis "github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
)

// ImageEnv names the environment variable that picks the Redis image.
const ImageEnv = "PIXEL_REDIS_IMAGE"

// DefaultImage is the image used when ImageEnv is unset.
const DefaultImage = "redis:7-alpine"

// Label marks every container this package starts, so a CI script can remove
// any that a killed test binary left behind:
// docker rm -f $(docker ps -aq --filter label=pixelplayground.test=redis)
const Label = "pixelplayground.test"

// How long a container may take to start, and Redis to answer PING after a
// (re)start, before the test fails. A restart replays the append-only file.
const (
	startTimeout = 60 * time.Second
	readyTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// Redis is one running (or stopped) Redis container.
type Redis struct {
	container *tcredis.RedisContainer
	addr      string // 127.0.0.1:<fixed host port>
	port      int
	// innerPort is where Redis listens inside its container: 6379, or for
	// a cluster node the host port itself (see clusterArgs).
	innerPort int
}

// node says how to run one container: extra redis-server flags, and
// whether Redis listens inside the container on the port published for it
// rather than on 6379.
type node struct {
	args             []string
	listenOnHostPort bool
}

// Start runs a Redis container for this test alone and terminates it when
// the test ends.
func Start(t testing.TB) *Redis {
	t.Helper()
	return startForTest(t, node{})
}

// startForTest starts a container as n says and terminates it when the
// test ends.
func startForTest(t testing.TB, n node) *Redis {
	t.Helper()
	requireDocker(t)
	r, err := start(context.Background(), tclog.TestLogger(t), n)
	if r != nil {
		t.Cleanup(func() {
			if err := r.terminate(); err != nil {
				t.Errorf("redistest: terminate container: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("redistest: start Redis (%s): %v", image(), err)
	}
	return r
}

var shared struct {
	once sync.Once
	r    *Redis
	err  error
}

// Shared returns the test binary's shared Redis, starting it on first use.
// It is never stopped; call Flush for a clean slate and Cleanup from
// TestMain to terminate it.
func Shared(t testing.TB) *Redis {
	t.Helper()
	requireDocker(t)
	shared.once.Do(func() {
		// Not the test's logger: the container outlives the first test.
		shared.r, shared.err = start(context.Background(), quietLogger{}, node{})
	})
	if shared.err != nil {
		t.Fatalf("redistest: start the shared Redis (%s): %v", image(), shared.err)
	}
	return shared.r
}

// Cleanup terminates the shared container, if one was started. Call it from
// TestMain after m.Run; it is safe to call when Shared was never used.
func Cleanup() {
	if shared.r == nil {
		return
	}
	if err := shared.r.terminate(); err != nil {
		fmt.Fprintf(os.Stderr, "redistest: terminate the shared Redis: %v\n", err)
	}
	shared.r = nil
}

// Addr is host:port for clients, on the loopback interface.
func (r *Redis) Addr() string { return r.addr }

// Port is the fixed host port, the same across Stop and Start.
func (r *Redis) Port() int { return r.port }

// Client returns a new client built the way the apps build theirs (with
// redisconn, so the same fail-fast timeouts), closed when the test ends.
func (r *Redis) Client(t testing.TB) *goredis.Client {
	t.Helper()
	c, err := redisconn.NewClient(redisconn.Options{Host: "127.0.0.1", Port: r.port})
	if err != nil {
		t.Fatalf("redistest: client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
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

// Stop stops the container (Redis shuts down cleanly, flushing its
// append-only file); clients then get connection errors until Start.
func (r *Redis) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout+5*time.Second)
	defer cancel()
	timeout := stopTimeout
	if err := r.container.Stop(ctx, &timeout); err != nil {
		t.Fatalf("redistest: stop Redis: %v", err)
	}
}

// Start starts a stopped container again, on the same host port and with the
// data it had, and returns once Redis answers PING (it replays its
// append-only file first).
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := r.container.Start(ctx); err != nil {
		t.Fatalf("redistest: restart Redis: %v", err)
	}
	if err := r.waitReady(ctx); err != nil {
		t.Fatalf("redistest: Redis not ready after restart: %v", err)
	}
}

// Kill ends Redis with SIGKILL, as the kernel's OOM killer or a crashed
// node would: no clean shutdown, no final flush. Start brings it back with
// what its append-only file holds. Redis writes the file before it replies,
// so every acknowledged write survives a process kill; only a crash of the
// machine itself can lose the last second (appendfsync everysec).
func (r *Redis) Kill(t testing.TB) {
	t.Helper()
	r.dockerCall(t, "kill", func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerKill(ctx, id, dockerclient.ContainerKillOptions{Signal: "KILL"})
		return err
	})
}

// Pause freezes Redis without closing anything: connections stay open and
// new ones are even accepted, but nothing is answered, as when the network
// silently drops packets. Only a client's own timeouts notice.
func (r *Redis) Pause(t testing.TB) {
	t.Helper()
	r.dockerCall(t, "pause", func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerPause(ctx, id, dockerclient.ContainerPauseOptions{})
		return err
	})
}

// Unpause lets a paused Redis carry on.
func (r *Redis) Unpause(t testing.TB) {
	t.Helper()
	r.dockerCall(t, "unpause", func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerUnpause(ctx, id, dockerclient.ContainerUnpauseOptions{})
		return err
	})
}

func (r *Redis) dockerCall(t testing.TB, what string, call func(context.Context, *testcontainers.DockerClient, string) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatalf("redistest: %s: docker client: %v", what, err)
	}
	defer dc.Close()
	if err := call(ctx, dc, r.container.GetContainerID()); err != nil {
		t.Fatalf("redistest: %s: %v", what, err)
	}
}

// Flush deletes every key in every database.
func (r *Redis) Flush(t testing.TB) {
	t.Helper()
	c := r.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.FlushAll(ctx).Err(); err != nil {
		t.Fatalf("redistest: FLUSHALL: %v", err)
	}
}

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

// FailoverNodeTimeout is the cluster-node-timeout of a cluster with a
// replica: how long a silent master has before the others deem it failed
// and its replica may take over. Redis's default, 15 s, would make a
// failover test wait that long; a second is still far above any pause a
// healthy container shows on a loaded machine.
const FailoverNodeTimeout = 1000 * time.Millisecond

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
		if err := first.Do(ctx, "CLUSTER", "MEET", ip, r.innerPort, clusterBusPort).Err(); err != nil {
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
		role, err := rc.Do(ctx, "ROLE").Slice()
		if err != nil || len(role) == 0 || role[0] != "master" {
			return false, fmt.Sprintf("ROLE %v %v", role, err)
		}
		info, err := rc.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok"), fmt.Sprintf("%v %q", err, info)
	})
}

// poll calls check every 50 ms until it reports done, and fails the test,
// with what check last said, when ctx ends first.
func poll(ctx context.Context, t testing.TB, what string, check func() (done bool, last string)) {
	t.Helper()
	for {
		done, last := check()
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: gave up waiting for %s: %s", what, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
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
// a port at all.
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

// Flush deletes every key on every master (a replica follows its own).
func (c *Cluster) Flush(t testing.TB) {
	t.Helper()
	for _, r := range c.Nodes {
		r.Flush(t)
	}
}

// start runs a container as n says.
func start(ctx context.Context, logger tclog.Logger, n node) (*Redis, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var lastErr error
	// Between finding a free port and Docker binding it another process may
	// take it; a second or third try gets another port.
	for range 3 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		inner := 6379
		if n.listenOnHostPort {
			inner = port
		}
		innerPort := network.MustParsePort(strconv.Itoa(inner) + "/tcp")
		ctr, err := tcredis.Run(ctx, image(),
			// The module exposes 6379 (left unpublished for a node that
			// listens elsewhere); this is the port that is published.
			testcontainers.WithExposedPorts(innerPort.String()),
			testcontainers.WithLogger(logger),
			// Works for both the official image (its entrypoint prepends
			// redis-server to flags) and ours (the entrypoint is redis-server):
			// persist every write so a restart keeps the data, skip RDB dumps.
			testcontainers.WithCmd(append([]string{"--port", strconv.Itoa(inner), "--appendonly", "yes", "--save", ""}, n.args...)...),
			testcontainers.WithLabels(map[string]string{Label: "redis"}),
			// A fixed host port survives a restart; an ephemeral one would not.
			testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
				hc.PortBindings = network.PortMap{
					innerPort: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(port)}},
				}
			}),
			// A log wait would be satisfied at once by a restart (the old
			// line is still in the log), so readiness is checked with PING
			// below instead; the port check skips the in-container probe,
			// which needs a shell our scratch image lacks.
			testcontainers.WithWaitStrategy(wait.ForListeningPort(innerPort.String()).SkipInternalCheck().WithStartupTimeout(startTimeout)),
		)
		r := &Redis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port, innerPort: inner}
		if ctr != nil {
			r.container = ctr
		}
		if err != nil {
			lastErr = err
			if r.container != nil {
				_ = r.terminate()
			}
			if isPortConflict(err) {
				continue
			}
			return nil, err
		}
		if err := r.waitReady(ctx); err != nil {
			_ = r.terminate()
			return nil, err
		}
		return r, nil
	}
	return nil, lastErr
}

func (r *Redis) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: r.addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	for {
		err := c.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no PONG from %s: %w", r.addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *Redis) terminate() error {
	if r == nil || r.container == nil {
		return nil
	}
	err := testcontainers.TerminateContainer(r.container, testcontainers.StopTimeout(0))
	r.container = nil
	return err
}

func image() string {
	if img := strings.TrimSpace(os.Getenv(ImageEnv)); img != "" {
		return img
	}
	return DefaultImage
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func isPortConflict(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "address already in use") || strings.Contains(msg, "port is already allocated")
}

var dockerCheck struct {
	once sync.Once
	err  error
}

// requireDocker skips (or, under CI, fails) when no Docker engine answers.
func requireDocker(t testing.TB) {
	t.Helper()
	dockerCheck.once.Do(func() {
		configureTestcontainers()
		dockerCheck.err = pingDocker()
	})
	if dockerCheck.err == nil {
		return
	}
	msg := fmt.Sprintf("redistest: Docker is not reachable, so the Redis tests cannot run (%v); "+
		"start a Docker engine (see docs / .ci/run) or set DOCKER_HOST", dockerCheck.err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func pingDocker() (err error) {
	// testcontainers panics on some broken Docker setups; treat that as absent.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("docker client panicked: %v", p)
		}
	}()
	provider, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(quietLogger{}))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := provider.Health(ctx); err != nil {
		return err
	}
	return nil
}

// configureTestcontainers applies the settings our machines need (see the
// toolchain notes) unless the environment already chose: the reaper image
// cannot be pulled without a registry (and every container here is
// terminated explicitly anyway), and a local engine is reached on localhost,
// not on the address testcontainers guesses when it thinks it runs inside a
// container.
func configureTestcontainers() {
	setDefault("TESTCONTAINERS_RYUK_DISABLED", "true")
	if host := os.Getenv("DOCKER_HOST"); host == "" || strings.HasPrefix(host, "unix://") {
		setDefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	}
}

func setDefault(name, value string) {
	if _, ok := os.LookupEnv(name); !ok {
		_ = os.Setenv(name, value)
	}
}

// quietLogger drops testcontainers' progress lines for containers that
// outlive any one test (a test's logger must not be used after it ends).
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// Main is a TestMain for packages that use Shared: it runs the tests, then
// terminates the shared container.
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}
