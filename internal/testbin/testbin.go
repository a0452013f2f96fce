// Package testbin builds the project's commands for tests that must run
// them as real processes (so that SIGKILL and SIGTERM mean what they mean in
// production), and starts them on free loopback ports.
package testbin

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
)

// Build compiles the command in package pkg (e.g. "./apps/gateway",
// relative to the module root) once per test binary and returns the path.
// The race detector is left out: these binaries are under test as
// processes, and the in-process tests already run with -race.
//
// Binaries go to one folder per checkout under the system's temp folder,
// reused from run to run (go build's cache makes a rebuild cheap), so test
// runs leave nothing new behind. Packages tested in parallel may build the
// same command at once: each builds to a private name and renames it into
// place, which is atomic, and a process still running the old file keeps it.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	root := ModuleRoot(t)
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "pixelplayground-testbin-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	built[pkg] = out
	return out
}

// ModuleRoot is the directory holding go.mod, found by walking up from
// this file.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the module root")
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod above %s", file)
		}
	}
}

// FreePort returns a loopback port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Process is a running command.
type Process struct {
	Cmd  *exec.Cmd
	Port int
	mu   sync.Mutex
	logs bytes.Buffer
	done chan struct{}
	err  error
}

// Start runs bin with env (added to a minimal environment) on a free port
// and waits until GET /health answers. The process is killed at cleanup if
// still running.
func Start(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	return StartOnPort(t, bin, FreePort(t), env...)
}

// StartOnPort is Start on a given port (a restart keeps its address).
func StartOnPort(t testing.TB, bin string, port int, env ...string) *Process {
	t.Helper()
	p := &Process{Port: port, done: make(chan struct{})}
	p.Cmd = exec.Command(bin)
	p.Cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), fmt.Sprintf("PORT=%d", port), "LOG_LEVEL=warn"}, env...)
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.Cmd.Stdout = nil
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			p.mu.Lock()
			p.logs.Write(s.Bytes())
			p.logs.WriteByte('\n')
			p.mu.Unlock()
		}
	}()
	go func() { p.err = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s logs:\n%s", filepath.Base(bin), p.Logs())
		}
	})
	exited := false
	err = waitfor.Poll(20*time.Second, func() error {
		resp, err := http.Get(p.URL("/health"))
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if p.Exited() {
			exited = true
			return nil
		}
		return err
	})
	switch {
	case exited:
		t.Fatalf("%s exited at start: %v\n%s", filepath.Base(bin), p.err, p.Logs())
	case err != nil:
		t.Fatalf("%s not healthy within 20s: %v\n%s", filepath.Base(bin), err, p.Logs())
	}
	return p
}

// URL is http://127.0.0.1:port + path.
func (p *Process) URL(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", p.Port, path) }

// WS is ws://127.0.0.1:port + path.
func (p *Process) WS(path string) string { return fmt.Sprintf("ws://127.0.0.1:%d%s", p.Port, path) }

// Logs is what the process wrote to stderr so far.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Kill sends SIGKILL and waits for the process to be reaped.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Terminate sends SIGTERM and waits up to timeout for a clean exit; it
// returns the exit error (nil for status 0).
func (p *Process) Terminate(t testing.TB, timeout time.Duration) error {
	t.Helper()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		t.Fatalf("no exit within %s of SIGTERM\n%s", timeout, p.Logs())
		return nil
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Env joins key=value pairs, dropping empty values, for readability at
// call sites.
func Env(kv ...string) []string {
	var out []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, kv[i]+"="+strings.TrimSpace(kv[i+1]))
		}
	}
	return out
}
