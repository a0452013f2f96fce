package logstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/storetest"
)

// rebootTo makes the store believe the machine booted as boot (a power
// cut and a restart), until the test ends.
func rebootTo(t *testing.T, boot string) {
	old := bootID
	bootID = func() string { return boot }
	t.Cleanup(func() { bootID = old })
}

// TestContractLoss: the machine loses the log's unsynced tail. The
// checkpoint is a copy of the data directory as the disk holds it then
// (no clean Close ran: the store is still open); restoring opens that copy
// after a reboot, as the machine's next start would find it.
func TestContractLoss(t *testing.T) {
	storetest.RunLoss(t, func(t *testing.T, cfg storetest.Config) (ports.CanvasStore, ports.Bus, func() func() (ports.CanvasStore, ports.Bus)) {
		rebootTo(t, "boot-1")
		dir := t.TempDir()
		bus := membus.New()
		s, err := Open(Options{Dir: dir, Size: cfg.Size, HistorySize: cfg.HistorySize, Bus: bus, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, bus, func() func() (ports.CanvasStore, ports.Bus) {
			disk := copyDir(t, dir)
			return func() (ports.CanvasStore, ports.Bus) {
				rebootTo(t, "boot-2")
				bus := membus.New()
				again, err := Open(Options{Dir: disk, Size: cfg.Size, HistorySize: cfg.HistorySize, Bus: bus, Logger: quietLogger()})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = again.Close() })
				return again, bus
			}
		}
	})
}

func headOf(t *testing.T, s ports.CanvasStore) domain.Head {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestEpochKeptWhenNothingCanBeLost: a clean Close (even followed by a
// reboot) and a killed process in the same boot keep the epoch, so clients
// do not reload for nothing; a crash followed by a reboot, or a start
// without a boot id to compare, starts a new one.
func TestEpochKeptWhenNothingCanBeLost(t *testing.T) {
	rebootTo(t, "boot-1")
	dir := t.TempDir()
	o := newOpener(t, dir)
	s := o.open()
	placeN(t, s, 10, "a")
	first := headOf(t, s)
	if first.Base != 0 {
		t.Errorf("a new canvas's base = %d, want 0", first.Base)
	}

	// Killed (no Close) and started again in the same boot.
	crashed := newOpener(t, copyDir(t, dir)).open()
	if h := headOf(t, crashed); h.Epoch != first.Epoch {
		t.Errorf("after a process crash in the same boot the epoch changed: %q -> %q", first.Epoch, h.Epoch)
	}
	_ = crashed.Close()

	// Killed, and the machine rebooted: the unsynced tail may be gone.
	rebootTo(t, "boot-2")
	rebooted := newOpener(t, copyDir(t, dir)).open()
	if h := headOf(t, rebooted); h.Epoch == first.Epoch || h.Seq != 10 || h.Base != 0 {
		t.Errorf("after a crash and a reboot Head = %+v, want a new epoch at seq 10 with base 0", h)
	}
	_ = rebooted.Close()

	// Closed cleanly, then rebooted: nothing was lost.
	rebootTo(t, "boot-1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rebootTo(t, "boot-3")
	again := o.open()
	if h := headOf(t, again); h.Epoch != first.Epoch {
		t.Errorf("after a clean Close and a reboot the epoch changed: %q -> %q", first.Epoch, h.Epoch)
	}
	// The marker is gone: a crash now, on yet another boot, is a loss.
	placeN(t, again, 1, "b")
	rebootTo(t, "boot-4")
	lost := newOpener(t, copyDir(t, dir)).open()
	if h := headOf(t, lost); h.Epoch == first.Epoch {
		t.Errorf("a crash after a clean start, on another boot, kept epoch %q: the clean marker outlived the start", h.Epoch)
	}
	_ = lost.Close()
	_ = again.Close()

	// No boot id to compare: every unclean stop is a possible loss.
	rebootTo(t, "")
	s2 := newOpener(t, t.TempDir())
	st := s2.open()
	e := headOf(t, st).Epoch
	crashed2 := newOpener(t, copyDir(t, s2.opts.Dir)).open()
	if h := headOf(t, crashed2); h.Epoch == e {
		t.Errorf("without a boot id a crash kept the epoch %q", e)
	}
	_ = crashed2.Close()
	_ = st.Close()
}

// TestFailedFsyncForgetsTheBoot: after an fsync failed, Linux may have
// dropped written pages in the same boot, so a crash then is a possible
// loss even without a reboot.
func TestFailedFsyncForgetsTheBoot(t *testing.T) {
	rebootTo(t, "boot-1")
	dir := t.TempDir()
	o := newOpener(t, dir)
	o.opts.SyncInterval = 5 * time.Millisecond
	failing := make(chan struct{})
	old := syncLogFile
	syncLogFile = func(f *os.File) error {
		select {
		case <-failing:
			return errors.New("EIO")
		default:
			return old(f)
		}
	}
	t.Cleanup(func() { syncLogFile = old })
	s := o.open()
	defer s.Close()
	first := headOf(t, s)
	close(failing)
	placeN(t, s, 1, "a")
	waitfor.Until(t, 5*time.Second, func() error {
		ef, _, err := readEpochFile(dir)
		if err != nil || ef.boot != "" {
			return fmt.Errorf("epoch file %+v (%v) still names the boot", ef, err)
		}
		return nil
	})
	crashed := newOpener(t, copyDir(t, dir)).open()
	defer crashed.Close()
	if h := headOf(t, crashed); h.Epoch == first.Epoch {
		t.Errorf("a crash after a failed fsync kept epoch %q", h.Epoch)
	}
}
