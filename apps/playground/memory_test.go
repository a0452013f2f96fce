package main

import (
	"bufio"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// TestIdleMemoryPerConnection measures what an idle WebSocket connection
// costs a running server process (heap plus goroutine stacks, read from its
// own /metrics), with 1,000 clients connected from this test process
// (PIXEL_IDLE_CONNS=10000 for 10,000: the test raises its open-files limit,
// which the server inherits, to fit them). The server runs with GOGC=10 so
// that garbage from the handshakes hardly counts; the figure is still an
// upper bound. Run with -v to see it:
//
//	go test ./apps/playground -run IdleMemory -v -count=1
//	PIXEL_IDLE_CONNS=10000 go test ./apps/playground -run IdleMemory -v -count=1 -timeout 20m
func TestIdleMemoryPerConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement skipped in -short mode")
	}
	n := 1000
	if v := os.Getenv("PIXEL_IDLE_CONNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 50000 {
			t.Fatalf("PIXEL_IDLE_CONNS=%q: want 1..50000", v)
		}
	}
	raiseOpenFiles(t, uint64(n)+1000)
	// The baseline is taken as soon as the server answers (testbin.Start
	// waits for that): an idle server allocates nothing, so waiting longer
	// would not lower it, and GOGC=10 keeps the garbage it may hold small.
	env := []string{"DATA_DIR=" + t.TempDir(), "GOGC=10"}
	if g := os.Getenv("GODEBUG"); g != "" {
		// The server gets the test's GODEBUG, so that a runtime setting
		// (k8s/base/gateway.yaml sets adaptivestackstart=0) can be measured.
		env = append(env, "GODEBUG="+g)
	}
	p := testbin.Start(t, testbin.Build(t, "./apps/playground"), env...)
	before, beforeStacks := serverMemory(t, p)
	conns := make([]*websocket.Conn, 0, n)
	d := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: 30 * time.Second}
	for i := 0; i < n; i++ {
		c, resp, err := d.Dial(p.WS("/ws"), nil)
		if resp != nil {
			resp.Body.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	// Idle means idle: the connect burst's presence broadcasts must have
	// been written out before measuring. Every client reads until the stats
	// that count all n connections reach it; the server broadcasts presence
	// only when it changes (or every 10s), so that is its last.
	readBy := time.Now().Add(30*time.Second + time.Duration(n)*time.Millisecond)
	for i, c := range conns {
		if err := c.SetReadDeadline(readBy); err != nil {
			t.Fatal(err)
		}
		for {
			var m struct {
				Type        string
				ActiveUsers int
			}
			if err := c.ReadJSON(&m); err != nil {
				t.Fatalf("client %d: no stats counting %d connections: %v", i, n, err)
			}
			if m.Type == "stats" && m.ActiveUsers == n {
				break
			}
		}
	}
	var health struct{ Connections int }
	getJSON(t, p.URL("/health"), &health)
	if health.Connections != n {
		t.Fatalf("server reports %d connections, want %d", health.Connections, n)
	}
	// Idle also means no writer left: each ends when its connection's
	// queue is empty, leaving one reader goroutine per connection plus the
	// server's own few dozen.
	waitfor.True(t, 30*time.Second, "the writers to retire", func() bool { return serverGoroutines(t, p) < n+100 })
	after, afterStacks := serverMemory(t, p)
	perConn := float64(after-before) / float64(n)
	t.Logf("idle memory per WebSocket connection: %.1f KiB, of which goroutine stacks %.1f KiB (heap+stacks %d -> %d bytes for %d connections)",
		perConn/1024, float64(afterStacks-beforeStacks)/float64(n)/1024, before, after, n)
	if perConn > 64<<10 {
		t.Errorf("an idle connection costs %.1f KiB; something holds large per-connection buffers", perConn/1024)
	}
}

// serverGoroutines is the server's go_goroutines.
func serverGoroutines(t *testing.T, p *testbin.Process) int {
	t.Helper()
	return int(serverMetrics(t, p, "go_goroutines")["go_goroutines"])
}

// serverMemory is the server's heap in use plus goroutine stacks, and the
// stacks alone.
func serverMemory(t *testing.T, p *testbin.Process) (total, stacks uint64) {
	t.Helper()
	m := serverMetrics(t, p, "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes")
	stacks = uint64(m["go_memstats_stack_inuse_bytes"])
	return uint64(m["go_memstats_heap_inuse_bytes"]) + stacks, stacks
}

// serverMetrics reads the named unlabelled metrics from the server's
// /metrics; the test fails if one is missing.
func serverMetrics(t *testing.T, p *testbin.Process, names ...string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(p.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(map[string]float64, len(names))
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		for _, name := range names {
			if v, ok := strings.CutPrefix(s.Text(), name+" "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s %q: %v", name, v, err)
				}
				got[name] = f
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if _, ok := got[name]; !ok {
			t.Fatalf("no %s in /metrics", name)
		}
	}
	return got
}

// raiseOpenFiles raises this process's open-files limit, which the server
// it starts inherits, to its hard limit: each side needs one file per
// connection, and the server admits connections up to 90 % of its limit
// (MAX_CONNECTIONS), so need more than that fails clearly.
func raiseOpenFiles(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max*9/10 < need {
		t.Fatalf("%d connections need an open-files limit of at least %d; the hard limit is %d (raise ulimit -Hn)", need-1000, need*10/9+1, lim.Max)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open-files limit to %d: %v", lim.Max, err)
	}
}
