package e2e

// apps/internal/testbin does this for the apps' own tests, but Go's
// internal-package rule keeps it out of reach from ui/, so this is the
// small part of it these tests need: build the playground once, run it as a
// real process (so SIGTERM means what it means in production), restart it
// on the same port.

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu    sync.Mutex
	builtPaths = map[string]string{}
	buildDirs  []string
)

// TestMain removes the built binaries, which outlive any one test.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range buildDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}

// buildCommand compiles the command in pkg (relative to the module root)
// once per test binary. Without the race detector: the binary is under test
// as a process; the race detector belongs to the in-process tests.
func buildCommand(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := builtPaths[pkg]; ok {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	// Not t.TempDir: the binary outlives the test that built it.
	dir, err := os.MkdirTemp("", "pixel-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	buildDirs = append(buildDirs, dir)
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = moduleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	builtPaths[pkg] = out
	return out
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the module root")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// process is a running server.
type process struct {
	name string
	cmd  *exec.Cmd
	Port int
	logs *lockedBuffer
	done chan struct{}
	err  error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startProcess runs bin on port with env added to a minimal environment,
// and waits until GET /health answers. It is killed at cleanup if still
// running, and its stderr is logged when the test failed.
func startProcess(t *testing.T, bin string, port int, env ...string) *process {
	t.Helper()
	p := &process{name: filepath.Base(bin), Port: port, logs: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), fmt.Sprintf("PORT=%d", port), "LOG_LEVEL=warn"}, env...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s (port %d) logs:\n%s", p.name, p.Port, p.logs)
		}
	})
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(p.URL("/health"))
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited at start: %v\n%s", p.name, p.err, p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy within 20s: %v\n%s", p.name, err, p.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is http://127.0.0.1:port + path.
func (p *process) URL(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", p.Port, path) }

func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// terminate sends SIGTERM and waits up to timeout for the exit; it returns
// the exit error (nil for status 0).
func (p *process) terminate(t *testing.T, timeout time.Duration) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.kill()
		t.Fatalf("%s: no exit within %s of SIGTERM\n%s", p.name, timeout, p.logs)
		return nil
	}
}
