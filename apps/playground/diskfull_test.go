package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/fulldisk"
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
	mnt := fulldisk.Mount(t, 2<<20)
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

	remove := fulldisk.Fill(t, mnt)
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
