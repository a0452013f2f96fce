package groupcommit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/groupcommit"
	"github.com/pixelplayground/pixelplayground/internal/measure"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// TestMeasureGroupCommit measures the write path below the fan-out: G
// "gateways" (each its own Redis client, built as the apps build theirs,
// its own store and, with group commit, its own gathering store) and W
// writers per gateway (a writer is a connection: one pixel per Place, the
// next once the last is acknowledged, with place.StoreTimeout) on one
// canvas of one real Redis, each gateway also subscribed to the canvas's
// channel as a gateway is. Phases: one writer alone (what a lone write
// costs), then G×W writers, each without and with group commit, in
// alternating order over the rounds since the machine's other load
// drifts. It reports accepted writes/s, write-to-acknowledgement p50/p99,
// the scripts Redis ran and their CPU per write (INFO commandstats), the
// Redis process's CPU per write (INFO cpu) and this process's. Nothing is
// asserted about time; it fails only if a write fails or a subscriber
// misses an event.
//
//	PIXEL_MEASURE=1 PIXEL_REDIS_IMAGE=pixel-redis:local TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost \
//	  taskset -c 0 go test ./internal/groupcommit -run MeasureGroupCommit -count=1 -v -timeout 30m
//
// Settings: PIXEL_MEASURE_SECONDS (each phase, default 5),
// PIXEL_MEASURE_ROUNDS (default 2), PIXEL_MEASURE_GATEWAYS (default 4),
// PIXEL_MEASURE_WRITERS (per gateway, default 64), PIXEL_MEASURE_REDIS_CPUS
// (pin the Redis container to these CPUs, e.g. 1, as docker's
// --cpuset-cpus), PIXEL_MEASURE_REDIS_ADDR (measure a Redis already
// running there instead of a container), PIXEL_MEASURE_NETWORK=bridge
// (the container on Docker's bridge network, not the host's),
// GROUP_COMMIT_WINDOW and GROUP_COMMIT_MAX (defaults as the apps'),
// PIXEL_MEASURE_PHASES=gathered (only the G×W phase with group commit: a
// steady load of writes, e.g. for a gateway's fan-out to be measured on
// the same Redis meanwhile; each phase starts with FLUSHALL).
func TestMeasureGroupCommit(t *testing.T) {
	if os.Getenv("PIXEL_MEASURE") == "" {
		t.Skip("a measurement: PIXEL_MEASURE=1 to run it")
	}
	phase, rounds, gateways, writers, opts := measureSettings(t)
	host, port := redisFor(t)
	newClient := func() goredis.UniversalClient {
		c, err := redisconn.NewClient(redisconn.Options{Host: host, Port: port})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	t.Logf("Redis at %s:%d (pinned to CPUs %q); %d gateways × %d writers; group commit window %s, max %d; %s per phase",
		host, port, os.Getenv("PIXEL_MEASURE_REDIS_CPUS"), gateways, writers, opts.Window, opts.Max, phase)
	measureRounds(t, target{admin: newClient(), newClient: newClient}, rounds, gateways, writers, opts, phase)
}

// TestMeasureGroupCommitWait is TestMeasureGroupCommit with
// REDIS_WAIT_REPLICAS=1 (and REDIS_WAIT_TIMEOUT's default, 500ms): a
// master with one replica and three Sentinels (redistest.StartSentinels,
// appendfsync everysec as in production), through the failover client
// the apps use; every write is acknowledged once the replica has it.
//
//	PIXEL_MEASURE=1 PIXEL_REDIS_IMAGE=pixel-redis:local TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost \
//	  taskset -c 0 go test ./internal/groupcommit -run MeasureGroupCommitWait -count=1 -v -timeout 30m
//
// The same settings, except PIXEL_MEASURE_REDIS_ADDR and _NETWORK (the
// set runs on the host's network); PIXEL_MEASURE_REDIS_CPUS pins the
// master and the replica.
func TestMeasureGroupCommitWait(t *testing.T) {
	if os.Getenv("PIXEL_MEASURE") == "" {
		t.Skip("a measurement: PIXEL_MEASURE=1 to run it")
	}
	phase, rounds, gateways, writers, opts := measureSettings(t)
	set := redistest.StartSentinels(t, redistest.SentinelOptions{AppendFsync: "everysec"})
	pin(t, set.Master)
	for _, r := range set.Replicas {
		pin(t, r)
	}
	newClient := func() goredis.UniversalClient { return set.Client(t, nil) }
	t.Logf("Sentinel set, master and replica pinned to CPUs %q; WAIT for 1 replica, 500ms; %d gateways × %d writers; group commit window %s, max %d; %s per phase",
		os.Getenv("PIXEL_MEASURE_REDIS_CPUS"), gateways, writers, opts.Window, opts.Max, phase)
	measureRounds(t, target{admin: newClient(), newClient: newClient, wait: redisstore.WaitOptions{Replicas: 1, Timeout: 500 * time.Millisecond}}, rounds, gateways, writers, opts, phase)
}

// target is the Redis a measurement writes to.
type target struct {
	admin     goredis.UniversalClient // for INFO, FLUSHALL, CONFIG RESETSTAT
	newClient func() goredis.UniversalClient
	wait      redisstore.WaitOptions
}

func measureSettings(t *testing.T) (phase time.Duration, rounds, gateways, writers int, opts groupcommit.Options) {
	t.Helper()
	phase = time.Duration(envInt(t, "PIXEL_MEASURE_SECONDS", 5)) * time.Second
	rounds = envInt(t, "PIXEL_MEASURE_ROUNDS", 2)
	gateways = envInt(t, "PIXEL_MEASURE_GATEWAYS", 4)
	writers = envInt(t, "PIXEL_MEASURE_WRITERS", 64)
	opts = groupcommit.Options{Window: groupcommit.DefaultWindow, Max: envInt(t, "GROUP_COMMIT_MAX", groupcommit.DefaultMax)}
	if v := os.Getenv("GROUP_COMMIT_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("GROUP_COMMIT_WINDOW=%q: %v", v, err)
		}
		opts.Window = d
	}
	return phase, rounds, gateways, writers, opts
}

// measureRounds runs the four phases, rounds times, alternating their
// order, and logs each.
func measureRounds(t *testing.T, tg target, rounds, gateways, writers int, opts groupcommit.Options, phase time.Duration) {
	t.Helper()
	type run struct {
		name     string
		gateways int
		writers  int
		gather   bool
	}
	for round := range rounds {
		runs := []run{
			{"1 writer, one script per write", 1, 1, false},
			{"1 writer, group commit", 1, 1, true},
			{fmt.Sprintf("%d×%d writers, one script per write", gateways, writers), gateways, writers, false},
			{fmt.Sprintf("%d×%d writers, group commit", gateways, writers), gateways, writers, true},
		}
		if round%2 == 1 {
			slices.Reverse(runs)
		}
		if os.Getenv("PIXEL_MEASURE_PHASES") == "gathered" {
			runs = slices.DeleteFunc(runs, func(r run) bool { return !r.gather || r.writers == 1 })
		}
		for _, ru := range runs {
			o := groupcommit.Options{}
			if ru.gather {
				o = opts
			}
			m := measurePhase(t, tg, ru.gateways, ru.writers, o, phase)
			t.Logf("round %d, %-40s %7.0f writes/s, p50 %s p99 %s max %s; %d failed; %d scripts (%.1f writes each), Redis %.2f µs script + %.2f µs process CPU per write, this process %.2f µs CPU per write; machine %.0f %% busy",
				round+1, ru.name+":", float64(m.accepted)/phase.Seconds(),
				redistest.Percentile(m.latencies, 50).Round(time.Microsecond), redistest.Percentile(m.latencies, 99).Round(time.Microsecond), m.latencies[len(m.latencies)-1].Round(time.Microsecond),
				m.failed, m.scripts, float64(m.accepted)/float64(max(m.scripts, 1)), m.scriptMicros/float64(m.accepted), 1e6*m.redisCPU/float64(m.accepted), 1e6*m.ownCPU/float64(m.accepted), 100*m.machineBusy)
			t.Logf("round %d, %-40s Redis µs per write by command (a script's include its commands'): %s", round+1, ru.name+":", perWrite(m.commands, m.accepted))
		}
	}
}

// redisFor is the Redis to measure: PIXEL_MEASURE_REDIS_ADDR (host:port,
// a server started by hand, e.g. under taskset), or a container of its
// own (AOF on, as the tests' Redis), pinned to PIXEL_MEASURE_REDIS_CPUS,
// on the host's network. With PIXEL_MEASURE_NETWORK=bridge the container
// is on Docker's bridge, reached at its address there when the host can
// (past docker's userland proxy); the bridge costs this machine about
// half the throughput, one script per write or not, so it measures the
// virtual network more than Redis.
func redisFor(t *testing.T) (string, int) {
	t.Helper()
	if addr := os.Getenv("PIXEL_MEASURE_REDIS_ADDR"); addr != "" {
		h, p, err := net.SplitHostPort(addr)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil {
			t.Fatalf("PIXEL_MEASURE_REDIS_ADDR=%q: want host:port", addr)
		}
		return h, n
	}
	if os.Getenv("PIXEL_MEASURE_NETWORK") != "bridge" {
		r := redistest.StartOnHostNetwork(t)
		pin(t, r)
		return "127.0.0.1", r.Port()
	}
	r := redistest.Start(t)
	pin(t, r)
	if h, p := r.InternalAddr(t); reachable(net.JoinHostPort(h, strconv.Itoa(p))) {
		return h, p
	}
	return "127.0.0.1", r.Port()
}

func pin(t *testing.T, r *redistest.Redis) {
	t.Helper()
	if cpus := os.Getenv("PIXEL_MEASURE_REDIS_CPUS"); cpus != "" {
		r.PinCPUs(t, cpus)
	}
}

type phaseResult struct {
	accepted     int64
	failed       int64           // answered unavailable (waiting for a replica only)
	latencies    []time.Duration // sorted
	scripts      int64
	scriptMicros float64            // Redis's time in the write scripts (commandstats)
	commands     map[string]float64 // µs by command, inside scripts too
	redisCPU     float64            // seconds, user+sys, of the Redis process
	ownCPU       float64            // seconds, this process
	machineBusy  float64
}

// measurePhase runs gateways × writers closed-loop writers for d on a
// fresh canvas and gathers what they and Redis report.
func measurePhase(t *testing.T, tg target, gateways, writers int, o groupcommit.Options, d time.Duration) phaseResult {
	t.Helper()
	ctx := context.Background()
	admin := tg.admin
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	size := domain.Size{Width: 1024, Height: 1024}
	stores := make([]ports.CanvasStore, gateways)
	var delivered atomic.Int64
	subCtx, unsubscribe := context.WithCancel(ctx)
	defer unsubscribe()
	for g := range stores {
		client := tg.newClient()
		s, err := redisstore.Open(ctx, client, redisstore.Options{Size: size, Wait: tg.wait})
		if err != nil {
			t.Fatal(err)
		}
		stores[g] = groupcommit.New(s, o)
		err = redisbus.New(client).Subscribe(subCtx, []string{ports.ChannelPixelUpdates}, func(m ports.Message) { delivered.Add(int64(bytes.Count(m.Payload, []byte{'\n'}) + 1)) }, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	cpuBefore, ownBefore := redistest.CPU(t, admin), measure.ProcessCPU()
	busyBefore, allBefore := measure.MachineCPU()

	var mu sync.Mutex
	var all []time.Duration
	var accepted, unavailable atomic.Int64
	var failed atomic.Value
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for g := range gateways {
		for w := range writers {
			wg.Go(func() {
				s := stores[g]
				id := g*writers + w
				mine := make([]time.Duration, 0, 4096)
				for i := 0; time.Now().Before(end); i++ {
					n := id*7919 + i
					write := domain.Write{Pixel: domain.Pixel{X: n % size.Width, Y: (n / size.Width) % size.Height, Color: domain.Color(n & 0xFFFFFF)}, Username: "m" + strconv.Itoa(id)}
					wctx, cancel := context.WithTimeout(ctx, place.StoreTimeout)
					start := time.Now()
					events, err := s.Place(wctx, []domain.Write{write})
					took := time.Since(start)
					cancel()
					if errors.Is(err, ports.ErrUnavailable) && tg.wait.Replicas > 0 {
						// The replica did not confirm within the wait's
						// timeout (a starved machine): part of the cost.
						unavailable.Add(1)
						continue
					}
					if err != nil || len(events) != 1 {
						failed.Store(fmt.Errorf("writer %d: %d events, %w", id, len(events), err))
						return
					}
					mine = append(mine, took)
				}
				accepted.Add(int64(len(mine)))
				mu.Lock()
				all = append(all, mine...)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	m := phaseResult{accepted: accepted.Load(), failed: unavailable.Load(), ownCPU: measure.ProcessCPU() - ownBefore, redisCPU: redistest.CPU(t, admin) - cpuBefore}
	if busy, all := measure.MachineCPU(); all > allBefore {
		m.machineBusy = float64(busy-busyBefore) / float64(all-allBefore)
	}
	if err, ok := failed.Load().(error); ok {
		t.Fatalf("a write failed: %v", err)
	}
	m.scripts, m.scriptMicros, m.commands = scriptStats(t, admin)
	slices.Sort(all)
	m.latencies = all
	// Every gateway receives every accepted event (the fan-out's input).
	// More may come: a write answered unavailable while waiting for the
	// replica was applied all the same, and a Redis of
	// PIXEL_MEASURE_REDIS_ADDR may have other writers.
	want := int64(gateways) * m.accepted
	waitfor.True(t, 30*time.Second, "every gateway to receive every accepted event", func() bool { return delivered.Load() >= want })
	return m
}

// scriptStats reads the write scripts' calls and time from INFO
// commandstats (EVALSHA, and EVAL for a script Redis did not have yet).
// Every command's time is there too, those the scripts call included
// (commands: µs by command name), which says where a script's time goes.
func scriptStats(t *testing.T, c goredis.UniversalClient) (calls int64, micros float64, commands map[string]float64) {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	commands = map[string]float64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		script := name == "evalsha" || name == "eval"
		for _, f := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "calls":
				n, _ := strconv.ParseInt(v, 10, 64)
				if script {
					calls += n
				}
			case "usec":
				u, _ := strconv.ParseFloat(v, 64)
				commands[name] += u
				if script {
					micros += u
				}
			}
		}
	}
	return calls, micros, commands
}

// perWrite lists the commands by their µs per accepted write, largest
// first.
func perWrite(commands map[string]float64, accepted int64) string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(commands[b] - commands[a]) })
	var parts []string
	for _, n := range names {
		if us := commands[n] / float64(max(accepted, 1)); us >= 0.05 {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, us))
		}
	}
	return strings.Join(parts, ", ")
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	n, err := measure.EnvInt(name, def)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
