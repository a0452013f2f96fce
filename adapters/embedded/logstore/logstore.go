// Package logstore is the embedded canvas store of the all-in-one app: the
// canvas lives in memory, one mutex orders every write, and (given a data
// directory) every accepted event is appended to a log before Place
// returns, with periodic snapshots so that start-up does not replay
// forever.
//
// Durability: each event's log record is handed to the kernel with
// write(2) before Place returns, so a killed process (SIGKILL, OOM, panic)
// loses nothing it acknowledged. The log is fsynced every SyncInterval and
// on Close, so a power cut loses at most that window. Start-up loads the
// snapshot, replays the log after it and cuts off a torn or corrupt tail
// with a warning; it never refuses to start because of one.
//
// Write failures, and which ones only a restart ends (WriteHealth reports
// both kinds, for readiness):
//   - A log write that fails (a full disk: ENOSPC, a quota) is cut back to
//     the last good record, refused with ports.ErrUnavailable and changes
//     nothing. It is transient: the next write tries again, and while writes
//     fail the store tries a small write of its own in the directory every
//     SyncInterval, so that it reports being able to write again when space
//     returns even if no client writes meanwhile.
//   - A failed write whose partial record cannot be cut back leaves a log
//     that the next record would follow garbage in: writes are refused (and
//     Ping fails) until restart, whose replay cuts the tail off.
//   - A failed fsync is answered with a snapshot of the canvas in memory
//     (after a failed fsync Linux may drop the unwritten pages and let the
//     next fsync succeed, so the log can no longer vouch for those records).
//     If the snapshot fails too, acknowledged writes may not be durable and
//     nothing could make new ones so: writes are refused (and Ping fails)
//     until restart.
//
// Each of these failures is logged when it starts, then at most once per
// FailureLogEvery while it goes on, with the number of lines left out, and
// once when writes are taken again.
//
// Epoch: the store starts a new epoch (domain.Epoch) when it opens after
// the machine may have lost records it had published; see epoch.go.
//
// Files in the directory: "snapshot" (see snapshot.go), "log-<seq>.wal"
// segments (see wal.go), "epoch" and, after a clean Close, "clean" (see
// epoch.go), and "LOCK"; start-up sets damaged log data aside
// as "*.damaged*" files, which are never read again. A Store keeps one
// canvas; Stores keeps many, the main canvas in the data directory itself
// and every other in a directory of its own, "canvases/<slug>" (see
// stores.go).
//
// Memory: 3 bytes per pixel for the colours, plus 20 bytes per pixel painted
// since the last reset for who and when, in pages allocated on first paint
// (a fully painted 2048x2048 canvas: about 96 MiB). Usernames are interned.
package logstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/dirlock"

	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
	"github.com/pixelplayground/pixelplayground/internal/lograte"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Defaults for Options fields left zero.
const (
	DefaultHistorySize   = 10000
	DefaultSyncInterval  = time.Second
	DefaultSnapshotEvery = 100000
)

// FailureLogEvery is how often a failure that goes on (every write
// refused on a full disk, every fsync failing) is logged again.
const FailureLogEvery = 10 * time.Second

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
	// Slug is the canvas this store keeps, which names its channel
	// (ports.PixelChannel); "" is the main canvas.
	Slug domain.Slug
	// Bus is where every event is published on the canvas's channel,
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
	// Logger gets warnings about damaged logs, failed writes, fsyncs and
	// snapshots; default slog.Default().
	Logger *slog.Logger
}

// Store is the embedded canvas store. It implements ports.CanvasStore.
type Store struct {
	opts    Options
	log     *slog.Logger
	channel string // ports.PixelChannel(opts.Slug)

	mu    sync.RWMutex
	st    *state
	epoch domain.Epoch // the timeline, with its base (see epoch.go)
	base  domain.Seq
	// bootForgotten is set once a failed fsync made the epoch file forget
	// the boot id.
	bootForgotten bool
	closed        bool
	logFile       *os.File // current segment; nil in memory-only mode
	logSize       int64    // bytes in logFile, where to cut back after a failed write
	logErr        error    // sticky: writes are refused until restart (see the package doc)
	unsynced      bool     // written since the last fsync
	// appendErr is why the last write to the log failed, when the log could
	// be cut back (a full disk): writes are refused meanwhile, not for good.
	// A write that succeeds, or a probe of the directory, clears it.
	appendErr   error
	appendSince time.Time // when appends started failing
	refused     int       // writes refused since then
	appendFails uint64    // failed appends ever, so that a probe that began before the latest one does not clear it
	// unsafeUpTo is set when an fsync of the log failed: the records up to
	// that seq may never reach the disk (Linux can drop the failed pages
	// and let the next fsync succeed), so only a snapshot makes them
	// durable. 0: nothing is waiting for one.
	unsafeUpTo domain.Seq
	records    int    // records since the last checkpoint
	buf        []byte // reused for encoding log records

	// Repeated failures are logged at most once per FailureLogEvery each.
	appendFailLog, syncFailLog, snapFailLog *lograte.Limiter

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
	if opts.Slug == "" {
		opts.Slug = domain.MainSlug
	}
	if _, err := domain.ParseSlug(string(opts.Slug)); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	s := &Store{opts: opts, log: opts.Logger, channel: ports.PixelChannel(opts.Slug)}
	s.appendFailLog = lograte.New(FailureLogEvery, opts.Clock.Now)
	s.syncFailLog = lograte.New(FailureLogEvery, opts.Clock.Now)
	s.snapFailLog = lograte.New(FailureLogEvery, opts.Clock.Now)
	if opts.Dir == "" {
		// Nothing survives the process: every store is a new timeline
		// that shares nothing with an earlier one.
		s.st = newState(opts.Size, opts.HistorySize)
		s.epoch = newEpoch()
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
	lock, err := dirlock.Lock(dir, ErrLocked)
	if err != nil {
		return err
	}
	s.lock = lock
	_ = os.Remove(filepath.Join(dir, snapshotTmpName)) // a checkpoint that died half way
	_ = os.Remove(filepath.Join(dir, probeName))       // a probe that died half way
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
	head, started, err := openEpoch(dir, st.seq)
	if err != nil {
		if res.file != nil {
			_ = res.file.Close()
		}
		return err
	}
	if started {
		s.log.Warn("logstore: the previous run did not end cleanly and the machine may have restarted since; events it published after its last fsync may be lost, so a new epoch starts and clients reload",
			"epoch", string(head.Epoch), "seq", head.Seq, "base", head.Base)
	}
	s.epoch, s.base = head.Epoch, head.Base
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
	// One message for the whole call (busmsg's batches).
	if err := s.opts.Bus.Publish(context.Background(), s.channel, busmsg.EncodeEvents(events, s.epoch)); err != nil {
		s.log.Warn("logstore: publishing events failed; subscribers will repair from history",
			"first", events[0].Seq, "last", events[len(events)-1].Seq, "err", err)
	}
	return nil
}

func (s *Store) appendLog(events []domain.Event) error {
	s.buf = s.buf[:0]
	for i := range events {
		s.buf = appendRecord(s.buf, &events[i])
	}
	if _, err := writeFile(s.logFile, s.buf); err != nil {
		// Cut a partial record off, or the next record would follow garbage
		// and be lost at replay. If even that fails, stop accepting writes.
		if terr := s.logFile.Truncate(s.logSize); terr != nil {
			s.logErr = fmt.Errorf("log write failed (%w) and could not be repaired: %w", err, terr)
			s.log.Error("logstore: the log is damaged; refusing writes until restart", "err", s.logErr)
		} else {
			s.appendFailed(err)
		}
		return fmt.Errorf("%w: append to the log: %w", ports.ErrUnavailable, err)
	}
	if s.appendErr != nil {
		s.appendRecovered("a write succeeded")
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
	return domain.Snapshot{Size: s.st.size, Seq: s.st.seq, Epoch: s.epoch, RGB: append([]byte(nil), s.st.rgb...)}, nil
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

// Since returns kept events after after, if (after, epoch) continues on
// the store's timeline.
func (s *Store) Since(ctx context.Context, after domain.Seq, epoch domain.Epoch, limit int) (ports.History, error) {
	if err := ctx.Err(); err != nil {
		return ports.History{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ports.History{}, ErrClosed
	}
	head := s.head()
	events, complete := s.st.since(after, limit)
	return ports.History{Events: events, Complete: complete && head.Continues(after, epoch), Head: head}, nil
}

// Head is the seq of the last accepted event and its timeline.
func (s *Store) Head(ctx context.Context) (domain.Head, error) {
	if err := ctx.Err(); err != nil {
		return domain.Head{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return domain.Head{}, ErrClosed
	}
	return s.head(), nil
}

// head is Head with s.mu held.
func (s *Store) head() domain.Head {
	return domain.Head{Seq: s.st.seq, Epoch: s.epoch, Base: s.base}
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

// WriteError is why the store refuses writes; see WriteHealth. It wraps
// ports.ErrUnavailable and the failure.
type WriteError struct {
	// Err is the failure, such as a *fs.PathError of syscall.ENOSPC.
	Err error
	// UntilRestart is set when only a restart ends it (see the package
	// doc); otherwise writes are taken again once the failure passes.
	UntilRestart bool
	// Since is when writes started failing, and Refused how many have been
	// refused since; both are zero with UntilRestart.
	Since   time.Time
	Refused int
}

func (e *WriteError) Error() string {
	if e.UntilRestart {
		return "logstore: writes refused until restart: " + e.Err.Error()
	}
	return "logstore: writes refused: " + e.Err.Error()
}

// Unwrap makes errors.Is(err, ports.ErrUnavailable) and errors.Is(err,
// syscall.ENOSPC) hold.
func (e *WriteError) Unwrap() []error { return []error{ports.ErrUnavailable, e.Err} }

// Reason is a short account for probes and operators: for a failure that
// passes, the system's word for it ("no space left on device"), without the
// file's path; for one that lasts until restart, the whole story.
func (e *WriteError) Reason() string {
	if e.UntilRestart {
		return e.Err.Error() + "; writes refused until restart"
	}
	var pe *fs.PathError
	if errors.As(e.Err, &pe) {
		return pe.Err.Error()
	}
	return e.Err.Error()
}

// WriteHealth reports whether writes (Place, Reset) are being accepted:
// nil if so, ErrClosed after Close, otherwise a *WriteError. Unlike Ping,
// which says whether the store answers at all (reads still work while the
// disk is full), this is what readiness should look at. It is cheap: it
// reads state, it does no I/O.
func (s *Store) WriteHealth() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.logErr != nil:
		return &WriteError{Err: s.logErr, UntilRestart: true}
	case s.appendErr != nil:
		return &WriteError{Err: s.appendErr, Since: s.appendSince, Refused: s.refused}
	}
	return nil
}

// appendFailed records a failed log write that was cut back; s.mu is held.
func (s *Store) appendFailed(err error) {
	if s.appendErr == nil {
		s.appendSince, s.refused = s.opts.Clock.Now(), 0
	}
	s.appendErr = err
	s.refused++
	s.appendFails++
	s.appendFailLog.Log(s.log, slog.LevelError, "logstore: a write to the log failed; writes are refused until the log takes data again",
		"err", err, "refused", s.refused, "since", s.appendSince)
}

// appendRecovered clears a failed append; s.mu is held.
func (s *Store) appendRecovered(how string) {
	s.appendFailLog.Reset()
	s.log.Info("logstore: the log takes writes again", "how", how,
		"refused", s.refused, "failed_for", s.opts.Clock.Now().Sub(s.appendSince).Round(time.Millisecond))
	s.appendErr, s.refused = nil, 0
}

// probeAppend tries, while writes to the log are failing, whether the data
// directory takes data again, and clears the failure if so: an app that is
// not ready gets no traffic, so without this a full disk that was cleared
// would keep it unready for good.
func (s *Store) probeAppend() {
	s.mu.RLock()
	failing, gen := s.appendErr != nil && s.logErr == nil && !s.closed, s.appendFails
	s.mu.RUnlock()
	if !failing {
		return
	}
	err := probeDir(s.opts.Dir)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appendErr != nil && s.appendFails == gen {
		s.appendRecovered("a test write to the data directory succeeded")
	}
}

// probeName is the file probeDir writes, and probeBytes how much: room for
// hundreds of log records, so that the writes the probe lets in are not
// refused again at once.
const (
	probeName  = "write-probe.tmp"
	probeBytes = 64 << 10
)

// probeDir writes probeBytes to a file in dir and removes it.
func probeDir(dir string) error {
	path := filepath.Join(dir, probeName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) //nolint:gosec // G304: the store's own file in its data directory
	if err != nil {
		return err
	}
	// Not zeros, which a compressing file system would store in nothing.
	data := bytes.Repeat([]byte("pixel playground write probe\n"), probeBytes/29+1)[:probeBytes]
	_, werr := writeFile(f, data)
	cerr := f.Close()
	return errors.Join(werr, cerr, os.Remove(path))
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
		// Only now is every published event on disk: the next start keeps
		// the epoch (epoch.go).
		if len(errs) == 0 && s.unsafeUpTo == 0 {
			if err := markClean(s.opts.Dir); err != nil {
				errs = append(errs, fmt.Errorf("logstore: mark a clean shutdown: %w", err))
			}
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

// writeFile is (*os.File).Write, for appends to the log and probes of the
// directory; tests make it fail as a full disk does.
var writeFile = (*os.File).Write

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
			s.probeAppend()
		case <-s.checkpoints:
			wrote, err := s.checkpoint()
			s.mu.Lock()
			// A snapshot that was written but is older than a failure
			// during it leaves unsafeUpTo set; the failure queued another.
			if !wrote && s.unsafeUpTo != 0 && s.logErr == nil {
				// Acknowledging more writes would promise a durability
				// neither the log nor a snapshot can give.
				s.logErr = fmt.Errorf("fsync of the log failed and no snapshot could be written instead: %w", err)
				s.log.Error("logstore: writes since the last good fsync may not be on disk; refusing writes until restart", "err", s.logErr)
			}
			s.mu.Unlock()
			if err != nil {
				s.snapFailLog.Log(s.log, slog.LevelError, "logstore: snapshot failed; the log keeps everything meanwhile", "err", err)
			} else if wrote {
				s.snapFailLog.Reset()
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
		s.syncFailLog.Log(s.log, slog.LevelError, "logstore: fsync of the log failed; writing a snapshot instead", "err", err)
		s.mu.Lock()
		s.unsynced = true
		s.unsafeUpTo = s.st.seq
		forget := !s.bootForgotten
		s.bootForgotten = true
		epoch, base := s.epoch, s.base
		s.mu.Unlock()
		if forget {
			// The same boot no longer proves that every write(2) reached
			// the disk (epoch.go); best effort, the disk is failing.
			if err := writeEpochFile(s.opts.Dir, epochFile{epoch: epoch, base: base}); err != nil {
				s.log.Error("logstore: could not record the failed fsync in the epoch file", "err", err)
			}
		}
		select {
		case s.checkpoints <- struct{}{}:
		default:
		}
		return
	}
	s.syncFailLog.Reset()
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
