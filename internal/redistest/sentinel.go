package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	goredis "github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
)

// A Sentinel set: one master, its replicas and three Sentinels, each in a
// container of its own on the host's network. Sentinel hands clients the
// addresses it learns, the master's from its configuration and the
// replicas' from the master's INFO (the address their connection came
// from, the port they announce), and uses the same addresses itself; on
// Docker's bridge network those would be container addresses the test
// process may not reach, and published ports would be ports nobody
// listens on inside. On the host's network every node listens on
// 127.0.0.1 at a port of its own, and every address is the same from
// everywhere.

// MasterName is the name the Sentinels monitor the master by.
const MasterName = "pixel"

// SentinelDownAfter is the Sentinels' down-after-milliseconds: how long a
// silent master has before it is deemed down and a failover starts.
// Production uses a second or two as well (k8s/components/redis-sentinel).
const SentinelDownAfter = 1000 * time.Millisecond

// SentinelOptions shape a Sentinel set.
type SentinelOptions struct {
	// Replicas of the master; 0 means 1.
	Replicas int
	// LaggableReplicas puts a Proxy (Sentinels.ReplicaLinks) between
	// each replica and the master, so that the test can make them lag on
	// purpose (LagReplicas).
	LaggableReplicas bool
	// MinReplicasToWrite and MinReplicasMaxLag set the master's
	// min-replicas-to-write and min-replicas-max-lag (seconds); 0: unset.
	MinReplicasToWrite, MinReplicasMaxLag int
	// AppendFsync is the data nodes' appendfsync (default "always", so a
	// killed node loses nothing it acknowledged; "everysec" is
	// production's).
	AppendFsync string
}

// Sentinels is a running Sentinel set.
type Sentinels struct {
	// Master is the master at the start; after a failover it is whatever
	// became of it (see Master).
	Master    *Redis
	Replicas  []*Redis
	Sentinels []*Redis
	// ReplicaLinks are the proxies between each replica and the master,
	// when SentinelOptions.LaggableReplicas asked for them.
	ReplicaLinks []*Proxy
}

// LagReplicas makes every replica lag from now on: what the master sends
// them is held (the replicas stay connected and keep acknowledging what
// they had). Needs LaggableReplicas.
func (s *Sentinels) LagReplicas() {
	for _, p := range s.ReplicaLinks {
		p.Hold(ToClient)
	}
}

// CutReplicaLinks closes the replicas' links to the master, dropping what
// was held: after the master is killed, what they had not received is
// gone with it.
func (s *Sentinels) CutReplicaLinks() {
	for _, p := range s.ReplicaLinks {
		p.Cut()
	}
}

// StartSentinels runs a Sentinel set for this test alone and returns once
// every replica is in sync and every Sentinel knows the master, its
// replicas and the two other Sentinels. down-after-milliseconds is
// SentinelDownAfter.
//
// failover-timeout is 60 s, long on purpose: a Sentinel also "fixes" a
// replica that replicates from another address than the master's once
// failover-timeout has passed since it met it, and laggable replicas
// replicate through ReplicaLinks. It only matters when a failover fails
// (the next attempt waits for it); a test's single failover is not held
// up by it. A proxied replica the failover does not promote is pointed
// at the new master directly (Sentinel's reconfiguration).
func StartSentinels(t testing.TB, o SentinelOptions) *Sentinels {
	t.Helper()
	requireDocker(t)
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.AppendFsync == "" {
		o.AppendFsync = "always"
	}
	data := []string{"--appendonly", "yes", "--appendfsync", o.AppendFsync, "--save", "", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}
	masterArgs := data
	if o.MinReplicasToWrite > 0 {
		masterArgs = append(append([]string(nil), data...), "--min-replicas-to-write", strconv.Itoa(o.MinReplicasToWrite), "--min-replicas-max-lag", strconv.Itoa(max(o.MinReplicasMaxLag, 1)))
	}
	s := &Sentinels{Master: startHostNode(t, masterArgs, nil)}
	for range o.Replicas {
		upstream := s.Master.addr
		if o.LaggableReplicas {
			link := StartProxy(t, s.Master.addr)
			s.ReplicaLinks = append(s.ReplicaLinks, link)
			upstream = link.Addr()
		}
		host, port, _ := net.SplitHostPort(upstream)
		// Replicas get the master's min-replicas too: one of them may be
		// the master after a failover.
		s.Replicas = append(s.Replicas, startHostNode(t, append(append([]string(nil), masterArgs...), "--replicaof", host, port), nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for _, r := range s.Replicas {
		rc := r.Client(t)
		poll(ctx, t, "replica "+r.addr+" to sync", func() (bool, string) {
			info, err := rc.Info(ctx, "replication").Result()
			return err == nil && strings.Contains(info, "master_link_status:up"), fmt.Sprintf("%v %q", err, info)
		})
	}
	for range 3 {
		s.Sentinels = append(s.Sentinels, startSentinel(t, s.Master.port))
	}
	for _, sn := range s.Sentinels {
		sc := goredis.NewSentinelClient(&goredis.Options{Addr: sn.addr, DialTimeout: time.Second, ReadTimeout: time.Second})
		poll(ctx, t, "sentinel "+sn.addr+" to know the whole set", func() (bool, string) {
			m, err := sc.Master(ctx, MasterName).Result()
			ok := err == nil && m["num-other-sentinels"] == "2" && m["num-slaves"] == strconv.Itoa(len(s.Replicas)) && !strings.Contains(m["flags"], "down")
			return ok, fmt.Sprintf("%v %v", err, m)
		})
		_ = sc.Close()
	}
	return s
}

// startSentinel runs one Sentinel watching the master on masterPort.
func startSentinel(t testing.TB, masterPort int) *Redis {
	t.Helper()
	conf := strings.Join([]string{
		"sentinel monitor " + MasterName + " 127.0.0.1 " + strconv.Itoa(masterPort) + " 2",
		"sentinel down-after-milliseconds " + MasterName + " " + strconv.FormatInt(SentinelDownAfter.Milliseconds(), 10),
		"sentinel failover-timeout " + MasterName + " 60000",
		"sentinel parallel-syncs " + MasterName + " 1",
		"",
	}, "\n")
	// Sentinel rewrites its configuration file as it learns, so the file
	// is copied into the container, where it may.
	return startHostNode(t, []string{"/sentinel.conf", "--sentinel"}, []testcontainers.ContainerFile{{
		Reader: strings.NewReader(conf), ContainerFilePath: "/sentinel.conf", FileMode: 0o644,
	}})
}

// startHostNode runs redis-server with args (after its port and bind
// address) on the host's network, for this test alone.
func startHostNode(t testing.TB, args []string, files []testcontainers.ContainerFile) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var lastErr error
	for range 3 { // another process may take the port before Redis binds it
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		var cmd []string
		if len(args) > 0 && strings.HasSuffix(args[0], ".conf") { // the file comes first
			cmd = append([]string{args[0], "--port", strconv.Itoa(port), "--bind", "127.0.0.1"}, args[1:]...)
		} else {
			cmd = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1"}, args...)
		}
		ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
			ContainerRequest: testcontainers.ContainerRequest{
				Image: image(),
				// Both our image and the official one have redis-server on
				// PATH; naming it skips the official entrypoint, which would
				// drop to a user that may not rewrite /sentinel.conf.
				Entrypoint:         []string{"redis-server"},
				Cmd:                cmd,
				Labels:             map[string]string{Label: "redis"},
				Files:              files,
				HostConfigModifier: func(hc *container.HostConfig) { hc.NetworkMode = "host" },
			},
			Started: true,
			Logger:  tclog.TestLogger(t),
		})
		r := &Redis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), port: port, innerPort: port}
		if ctr != nil {
			r.container = &tcredis.RedisContainer{Container: ctr}
			t.Cleanup(func() {
				if err := r.terminate(); err != nil {
					t.Errorf("redistest: terminate container: %v", err)
				}
			})
		}
		if err == nil {
			err = r.waitReady(ctx)
		}
		if err == nil {
			return r
		}
		lastErr = err
		_ = r.terminate()
	}
	t.Fatalf("redistest: start a Redis on the host's network (%s): %v", image(), lastErr)
	return nil
}

// Addrs are the Sentinels' addresses, as REDIS_SENTINELS lists them.
func (s *Sentinels) Addrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.addr
	}
	return addrs
}

// Options are the redisconn options of an app configured for this set.
func (s *Sentinels) Options() redisconn.Options {
	return redisconn.Options{Sentinels: s.Addrs(), MasterName: MasterName}
}

// Client returns a failover client built the way the apps build theirs,
// closed when the test ends; dial, when not nil, opens its connections to
// the master (Proxy.Dialer puts a proxy in the way).
func (s *Sentinels) Client(t testing.TB, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *goredis.Client {
	t.Helper()
	o := s.Options()
	o.Dialer = dial
	c, err := redisconn.NewFailoverClient(o)
	if err != nil {
		t.Fatalf("redistest: failover client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// MasterAddr is the master's address as a majority of the Sentinels
// give it ("" when they disagree or do not answer).
func (s *Sentinels) MasterAddr(ctx context.Context) string {
	votes := map[string]int{}
	for _, sn := range s.Sentinels {
		sc := goredis.NewSentinelClient(&goredis.Options{Addr: sn.addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
		a, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
		_ = sc.Close()
		if err == nil && len(a) == 2 {
			votes[net.JoinHostPort(a[0], a[1])]++
		}
	}
	for addr, n := range votes {
		if n >= 2 {
			return addr
		}
	}
	return ""
}

// Node is the node (master, replica) at addr, nil if none.
func (s *Sentinels) Node(addr string) *Redis {
	for _, r := range append([]*Redis{s.Master}, s.Replicas...) {
		if r.addr == addr {
			return r
		}
	}
	return nil
}

// WaitFailover returns the new master's address once a majority of the
// Sentinels name one other than old and it answers as a master; it fails
// the test after within.
func (s *Sentinels) WaitFailover(t testing.TB, old string, within time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var addr string
	poll(ctx, t, "the Sentinels to promote a replica of "+old, func() (bool, string) {
		addr = s.MasterAddr(ctx)
		if addr == "" || addr == old {
			return false, "master " + addr
		}
		n := s.Node(addr)
		if n == nil {
			return false, "unknown master " + addr
		}
		cctx, ccancel := context.WithTimeout(ctx, time.Second)
		defer ccancel()
		c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
		defer c.Close()
		role, err := c.Do(cctx, "ROLE").Slice()
		return err == nil && len(role) > 0 && role[0] == "master", fmt.Sprintf("ROLE of %s: %v %v", addr, role, err)
	})
	return addr
}

// WaitReplicaOf returns once r replicates the master at master with its
// link up; it fails the test after within.
func (s *Sentinels) WaitReplicaOf(t testing.TB, r *Redis, master string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	host, port, _ := net.SplitHostPort(master)
	c := goredis.NewClient(&goredis.Options{Addr: r.addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	poll(ctx, t, r.addr+" to replicate "+master, func() (bool, string) {
		info, err := c.Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_host:"+host+"\r") &&
			strings.Contains(info, "master_port:"+port+"\r") && strings.Contains(info, "master_link_status:up"), fmt.Sprintf("%v %q", err, info)
	})
}

// Dialer is a dial function for Sentinels.Client that routes the
// connections meant for the proxy's target through the proxy.
func (p *Proxy) Dialer() func(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == p.target {
			addr = p.Addr()
		}
		return d.DialContext(ctx, network, addr)
	}
}

// KillLaggingMaster is the failover that loses data without WAIT: it makes
// every replica lag (LagReplicas), waits until w has made lagWrites more
// writes, SIGKILLs the master, drops what the replicas had not received
// (CutReplicaLinks) and returns once the Sentinels promoted one of them,
// with the moment of the kill. Needs LaggableReplicas.
func (s *Sentinels) KillLaggingMaster(t testing.TB, w *Writers, lagWrites int) (failure time.Time, newMaster string) {
	t.Helper()
	lagging := time.Now()
	s.LagReplicas()
	w.WaitStarted(t, lagging, lagWrites, 20*time.Second)
	old := s.Master.Addr()
	failure = time.Now()
	s.Master.Kill(t)
	s.CutReplicaLinks()
	return failure, s.WaitFailover(t, old, 30*time.Second)
}
