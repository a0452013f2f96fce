package logstore

// This file is the canvas's epoch (domain.Epoch) in the embedded store:
// whether the history the store opens with may differ from the one it
// published before it stopped.
//
// Place hands each record to the kernel with write(2) before it publishes
// the event, and the log is fsynced every SyncInterval. So:
//   - a clean Close (final snapshot, final fsync) loses nothing;
//   - a killed process (SIGKILL, OOM, panic) loses nothing either: what it
//     wrote is in the kernel's page cache, which the next start of the
//     same boot reads back;
//   - only a machine that went down without a clean Close (a power cut, a
//     kernel crash, a VM killed) can lose the records written after the
//     last fsync, up to SyncInterval of acknowledged, published events,
//     whose seqs the store would then hand out again.
//
// The store therefore keeps, in the file "epoch", the epoch, its base and
// the boot id (Linux's /proc/sys/kernel/random/boot_id) of the machine
// that opened it, and writes the file "clean" after the final fsync of a
// clean Close. Open removes "clean" (durably) before it takes a write and
// keeps the epoch when the previous run ended cleanly or ran in the same
// boot; otherwise (another boot after a crash, or no boot id to compare,
// or no epoch file at all) it starts a new epoch, with base the lower of
// the old base and the seq the replay reached (domain.NextBase). That is
// better than a new epoch after every unclean stop: a crashed process,
// the common case, costs no client a reload. A failed fsync (whose pages
// Linux may drop without a trace in the same boot) forgets the boot id in
// the file, so that the next start makes a new epoch unless Close ran.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
)

// The epoch's files in the data directory.
const (
	epochName    = "epoch"
	epochTmpName = "epoch.tmp"
	cleanName    = "clean"
)

// bootID names the machine's current boot ("" when unknown: then a crash
// is always treated as a possible loss). Tests pretend a reboot.
var bootID = func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

var ids = system.NewIDs()

// newEpoch names a new timeline: 12 random hex digits.
func newEpoch() domain.Epoch { return domain.Epoch(ids.NewID("")) }

// epochFile is what the file "epoch" holds.
type epochFile struct {
	epoch domain.Epoch
	base  domain.Seq
	boot  string // "" once an fsync failed: the same boot is no proof any more
}

func readEpochFile(dir string) (epochFile, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, epochName)) //nolint:gosec // G304: the store's own file in its data directory
	if errors.Is(err, fs.ErrNotExist) {
		return epochFile{}, false, nil
	}
	if err != nil {
		return epochFile{}, false, fmt.Errorf("logstore: read epoch: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 || len(f) > 3 || len(f[0]) > domain.MaxEpochLen {
		return epochFile{}, false, nil // damaged: as if there were none, which starts a new epoch
	}
	base, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return epochFile{}, false, nil
	}
	ef := epochFile{epoch: domain.Epoch(f[0]), base: base}
	if len(f) == 3 {
		ef.boot = f[2]
	}
	return ef, true, nil
}

// writeEpochFile replaces the file "epoch" durably.
func writeEpochFile(dir string, ef epochFile) error {
	text := string(ef.epoch) + " " + strconv.FormatUint(ef.base, 10)
	if ef.boot != "" {
		text += " " + ef.boot
	}
	tmp := filepath.Join(dir, epochTmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) //nolint:gosec // G304: the store's own file
	if err != nil {
		return err
	}
	_, werr := f.WriteString(text + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, epochName)); err != nil {
		return err
	}
	return syncDir(dir)
}

// openEpoch decides the epoch of a store whose replay reached head, and
// makes the decision durable before the store takes a write: the epoch
// file names this boot, and the clean marker is gone. It reports whether
// an existing store had to start a new epoch (an unclean stop it cannot
// vouch for), which is worth a warning; a new store starting its first is
// not.
func openEpoch(dir string, head domain.Seq) (domain.Head, bool, error) {
	prev, had, err := readEpochFile(dir)
	if err != nil {
		return domain.Head{}, false, err
	}
	_, cerr := os.Stat(filepath.Join(dir, cleanName))
	clean := cerr == nil
	boot := bootID()
	kept := had && (clean || (boot != "" && prev.boot == boot))
	h := domain.Head{Seq: head, Epoch: prev.epoch, Base: prev.base}
	if !kept {
		h.Epoch = newEpoch()
		h.Base = domain.NextBase(domain.Head{Seq: head, Epoch: prev.epoch, Base: prev.base}, had)
	}
	if !kept || prev.boot != boot {
		if err := writeEpochFile(dir, epochFile{epoch: h.Epoch, base: h.Base, boot: boot}); err != nil {
			return domain.Head{}, false, fmt.Errorf("logstore: write epoch: %w", err)
		}
	}
	if clean {
		if err := os.Remove(filepath.Join(dir, cleanName)); err != nil {
			return domain.Head{}, false, fmt.Errorf("logstore: remove the clean-shutdown marker: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return domain.Head{}, false, fmt.Errorf("logstore: remove the clean-shutdown marker: %w", err)
		}
	}
	// A new store (no epoch file) starts its first epoch: nothing to warn about.
	return h, !kept && had, nil
}

// markClean writes the clean-shutdown marker, after the final fsync.
func markClean(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, cleanName), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) //nolint:gosec // G304: the store's own file
	if err != nil {
		return err
	}
	serr := f.Sync()
	if err := errors.Join(serr, f.Close()); err != nil {
		return err
	}
	return syncDir(dir)
}
