package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// TestFullDiskIsNotReady runs the playground on a small tmpfs and fills
// it. Before, every write failed while /health said ok and /ready said
// ready. Now /ready is 503 with the reason while writes are refused,
// /health stays 200 (a restart frees no disk) and says the same, the log
// gets a line or two rather than one per refused write, and removing the
// filler makes the app ready and writable again without a restart.
func TestFullDiskIsNotReady(t *testing.T) {
	mnt := mountTmpfs(t, 2<<20)
	bin := testbin.Build(t, "./apps/playground")
	p := testbin.Start(t, bin, "DATA_DIR="+filepath.Join(mnt, "data"), "REST_RATE=0", "IP_PIXEL_RATE=0")

	put := func(i int) int {
		t.Helper()
		body := fmt.Sprintf(`{"x":%d,"y":%d,"color":"#123456"}`, i%50, i/50%50)
		req, err := http.NewRequest(http.MethodPut, p.URL("/api/pixel"), strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("PUT /api/pixel: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(p.URL(path))
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, m
	}

	if code, m := get("/ready"); code != http.StatusOK {
		t.Fatalf("/ready before the disk is full = %d %v", code, m)
	}
	if code, m := get("/health"); code != http.StatusOK || m["store_writes"] != "ok" {
		t.Fatalf("/health before the disk is full = %d %v, want store_writes ok", code, m)
	}
	if got := put(0); got != http.StatusOK {
		t.Fatalf("PUT before the disk is full = %d", got)
	}

	remove := fill(t, mnt)
	// The log's last page may still take a few records.
	refused, i := 0, 1
	for ; i < 20000 && refused < 500; i++ {
		switch code := put(i); code {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("PUT %d on a full disk = %d, want 200 or 503", i, code)
		}
	}
	if refused < 500 {
		t.Fatalf("only %d of %d writes were refused on a full disk", refused, i)
	}
	const reason = "store cannot write: no space left on device"
	if code, m := get("/ready"); code != http.StatusServiceUnavailable || m["reason"] != reason {
		t.Errorf("/ready on a full disk = %d %v, want 503 with reason %q", code, m, reason)
	}
	if code, m := get("/health"); code != http.StatusOK || m["status"] != "ok" || m["store_writes"] != "refused: no space left on device" {
		t.Errorf("/health on a full disk = %d %v, want 200, status ok, store_writes refused: no space left on device", code, m)
	}
	var noisy []string
	for _, l := range strings.Split(p.Logs(), "\n") {
		if strings.Contains(l, "WARN") || strings.Contains(l, "ERROR") {
			noisy = append(noisy, l)
		}
	}
	if len(noisy) > 2 {
		t.Errorf("%d refused writes logged %d warnings and errors, want at most 2:\n%s", refused, len(noisy), strings.Join(noisy, "\n"))
	}

	remove()
	waitfor.Until(t, 10*time.Second, func() error {
		if code, m := get("/ready"); code != http.StatusOK {
			return fmt.Errorf("/ready after the filler was removed = %d %v", code, m)
		}
		return nil
	})
	if code, m := get("/health"); m["store_writes"] != "ok" {
		t.Errorf("/health after the filler was removed = %d %v, want store_writes ok", code, m)
	}
	if got := put(i); got != http.StatusOK {
		t.Errorf("PUT after the filler was removed = %d, want 200", got)
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, unmounted at
// the end of the test, or skips the test where that is not allowed (not
// root, no mount(8), a sandbox).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	// Registered before the process starts, so it runs after the process
	// is stopped.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file into dir until its file system is full and returns a
// function that removes it.
func fill(t *testing.T, dir string) (remove func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path) //nolint:gosec // G304: the test's own file
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xA5}, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}
