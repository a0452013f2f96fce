package main

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

// TestIdleMemoryPerConnection measures what an idle WebSocket connection
// costs a running server process (heap plus goroutine stacks, read from its
// own /metrics), with 1,000 clients connected from this test process. The
// server runs with GOGC=10 so that garbage from the handshakes hardly
// counts; the figure is still an upper bound. Run with -v to see it:
//
//	go test ./apps/playground -run IdleMemory -v -count=1
func TestIdleMemoryPerConnection(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement skipped in -short mode")
	}
	const n = 1000
	// The baseline is taken as soon as the server answers (testbin.Start
	// waits for that): an idle server allocates nothing, so waiting longer
	// would not lower it, and GOGC=10 keeps the garbage it may hold small.
	p := testbin.Start(t, testbin.Build(t, "./apps/playground"), "DATA_DIR="+t.TempDir(), "GOGC=10")
	before := serverMemory(t, p)
	conns := make([]*websocket.Conn, 0, n)
	d := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256}
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
	readBy := time.Now().Add(30 * time.Second)
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
	after := serverMemory(t, p)
	perConn := float64(after-before) / n
	t.Logf("idle memory per WebSocket connection: %.1f KiB (heap+stacks %d -> %d bytes for %d connections)", perConn/1024, before, after, n)
	if perConn > 64<<10 {
		t.Errorf("an idle connection costs %.1f KiB; something holds large per-connection buffers", perConn/1024)
	}
}

// serverMemory is the server's heap in use plus goroutine stacks.
func serverMemory(t *testing.T, p *testbin.Process) uint64 {
	t.Helper()
	resp, err := http.Get(p.URL("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var total uint64
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		line := s.Text()
		for _, name := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_stack_inuse_bytes "} {
			if strings.HasPrefix(line, name) {
				f, err := strconv.ParseFloat(strings.TrimPrefix(line, name), 64)
				if err != nil {
					t.Fatalf("metrics line %q: %v", line, err)
				}
				total += uint64(f)
			}
		}
	}
	if total == 0 {
		t.Fatal("no memory figures in /metrics")
	}
	return total
}
