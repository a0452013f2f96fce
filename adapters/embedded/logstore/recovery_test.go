package logstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/dirlock"
	"github.com/pixelplayground/pixelplayground/ports/storetest"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// A snapshot that is gone (deleted, or replaced by an older backup) while
// the log only starts after it cannot come from a crash: segments are
// deleted only once a durable snapshot covers them. Starting anyway would
// set the whole log aside and begin a blank canvas at seq 1.
func TestLogThatDoesNotReachTheSnapshotIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir, oldSnapshot string)
	}{
		{"snapshot deleted", func(t *testing.T, dir, _ string) {
			if err := os.Remove(filepath.Join(dir, snapshotName)); err != nil {
				t.Fatal(err)
			}
		}},
		{"older snapshot restored", func(t *testing.T, dir, old string) {
			if err := os.Rename(old, filepath.Join(dir, snapshotName)); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := newOpener(t, dir)
			s := o.open()
			placeN(t, s, 5, "a")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			old := filepath.Join(t.TempDir(), "old-snapshot")
			data, err := os.ReadFile(filepath.Join(dir, snapshotName))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(old, data, 0o644); err != nil {
				t.Fatal(err)
			}
			s = o.open()
			placeN(t, s, 5, "b")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = o.open()
			placeN(t, s, 3, "c") // in the log after the snapshot of seq 10
			crashDir := copyDir(t, dir)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, crashDir, old)

			before := dirListing(t, crashDir)
			c, err := Open(newOpener(t, crashDir).opts)
			if err == nil {
				seq, _ := storetest.LatestSeq(context.Background(), c)
				c.Close()
				t.Fatalf("Open succeeded at seq %d after 13 events whose first 10 are nowhere", seq)
			}
			if !strings.Contains(err.Error(), "missing") {
				t.Errorf("err = %v; want it to say which events are missing", err)
			}
			if after := dirListing(t, crashDir); after != before {
				t.Errorf("a refused Open changed the directory:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func dirListing(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(e.Name())
		b.WriteString(" ")
		b.WriteString(info.ModTime().String())
		b.WriteString("\n")
	}
	return b.String()
}

// A power cut just after a checkpoint started the segment log-(N+1) can
// lose the unsynced tail of the previous segment, so replay ends at some
// J < N and the new segment is empty. Writing seqs J+1.. into a file named
// N+1 broke the rule that a segment's name is at most its first seq: the
// checkpoint at seq N then recreated (truncated) that very file, and a
// failed or interrupted snapshot lost J+1..N for good.
func TestEmptySegmentAheadOfTheLogIsNotReused(t *testing.T) {
	dir := t.TempDir()
	o := newOpener(t, dir)
	s := o.open()
	placeN(t, s, 5, "a")
	if err := s.Close(); err != nil { // snapshot of 5, log-6
		t.Fatal(err)
	}
	s = o.open()
	placeN(t, s, 10, "b") // 6..15 in log-6
	crashDir := copyDir(t, dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The power cut: log-6 kept 6..10 only, log-16 was created and synced.
	seg := segments(t, crashDir)[0]
	if seg.first != 6 {
		t.Fatalf("segments %+v", segments(t, crashDir))
	}
	data, err := os.ReadFile(seg.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg.path, int64(recordOffset(t, data, 5))); err != nil {
		t.Fatal(err)
	}
	f, err := createSegment(crashDir, 16, testSize)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()

	c := newOpener(t, crashDir).open()
	if seq, _ := storetest.LatestSeq(context.Background(), c); seq != 10 {
		t.Fatalf("after the power cut LatestSeq = %d, want 10", seq)
	}
	acked := placeN(t, c, 5, "c") // 11..15
	// The next checkpoint (at seq 15, by Close) cannot install its
	// snapshot: a full disk, say.
	blocker := filepath.Join(crashDir, snapshotTmpName)
	if err := os.MkdirAll(filepath.Join(blocker, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err == nil {
		t.Fatal("Close succeeded although the snapshot could not be written")
	}
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	again := newOpener(t, crashDir).open()
	defer again.Close()
	if seq, _ := storetest.LatestSeq(context.Background(), again); seq != acked[len(acked)-1].Seq {
		t.Errorf("after a failed checkpoint LatestSeq = %d; seqs 11..15 were acknowledged", seq)
	}
}

// Records after a corrupt one are dropped from the log, but they may be
// acknowledged events that only a bit flip before them hides: they are kept
// in a side file for whoever wants to recover them, and a second damage
// to a segment of the same name does not overwrite the first one's.
func TestCutRecordsAreSetAsideNotDestroyed(t *testing.T) {
	dir := t.TempDir()
	o := newOpener(t, dir)
	s := o.open()
	placeN(t, s, 10, "a")
	crashDir := copyDir(t, dir)
	s.Close()
	data, off := corruptRecord(t, segments(t, crashDir)[0].path, 5)
	c := newOpener(t, crashDir).open()
	if seq, _ := storetest.LatestSeq(context.Background(), c); seq != 5 {
		t.Fatalf("LatestSeq = %d, want 5", seq)
	}
	c.Close()
	if !damagedHolds(t, crashDir, data[off:]) {
		t.Errorf("the %d bytes cut off the log are nowhere in the directory", len(data)-off)
	}

	// Twice in a row, the whole of log-1 is unusable: both copies stay.
	dir2 := t.TempDir()
	var firsts [][]byte
	for round := 0; round < 2; round++ {
		o := newOpener(t, dir2)
		s := o.open()
		placeN(t, s, 3, "b")
		crash := copyDir(t, dir2)
		s.Close()
		seg := segments(t, crash)[0]
		if seg.first != 1 {
			t.Fatalf("round %d: segments %+v", round, segments(t, crash))
		}
		data, _ := corruptRecord(t, seg.path, 0)
		firsts = append(firsts, data)
		if err := os.RemoveAll(dir2); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(crash, dir2); err != nil {
			t.Fatal(err)
		}
		c := newOpener(t, dir2).open()
		if seq, _ := storetest.LatestSeq(context.Background(), c); seq != 0 {
			t.Fatalf("round %d: LatestSeq = %d, want 0", round, seq)
		}
		// No Close: its snapshot would make the next round start at log-N.
		abandon(c)
	}
	for i, data := range firsts {
		if !damagedHolds(t, dir2, data[segmentHeaderLen:]) {
			t.Errorf("the records of damaged log-1 number %d are gone", i+1)
		}
	}
}

// damagedHolds reports whether a file set aside in dir contains want.
func damagedHolds(t *testing.T, dir string, want []byte) bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.Contains(e.Name(), damagedSuffix) {
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(got, want) {
			return true
		}
	}
	return false
}

// abandon stops s the way a crash would: no checkpoint, no final sync.
func abandon(s *Store) {
	close(s.stop)
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	_ = s.logFile.Close()
	_ = s.lock.Close()
}

// failSyncs makes every fsync of a log segment fail until the test ends.
func failSyncs(t *testing.T) (calls func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	syncLogFile = func(*os.File) error {
		mu.Lock()
		defer mu.Unlock()
		n++
		return syscall.EIO
	}
	t.Cleanup(func() { syncLogFile = (*os.File).Sync })
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// After a failed fsync Linux may mark the unwritten pages clean, so a
// retry "succeeds" and the records it covered never reach the disk: the
// log cannot be trusted with them any more. The canvas in memory is
// still right, so a snapshot of it is written at once.
func TestFailedLogSyncIsCoveredByASnapshot(t *testing.T) {
	dir := t.TempDir()
	o := newOpener(t, dir)
	o.opts.SyncInterval = 5 * time.Millisecond
	calls := failSyncs(t)
	s := o.open()
	defer s.Close()
	acked := placeN(t, s, 3, "a")
	waitfor.True(t, 5*time.Second, "an fsync of the log", func() bool { return calls() > 0 })
	last := acked[len(acked)-1].Seq
	waitfor.Until(t, 5*time.Second, func() error {
		st, err := readSnapshot(dir, testSize, 100)
		switch {
		case err != nil:
			return fmt.Errorf("a failed fsync of the log was not followed by a snapshot of the acknowledged writes: %w", err)
		case st == nil || st.seq != last:
			return fmt.Errorf("a failed fsync of the log was not followed by a snapshot of the acknowledged writes (up to seq %d)", last)
		}
		return nil
	})
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping after the snapshot that covered the failed fsync: %v", err)
	}
}

// If no snapshot can cover them either, the store stops acknowledging
// writes it cannot make durable, and says so.
func TestFailedLogSyncWithoutASnapshotRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	o := newOpener(t, dir)
	o.opts.SyncInterval = 5 * time.Millisecond
	s := o.open()
	defer s.Close()
	if err := os.MkdirAll(filepath.Join(dir, snapshotTmpName, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	calls := failSyncs(t)
	placeN(t, s, 3, "a")
	waitfor.True(t, 5*time.Second, "an fsync of the log", func() bool { return calls() > 0 })
	waitfor.True(t, 5*time.Second, "Ping failing after a failed fsync and a failed snapshot", func() bool {
		return s.Ping(context.Background()) != nil
	})
	if err := s.Ping(context.Background()); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("Ping after a failed fsync and a failed snapshot = %v, want ErrUnavailable", err)
	}
	if _, err := s.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: 1, Y: 1}}}); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("Place after a failed fsync and a failed snapshot: err = %v, want ErrUnavailable", err)
	}
}

// A write the log refuses (disk full, I/O error) is not acknowledged, takes
// no seq and changes nothing in memory; a log that cannot even be cut back
// to its last good record stops taking writes.
func TestFailedLogWriteIsNotAcknowledged(t *testing.T) {
	dir := t.TempDir()
	o := newOpener(t, dir)
	s := o.open()
	placeN(t, s, 3, "a")
	before := observe(t, s)
	// A read-only descriptor of the same segment: the write and the
	// truncation that would repair it both fail.
	s.mu.Lock()
	good := s.logFile
	ro, err := os.Open(good.Name())
	if err != nil {
		t.Fatal(err)
	}
	s.logFile = ro
	s.mu.Unlock()
	if _, err := s.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: 9, Y: 9, Color: 7}}}); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("Place with a failing log: err = %v, want ErrUnavailable", err)
	}
	sameObserved(t, observe(t, s), before)
	if err := s.Ping(context.Background()); err == nil {
		t.Error("Ping is fine with a log that could not be repaired")
	}
	s.mu.Lock()
	s.logFile = good
	s.mu.Unlock()
	ro.Close()
	if _, err := s.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: 9, Y: 9, Color: 7}}}); err == nil {
		t.Error("Place accepted after the log could not be repaired")
	}
	abandon(s)
	again := newOpener(t, dir).open()
	defer again.Close()
	sameObserved(t, observe(t, again), before)
}

// Writing a snapshot of a large canvas takes a while (about 0.25 s for a
// painted 2048x2048 one on a fast SSD, seconds on a slow disk); the log
// after it must still be fsynced every SyncInterval meanwhile, or a power
// cut during a checkpoint loses more than the promised window.
func TestLogIsSyncedWhileASnapshotIsWritten(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	writeSnapshotFile = func(dir string, f *frozenState) error {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
		return writeSnapshot(dir, f)
	}
	var mu sync.Mutex
	synced := map[string]int{}
	syncLogFile = func(f *os.File) error {
		mu.Lock()
		synced[filepath.Base(f.Name())]++
		mu.Unlock()
		return f.Sync()
	}
	t.Cleanup(func() { writeSnapshotFile, syncLogFile = writeSnapshot, (*os.File).Sync })

	o := newOpener(t, t.TempDir())
	o.opts.SnapshotEvery = 5
	o.opts.SyncInterval = 5 * time.Millisecond
	s := o.open()
	defer s.Close()
	defer close(release)
	placeN(t, s, 5, "a") // due: a checkpoint at seq 5, into log-6
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("no checkpoint after SnapshotEvery records")
	}
	placeN(t, s, 1, "b") // into log-6, while the snapshot is being written
	// The snapshot stays stuck until the test ends, so a sync of log-6
	// can only happen beside it.
	waitfor.True(t, 5*time.Second, "an fsync of the log (SyncInterval 5 ms) while a snapshot is being written", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return synced[segmentName(6)] > 0
	})
}

// A zero-length snapshot (a file system that lost the data of a renamed
// file) is refused with a clear error, not read as a blank canvas.
func TestEmptySnapshotIsAnError(t *testing.T) {
	dir := t.TempDir()
	s := newOpener(t, dir).open()
	placeN(t, s, 3, "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(dir, snapshotName), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(newOpener(t, dir).opts); err == nil || !strings.Contains(err.Error(), "damaged snapshot") {
		t.Errorf("a zero-length snapshot: err = %v", err)
	}
}

// Replay's repairs (a side file for the records cut off, later segments
// renamed, the cut itself) are directory changes that a power cut can
// undo. They are made durable before writes resume: undone afterwards,
// they would bring back old records under seqs that new writes now hold.
func TestLogRepairsAreDurableBeforeWritesResume(t *testing.T) {
	dir := t.TempDir()
	s := newOpener(t, dir).open()
	placeN(t, s, 10, "a")
	crashDir := copyDir(t, dir)
	s.Close()
	corruptRecord(t, segments(t, crashDir)[0].path, 5)

	var synced []string // the directory as each sync of it saw it
	syncDir = func(d string) error {
		if d == crashDir {
			synced = append(synced, dirListing(t, crashDir))
		}
		return dirlock.Sync(d)
	}
	t.Cleanup(func() { syncDir = dirlock.Sync })
	c := newOpener(t, crashDir).open()
	defer c.Close()
	repaired := dirListing(t, crashDir)
	if !strings.Contains(repaired, damagedSuffix) {
		t.Fatalf("no side file for the cut records:\n%s", repaired)
	}
	if len(synced) == 0 || synced[len(synced)-1] != repaired {
		t.Fatalf("the directory after replay's repairs was never synced; syncs saw %q, the repaired directory is:\n%s", synced, repaired)
	}
	// Writes go on from the cut.
	if got := placeN(t, c, 1, "b"); got[0].Seq != 6 {
		t.Errorf("the first write after the cut got seq %d, want 6", got[0].Seq)
	}
}

// If the repairs cannot be made durable, the store does not open: serving
// writes on top of repairs a power cut may undo is what the sync prevents.
// Once the directory can be synced again the store opens, repaired.
func TestLogRepairsThatCannotBeSyncedRefuseToOpen(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		// keepTail syncs the side file before the cut.
		{"a damaged record", func(t *testing.T, dir string) { corruptRecord(t, segments(t, dir)[0].path, 5) }},
		// Only a removal, ahead of the segment that goes on: no new
		// segment is made, so the sync at the end of replay is the one.
		{"a segment without a header", func(t *testing.T, dir string) {
			f, err := createSegment(dir, 0, testSize)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := os.Truncate(f.Name(), 0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newOpener(t, dir).open()
			placeN(t, s, 10, "a")
			crashDir := copyDir(t, dir)
			s.Close()
			c.damage(t, crashDir)

			broken := errors.New("injected: the disk refuses to sync")
			syncDir = func(d string) error {
				if d == crashDir {
					return broken
				}
				return dirlock.Sync(d)
			}
			t.Cleanup(func() { syncDir = dirlock.Sync })
			if st, err := Open(newOpener(t, crashDir).opts); !errors.Is(err, broken) {
				if st != nil {
					st.Close()
				}
				t.Fatalf("Open with repairs that cannot be synced: err = %v, want the sync's error", err)
			}
			syncDir = dirlock.Sync
			again := newOpener(t, crashDir).open()
			defer again.Close()
			want := domain.Seq(10)
			if c.name == "a damaged record" {
				want = 5
			}
			if seq, _ := storetest.LatestSeq(context.Background(), again); seq != want {
				t.Errorf("once the directory syncs again, LatestSeq = %d, want %d", seq, want)
			}
		})
	}
}
