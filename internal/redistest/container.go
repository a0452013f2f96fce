package redistest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	goredis "github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// How long a container may take to start, and Redis to answer PING after a
// (re)start, before the test fails. A restart replays the append-only file.
const (
	startTimeout = 60 * time.Second
	readyTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// node says how to run one container: extra redis-server flags, and
// whether Redis listens inside the container on the port published for it
// rather than on 6379.
type node struct {
	args             []string
	listenOnHostPort bool
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
			testcontainers.WithCmd(append([]string{"--port", strconv.Itoa(inner), "--appendonly", "yes", "--save", ""}, nodeArgs(n, inner, busPort(n, inner))...)...),
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
		r := &Redis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port, innerPort: inner, busPort: busPort(n, inner)}
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

// waitReady returns once Redis answers PING, or with the last error when
// readyTimeout, or ctx, ends first.
func (r *Redis) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: r.addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline, _ := ctx.Deadline()
	if err := waitfor.Poll(time.Until(deadline), func() error { return c.Ping(ctx).Err() }); err != nil {
		return fmt.Errorf("no PONG from %s: %w", r.addr, err)
	}
	return nil
}

// terminate removes the container at once (no grace period: its data is
// thrown away anyway); it is safe on a nil or already terminated Redis.
func (r *Redis) terminate() error {
	if r == nil || r.container == nil {
		return nil
	}
	err := testcontainers.TerminateContainer(r.container, testcontainers.StopTimeout(0))
	r.container = nil
	return err
}

// image is the Redis image to run: ImageEnv, or DefaultImage.
func image() string {
	if img := strings.TrimSpace(os.Getenv(ImageEnv)); img != "" {
		return img
	}
	return DefaultImage
}

// freePort asks the kernel for a port free at this moment; the caller
// publishes the container on it, so it stays the same across restarts.
func freePort() (int, error) {
	// Below the kernel's ephemeral range: a container restarted on its
	// port (outage tests) leaves the port unbound for a moment, and a
	// client retrying 127.0.0.1:P meanwhile can be given P as its own
	// source port by the kernel (a TCP self-connect), holding the port so
	// the restart fails with "address already in use" (seen in CI). No
	// outgoing connection takes a port outside the ephemeral range.
	low := ephemeralLow()
	for range 50 {
		port := 10000 + rand.IntN(low-10000-1) // -1: a cluster node's bus port is port+1
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		_ = l.Close()
		if l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1)); err == nil {
			_ = l2.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("find a free port below %d: 50 tries, all taken", low)
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default 32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				return n
			}
		}
	}
	return 32768
}

// isPortConflict reports whether Docker failed because another process
// took the port between freePort and the bind, which a retry fixes.
func isPortConflict(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "address already in use") || strings.Contains(msg, "port is already allocated")
}

// busPort is the cluster bus port of a node listening on inner: the fixed
// one, except for a cluster node that listens on its host port, which gets
// the port next to it. Docker hands a killed container's address to the
// next container it starts, and with one bus port for every node, another
// test's node started meanwhile answered the cluster's gossip at the dead
// master's address, so the master was never deemed failed and its replica
// never took over (seen in CI: the replica's view had the master as
// "noaddr", not "fail"). Ports published on the host are unique at any
// moment, so their neighbours are too.
func busPort(n node, inner int) int {
	if !n.listenOnHostPort {
		return clusterBusPort
	}
	if inner+1 > 65535 {
		return inner - 1
	}
	return inner + 1
}

// nodeArgs are n's flags with its cluster bus port, if it has one, set to
// bus.
func nodeArgs(n node, inner, bus int) []string {
	args := slices.Clone(n.args)
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--cluster-port" {
			args[i+1] = strconv.Itoa(bus)
		}
	}
	return args
}
