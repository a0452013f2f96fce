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
//   - StartSentinels gives a test a master, replicas and three Sentinels
//     (sentinel.go), each on the host's network so that the addresses
//     Sentinel hands out work from the test; Freeze/Thaw (SIGSTOP/SIGCONT)
//     and Kill any node, make the replicas lag on purpose (LagReplicas),
//     cut the app off from the master with a Proxy, and check what
//     survived with Writers (writers.go), which record every write's
//     outcome; StartWith runs a single Redis with extra flags.
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
	"os"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"

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

// Redis is one running (or stopped) Redis container.
type Redis struct {
	container *tcredis.RedisContainer
	addr      string // 127.0.0.1:<fixed host port>
	port      int
	// innerPort is where Redis listens inside its container: 6379, or for
	// a cluster node the host port itself (see clusterArgs).
	innerPort int
	// busPort is where a cluster node listens for its peers (busPort in
	// container.go).
	busPort int
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

// shared is the test binary's one shared container (Shared), started on
// first use.
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

// Main is a TestMain for packages that use Shared: it runs the tests, then
// terminates the shared container.
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
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
