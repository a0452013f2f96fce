package logstore

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/fulldisk"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// logBuffer is a logger's output that tests can read while the store
// writes to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines containing substr.
func (b *logBuffer) lines(substr string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, l := range strings.Split(b.buf.String(), "\n") {
		if l != "" && strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// diskFull makes every write through the store's file-writing seam (log
// appends, probes) fail as a full disk does: part of the data may land,
// then ENOSPC. It returns a function that gives the space back and one
// that counts the failed probes.
func diskFull(t *testing.T) (free func(), probes func() int) {
	t.Helper()
	var mu sync.Mutex
	full, n := true, 0
	writeFile = func(f *os.File, b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if !full {
			return f.Write(b)
		}
		if filepath.Base(f.Name()) == probeName {
			n++
		}
		// A real full disk takes what fits and refuses the rest.
		w, _ := f.Write(b[:len(b)/2])
		return w, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	t.Cleanup(func() { writeFile = (*os.File).Write })
	return func() {
			mu.Lock()
			full = false
			mu.Unlock()
		}, func() int {
			mu.Lock()
			defer mu.Unlock()
			return n
		}
}

func onePixel(i int) []domain.Write {
	return []domain.Write{{Pixel: domain.Pixel{X: i % testSize.Width, Y: i / testSize.Width % testSize.Height, Color: domain.Color(i)}, Username: "ann"}}
}

// wantTransientENOSPC checks that WriteHealth reports a full disk that
// passes, with refused writes.
func wantTransientENOSPC(t *testing.T, s *Store, refused int) {
	t.Helper()
	err := s.WriteHealth()
	var we *WriteError
	if !errors.As(err, &we) {
		t.Fatalf("WriteHealth with a full disk = %v, want a *WriteError", err)
	}
	if we.UntilRestart || !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("WriteHealth with a full disk = %v (until restart %v), want a passing ENOSPC that is ErrUnavailable", err, we.UntilRestart)
	}
	if we.Reason() != "no space left on device" {
		t.Errorf("Reason = %q, want %q", we.Reason(), "no space left on device")
	}
	if refused >= 0 && we.Refused != refused {
		t.Errorf("Refused = %d, want %d", we.Refused, refused)
	}
}

// A full disk refuses every write, and WriteHealth says so (a store that
// only answered Ping looked healthy while refusing everything); the log
// gets a line when it starts, not one per refused write; when space
// returns the store says it can write again without any write having to
// try (an unready app gets none), takes writes again, and nothing is lost
// or doubled across a restart.
func TestFullDiskRefusesWritesUntilSpaceReturns(t *testing.T) {
	dir := t.TempDir()
	var logs logBuffer
	o := newOpener(t, dir)
	o.opts.SyncInterval = 5 * time.Millisecond
	o.opts.Logger = logs.logger()
	s := o.open()
	placeN(t, s, 3, "a")
	if err := s.WriteHealth(); err != nil {
		t.Fatalf("WriteHealth of a healthy store = %v", err)
	}
	before := observe(t, s)

	free, probes := diskFull(t)
	const failed = 500
	for i := range failed {
		_, err := s.Place(context.Background(), onePixel(i))
		if !errors.Is(err, ports.ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Place %d on a full disk: err = %v, want ErrUnavailable wrapping ENOSPC", i, err)
		}
	}
	if _, err := s.Reset(context.Background(), domain.Origin{}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Reset on a full disk: err = %v, want ENOSPC", err)
	}
	wantTransientENOSPC(t, s, failed+1)
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping on a full disk = %v; reads still work, only writes are refused", err)
	}
	sameObserved(t, observe(t, s), before)

	// The probe keeps trying while the disk is full, and fails.
	waitfor.True(t, 5*time.Second, "three probes of the full directory", func() bool { return probes() >= 3 })
	wantTransientENOSPC(t, s, -1)
	if n := len(logs.lines("level=")); n > 2 {
		t.Errorf("%d refused writes and %d probes logged %d lines, want at most 2:\n%s", failed+1, probes(), n, strings.Join(logs.lines(""), "\n"))
	}
	if got := logs.lines("write to the log failed"); len(got) != 1 || !strings.Contains(got[0], "no space left on device") {
		t.Errorf("lines about the failed writes = %q, want one naming ENOSPC", got)
	}

	free()
	waitfor.True(t, 5*time.Second, "WriteHealth nil once space returns, with no write trying", func() bool { return s.WriteHealth() == nil })
	if got := logs.lines("takes writes again"); len(got) != 1 || !strings.Contains(got[0], "refused=501") {
		t.Errorf("lines about the recovery = %q, want one with refused=501", got)
	}
	if _, err := os.Stat(filepath.Join(dir, probeName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the probe's file is left behind: %v", err)
	}
	acked := placeN(t, s, 3, "b")
	if acked[0].Seq != before.latest+1 {
		t.Errorf("the first write after the full disk got seq %d, want %d: refused writes must not take seqs", acked[0].Seq, before.latest+1)
	}
	after := observe(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := newOpener(t, dir).open()
	defer again.Close()
	sameObserved(t, observe(t, again), after)
}

// A write that succeeds ends the failure too, at once, and the next
// failure is logged at once again.
func TestAWriteThatSucceedsEndsTheFailure(t *testing.T) {
	var logs logBuffer
	o := newOpener(t, t.TempDir())
	o.opts.SyncInterval = time.Hour // no probe: the write must do it
	o.opts.Logger = logs.logger()
	s := o.open()
	defer s.Close()
	free, _ := diskFull(t)
	if _, err := s.Place(context.Background(), onePixel(1)); err == nil {
		t.Fatal("Place on a full disk succeeded")
	}
	free()
	if _, err := s.Place(context.Background(), onePixel(2)); err != nil {
		t.Fatalf("Place once space returned: %v", err)
	}
	if err := s.WriteHealth(); err != nil {
		t.Fatalf("WriteHealth after a write succeeded = %v", err)
	}
	diskFull(t)
	if _, err := s.Place(context.Background(), onePixel(3)); err == nil {
		t.Fatal("Place on a full disk succeeded")
	}
	if got := logs.lines("write to the log failed"); len(got) != 2 {
		t.Errorf("two separate failures logged %d lines, want 2: %q", len(got), got)
	}
}

// The failures that only a restart ends are reported as such.
func TestWriteHealthReportsFailuresUntilRestart(t *testing.T) {
	t.Run("a failed fsync that no snapshot covers", func(t *testing.T) {
		dir := t.TempDir()
		var logs logBuffer
		o := newOpener(t, dir)
		o.opts.SyncInterval = 5 * time.Millisecond
		o.opts.Logger = logs.logger()
		s := o.open()
		defer s.Close()
		if err := os.MkdirAll(filepath.Join(dir, snapshotTmpName, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
		calls := failSyncs(t)
		placeN(t, s, 3, "a")
		waitfor.True(t, 5*time.Second, "WriteHealth failing after a failed fsync and a failed snapshot", func() bool { return s.WriteHealth() != nil })
		var we *WriteError
		if err := s.WriteHealth(); !errors.As(err, &we) || !we.UntilRestart || !strings.Contains(we.Reason(), "until restart") {
			t.Fatalf("WriteHealth = %v, want a *WriteError until restart", err)
		}
		if calls() == 0 {
			t.Fatal("no fsync failed")
		}
		if n := len(logs.lines("fsync of the log failed; writing a snapshot")); n != 1 {
			t.Errorf("%d failed fsyncs logged %d lines about it, want 1", calls(), n)
		}
	})
	t.Run("a failed write that cannot be cut back", func(t *testing.T) {
		o := newOpener(t, t.TempDir())
		s := o.open()
		placeN(t, s, 1, "a")
		s.mu.Lock()
		good := s.logFile
		ro, err := os.Open(good.Name())
		if err != nil {
			t.Fatal(err)
		}
		s.logFile = ro
		s.mu.Unlock()
		if _, err := s.Place(context.Background(), onePixel(1)); err == nil {
			t.Fatal("Place with a read-only log succeeded")
		}
		var we *WriteError
		if err := s.WriteHealth(); !errors.As(err, &we) || !we.UntilRestart {
			t.Errorf("WriteHealth = %v, want a *WriteError until restart", err)
		}
		s.mu.Lock()
		s.logFile = good
		s.mu.Unlock()
		ro.Close()
		abandon(s)
	})
	t.Run("closed", func(t *testing.T) {
		s := newOpener(t, t.TempDir()).open()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteHealth(); !errors.Is(err, ErrClosed) {
			t.Errorf("WriteHealth after Close = %v, want ErrClosed", err)
		}
	})
}

// The same with a real full file system, where the kernel decides what
// fits: a small tmpfs (where the test may mount one).
func TestFullTmpfs(t *testing.T) {
	dir := filepath.Join(fulldisk.Mount(t, 1<<20), "data")
	var logs logBuffer
	o := newOpener(t, dir)
	o.opts.SyncInterval = 5 * time.Millisecond
	o.opts.Logger = logs.logger()
	s := o.open()
	placeN(t, s, 3, "a")
	remove := fulldisk.Fill(t, filepath.Dir(dir))

	// The log's last page may still have room for a few records.
	var refused int
	for i := 0; i < 10000 && refused < 500; i++ {
		if _, err := s.Place(context.Background(), onePixel(i)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("Place %d on a full tmpfs: %v, want ENOSPC", i, err)
			}
			refused++
		}
	}
	if refused < 500 {
		t.Fatalf("only %d of 10,000 writes were refused on a full tmpfs", refused)
	}
	wantTransientENOSPC(t, s, refused)
	if n := len(logs.lines("level=")); n > 2 {
		t.Errorf("%d refused writes logged %d lines, want at most 2", refused, n)
	}
	before := observe(t, s)

	remove()
	waitfor.True(t, 5*time.Second, "WriteHealth nil once the filler is removed", func() bool { return s.WriteHealth() == nil })
	placeN(t, s, 3, "b")
	after := observe(t, s)
	if after.latest != before.latest+3 {
		t.Errorf("LatestSeq after 3 more writes = %d, want %d", after.latest, before.latest+3)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := newOpener(t, dir).open()
	defer again.Close()
	sameObserved(t, observe(t, again), after)
}
