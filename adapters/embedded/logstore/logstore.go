// Package logstore is the embedded canvas store of the all-in-one app: the
// canvas lives in memory, one mutex orders every write, and (given a data
// directory) every accepted event is appended to a log before Place
// returns, with periodic snapshots so that start-up does not replay
// forever.
//
// Durability: each event's log record is handed to the kernel with
// write(2) before Place returns, so a killed process (SIGKILL, OOM, panic)
// loses nothing it acknowledged. The log is fsynced every SyncInterval and
// on Close, so a power cut loses at most that window. A failed fsync is
// answered with a snapshot of the canvas in memory; if that fails too, the
// store refuses writes (and Ping fails) until restarted. Start-up loads the
// snapshot, replays the log after it and cuts off a torn or corrupt tail
// with a warning; it never refuses to start because of one.
//
// Files in the directory: "snapshot" (see snapshot.go), "log-<seq>.wal"
// segments (see wal.go) and "LOCK"; start-up sets damaged log data aside
// as "*.damaged*" files, which are never read again.
//
// Memory: 3 bytes per pixel for the colours, plus 20 bytes per pixel painted
// since the last reset for who and when, in pages allocated on first paint
// (a fully painted 2048x2048 canvas: about 96 MiB). Usernames are interned.
package logstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Defaults for Options fields left zero.
const (
	DefaultHistorySize   = 10000
	DefaultSyncInterval  = time.Second
	DefaultSnapshotEvery = 100000
)

// Errors besides those of the domain and ErrSizeMismatch.
var (
	// ErrClosed reports a call after Close; it wraps ports.ErrUnavailable
	// because to a caller a closed store is an unavailable one.
	ErrClosed = fmt.Errorf("%w: logstore is closed", ports.ErrUnavailable)
	// ErrLocked reports a data directory another process has open.
	ErrLocked = errors.New("logstore: the data directory is in use by another process")
)

// Options configure Open.
type Options struct {
	// Dir is the data directory; "" keeps everything in memory only, with
	// no durability (tests, throwaway canvases).
	Dir string
	// Size is the canvas size; a directory holding another size is an
	// error (ErrSizeMismatch).
	Size domain.Size
	// HistorySize is how many events Since can return; default 10000.
	HistorySize int
	// Bus is where every event is published on ports.ChannelPixelUpdates,
	// under the store's lock (that is what makes publication order seq
	// order), so Publish must not block: use membus. Required.
	Bus ports.Bus
	// Clock stamps events; default the wall clock.
	Clock ports.Clock
	// SyncInterval is how often the log is fsynced; default 1s.
	SyncInterval time.Duration
	// SnapshotEvery is how many log records are written between snapshots;
	// default 100000.
	SnapshotEvery int
	// Logger gets warnings about damaged logs and failed snapshots; default
	// slog.Default().
	Logger *slog.Logger
}

// Store is the embedded canvas store. It implements ports.CanvasStore.
type Store struct {
	opts Options
	log  *slog.Logger

	mu       sync.RWMutex
	st       *state
	closed   bool
	logFile  *os.File // current segment; nil in memory-only mode
	logSize  int64    // bytes in logFile, where to cut back after a failed write
	logErr   error    // sticky: the log could not be repaired after a failed write
	unsynced bool     // written since the last fsync
	// unsafeUpTo is set when an fsync of the log failed: the records up to
	// that seq may never reach the disk (Linux can drop the failed pages
	// and let the next fsync succeed), so only a snapshot makes them
	// durable. 0: nothing is waiting for one.
	unsafeUpTo domain.Seq
	records    int    // records since the last checkpoint
	buf        []byte // reused for encoding log records

	lock        *os.File
	checkpoints chan struct{} // capacity 1: a checkpoint is due
	stop        chan struct{}
	stopped     chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

var _ ports.CanvasStore = (*Store)(nil)

// Open loads (or creates) the store.
func Open(opts Options) (*Store, error) {
	if _, err := domain.NewSize(opts.Size.Width, opts.Size.Height); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	if opts.Bus == nil {
		return nil, errors.New("logstore: Options.Bus is required")
	}
	if opts.HistorySize <= 0 {
		opts.HistorySize = DefaultHistorySize
	}
	if opts.Clock == nil {
		opts.Clock = system.NewClock()
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.SnapshotEvery <= 0 {
		opts.SnapshotEvery = DefaultSnapshotEvery
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{opts: opts, log: opts.Logger}
	if opts.Dir == "" {
		s.st = newState(opts.Size, opts.HistorySize)
		return s, nil
	}
	if err := s.openDir(); err != nil {
		if s.lock != nil {
			_ = s.lock.Close()
		}
		if s.logFile != nil {
			_ = s.logFile.Close()
		}
		return nil, err
	}
	s.checkpoints = make(chan struct{}, 1)
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go s.background()
	return s, nil
}

func (s *Store) openDir() error {
	dir := s.opts.Dir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	s.lock = lock
	_ = os.Remove(filepath.Join(dir, snapshotTmpName)) // a checkpoint that died half way
	st, err := readSnapshot(dir, s.opts.Size, s.opts.HistorySize)
	if err != nil {
		return err
	}
	if st == nil {
		st = newState(s.opts.Size, s.opts.HistorySize)
	}
	loaded := st.seq
	res, err := replay(dir, st, s.log)
	if err != nil {
		return err
	}
	s.st = st
	s.records = int(st.seq - loaded)
	if res.file == nil {
		f, err := createSegment(dir, st.seq+1, st.size)
		if err != nil {
			return fmt.Errorf("logstore: %w", err)
		}
		res = replayResult{file: f, size: int64(segmentHeaderLen)}
	}
	s.logFile, s.logSize = res.file, res.size
	return nil
}

// Size is the canvas size.
func (s *Store) Size() domain.Size { return s.opts.Size }

// Place assigns each write the next seq and a timestamp, logs, applies,
// remembers and publishes it, all under the one lock. Either every write of
// the call is accepted or none is.
func (s *Store) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(writes) == 0 {
		return nil, nil
	}
	events := make([]domain.Event, len(writes))
	for i, w := range writes {
		if err := s.opts.Size.Check(w.Pixel); err != nil {
			return nil, fmt.Errorf("logstore: write %d: %w", i, err)
		}
		events[i] = domain.Event{Kind: domain.PixelPlaced, Pixel: w.Pixel, Username: w.Username, Origin: w.Origin}
		if err := checkEvent(&events[i]); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.commit(events); err != nil {
		return nil, err
	}
	return events, nil
}

// Reset turns the canvas white as one event.
func (s *Store) Reset(ctx context.Context, origin domain.Origin) (domain.Event, error) {
	if err := ctx.Err(); err != nil {
		return domain.Event{}, err
	}
	events := []domain.Event{{Kind: domain.CanvasReset, Origin: origin}}
	if err := checkEvent(&events[0]); err != nil {
		return domain.Event{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.commit(events); err != nil {
		return domain.Event{}, err
	}
	return events[0], nil
}

// commit stamps, logs, applies and publishes events; s.mu is held. The log
// write comes before anything changes in memory, so a failed write leaves
// the store exactly as it was.
func (s *Store) commit(events []domain.Event) error {
	if s.closed {
		return ErrClosed
	}
	if s.logErr != nil {
		return fmt.Errorf("%w: %v", ports.ErrUnavailable, s.logErr)
	}
	now := domain.TimestampOf(s.opts.Clock.Now())
	seq, ts := s.st.seq, s.st.lastTS
	for i := range events {
		seq++
		ts = domain.NextTimestamp(ts, now)
		events[i].Seq, events[i].Time = seq, ts
	}
	if s.logFile != nil {
		if err := s.appendLog(events); err != nil {
			return err
		}
	}
	for i := range events {
		s.st.apply(&events[i])
	}
	// The event is committed whatever the caller's context does now, so
	// publication must not depend on it.
	pub := context.Background()
	for i := range events {
		if err := s.opts.Bus.Publish(pub, ports.ChannelPixelUpdates, busmsg.EncodeEvent(events[i])); err != nil {
			s.log.Warn("logstore: publishing an event failed; subscribers will repair from history", "seq", events[i].Seq, "err", err)
		}
	}
	return nil
}

func (s *Store) appendLog(events []domain.Event) error {
	s.buf = s.buf[:0]
	for i := range events {
		s.buf = appendRecord(s.buf, &events[i])
	}
	if _, err := s.logFile.Write(s.buf); err != nil {
		// Cut a partial record off, or the next record would follow garbage
		// and be lost at replay. If even that fails, stop accepting writes.
		if terr := s.logFile.Truncate(s.logSize); terr != nil {
			s.logErr = fmt.Errorf("log write failed (%v) and could not be repaired: %w", err, terr)
			s.log.Error("logstore: the log is damaged; refusing writes until restart", "err", s.logErr)
		}
		return fmt.Errorf("%w: append to the log: %v", ports.ErrUnavailable, err)
	}
	s.logSize += int64(len(s.buf))
	s.unsynced = true
	s.records += len(events)
	if s.records >= s.opts.SnapshotEvery {
		select {
		case s.checkpoints <- struct{}{}:
		default:
		}
	}
	if cap(s.buf) > 1<<20 {
		s.buf = nil // one huge batch should not pin its buffer forever
	}
	return nil
}

// Snapshot copies every pixel at the current seq.
func (s *Store) Snapshot(ctx context.Context) (domain.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return domain.Snapshot{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return domain.Snapshot{}, ErrClosed
	}
	return domain.Snapshot{Size: s.st.size, Seq: s.st.seq, RGB: append([]byte(nil), s.st.rgb...)}, nil
}

// Pixel returns one pixel and who painted it since the last reset.
func (s *Store) Pixel(ctx context.Context, x, y int) (domain.PixelInfo, error) {
	if err := ctx.Err(); err != nil {
		return domain.PixelInfo{}, err
	}
	if !s.opts.Size.Contains(x, y) {
		return domain.PixelInfo{}, domain.ErrOutOfBounds
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return domain.PixelInfo{}, ErrClosed
	}
	return s.st.pixel(x, y), nil
}

// Since returns kept events after after.
func (s *Store) Since(ctx context.Context, after domain.Seq, limit int) ([]domain.Event, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, false, ErrClosed
	}
	events, complete := s.st.since(after, limit)
	return events, complete, nil
}

// LatestSeq is the seq of the last accepted event.
func (s *Store) LatestSeq(ctx context.Context) (domain.Seq, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, ErrClosed
	}
	return s.st.seq, nil
}

// Ping fails once the store is closed or its log is broken.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.logErr != nil:
		return fmt.Errorf("%w: %v", ports.ErrUnavailable, s.logErr)
	}
	return nil
}

// Close writes a final snapshot, syncs and closes the log. Later calls
// return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.opts.Dir == "" {
			s.mu.Lock()
			s.closed = true
			s.mu.Unlock()
			return
		}
		close(s.stop)
		<-s.stopped
		var errs []error
		if _, err := s.checkpoint(); err != nil {
			errs = append(errs, err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.closed = true
		if err := s.logFile.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("logstore: sync log: %w", err))
		}
		if err := s.logFile.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := s.lock.Close(); err != nil {
			errs = append(errs, err)
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// syncLogFile is (*os.File).Sync; tests make it fail.
var syncLogFile = (*os.File).Sync

// writeSnapshotFile is writeSnapshot; tests make it slow.
var writeSnapshotFile = writeSnapshot

// background syncs the log every SyncInterval and writes snapshots when
// they are due, so that neither costs a writer anything.
func (s *Store) background() {
	defer close(s.stopped)
	tick := time.NewTicker(s.opts.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
			s.syncLog()
		case <-s.checkpoints:
			wrote, err := s.checkpoint()
			s.mu.Lock()
			// A snapshot that was written but is older than a failure
			// during it leaves unsafeUpTo set; the failure queued another.
			if !wrote && s.unsafeUpTo != 0 && s.logErr == nil {
				// Acknowledging more writes would promise a durability
				// neither the log nor a snapshot can give.
				s.logErr = fmt.Errorf("fsync of the log failed and no snapshot could be written instead: %v", err)
				s.log.Error("logstore: writes since the last good fsync may not be on disk; refusing writes until restart", "err", s.logErr)
			}
			s.mu.Unlock()
			if err != nil {
				s.log.Error("logstore: snapshot failed; the log keeps everything meanwhile", "err", err)
			}
		}
	}
}

func (s *Store) syncLog() {
	s.mu.Lock()
	f, due := s.logFile, s.unsynced
	s.unsynced = false
	s.mu.Unlock()
	if !due {
		return
	}
	// Outside the lock: an fsync can take long and writers must not wait
	// for it. The file stays open meanwhile because only this goroutine and
	// Close (after stopping it) rotate or close it.
	if err := syncLogFile(f); err != nil {
		s.log.Error("logstore: fsync of the log failed; writing a snapshot instead", "err", err)
		s.mu.Lock()
		s.unsynced = true
		s.unsafeUpTo = s.st.seq
		s.mu.Unlock()
		select {
		case s.checkpoints <- struct{}{}:
		default:
		}
	}
}

// checkpoint starts a new log segment at the current seq and writes a
// snapshot of that seq, then deletes the segments the snapshot covers. Only
// the copy of the state and the switch of segment happen under the lock.
// It reports whether the snapshot was written.
func (s *Store) checkpoint() (bool, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, nil
	}
	frozen := s.st.freeze()
	next, err := createSegment(s.opts.Dir, frozen.seq+1, s.st.size)
	if err != nil {
		s.st.thaw(frozen)
		s.records = 0 // try again after another SnapshotEvery records, not after every write
		s.mu.Unlock()
		return false, fmt.Errorf("logstore: start a log segment: %w", err)
	}
	old := s.logFile
	s.logFile, s.logSize, s.records, s.unsynced = next, int64(segmentHeaderLen), 0, false
	s.mu.Unlock()

	var errs []error
	if err := old.Sync(); err != nil {
		errs = append(errs, fmt.Errorf("sync log: %w", err))
	}
	if err := old.Close(); err != nil {
		errs = append(errs, err)
	}
	done := make(chan error, 1)
	go func() { done <- writeSnapshotFile(s.opts.Dir, frozen) }()
	snapErr := s.syncUntil(done)
	if snapErr != nil {
		errs = append(errs, snapErr)
	} else if err := removeSegmentsBefore(s.opts.Dir, frozen.seq+1); err != nil {
		errs = append(errs, fmt.Errorf("remove old log segments: %w", err))
	}
	s.mu.Lock()
	s.st.thaw(frozen)
	if snapErr == nil && frozen.seq >= s.unsafeUpTo {
		s.unsafeUpTo = 0
	}
	s.mu.Unlock()
	return snapErr == nil, errors.Join(errs...)
}

// syncUntil keeps fsyncing the log every SyncInterval until done delivers:
// a large snapshot takes seconds on a slow disk, and a power cut meanwhile
// must not lose more than the usual window of the records written after
// it. Only the caller rotates the log, so syncLog's file stays open.
func (s *Store) syncUntil(done <-chan error) error {
	tick := time.NewTicker(s.opts.SyncInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			s.syncLog()
		}
	}
}
