package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pixelplayground/pixelplayground/domain"
)

// The log is a series of segment files, log-<seq>.wal, each named after the
// seq of its first record (zero-padded so that names sort like numbers).
// A checkpoint starts a new segment at the snapshot's seq+1, after which
// every older segment is covered by the snapshot and deleted. A segment
// starts with a header (magic, width, height) so that a log is never
// replayed onto a canvas of another size.
const (
	segmentPrefix    = "log-"
	segmentSuffix    = ".wal"
	segmentMagic     = "PXWAL001"
	segmentHeaderLen = len(segmentMagic) + 8
	damagedSuffix    = ".damaged"
)

func segmentName(first domain.Seq) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, first, segmentSuffix)
}

// segment is one log file found in the directory.
type segment struct {
	path  string
	first domain.Seq
}

func listSegments(dir string) ([]segment, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix), 10, 64)
		if err != nil {
			continue // not one of ours
		}
		segs = append(segs, segment{path: filepath.Join(dir, name), first: first})
	}
	slices.SortFunc(segs, func(a, b segment) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return segs, nil
}

func segmentHeader(size domain.Size) []byte {
	h := append([]byte(segmentMagic), make([]byte, 8)...)
	binary.LittleEndian.PutUint32(h[len(segmentMagic):], uint32(size.Width))
	binary.LittleEndian.PutUint32(h[len(segmentMagic)+4:], uint32(size.Height))
	return h
}

// createSegment makes a new segment whose first record will have seq
// first, durably (header synced, directory synced), and returns it open for
// appending.
func createSegment(dir string, first domain.Seq, size domain.Size) (*os.File, error) {
	path := filepath.Join(dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600) //nolint:gosec // G304: a segment name the store made, in its data directory
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(segmentHeader(size)); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write log header: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("sync new log: %w", err)
	}
	if err := syncDir(dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// replayResult is where writing continues after replay.
type replayResult struct {
	file *os.File // open for appending; nil if a new segment must be made
	size int64    // bytes in file
}

// replay applies every logged event after st.seq, in order, and stops at
// the first record that is torn, corrupt or out of sequence: everything
// before it is kept, it and everything after it are cut off (the segment is
// truncated, later segments are renamed *.damaged for inspection) with a
// warning. A crash mid-write can only leave such a tail, so replay never
// refuses to start because of one. A log whose start is missing (it begins
// after the snapshot's seq) is different: no crash leaves that, so it is
// an error, and the directory is left as it was.
func replay(dir string, st *state, log *slog.Logger) (res replayResult, err error) {
	r := &replayer{dir: dir, st: st, log: log}
	// Removals, renames and side files are directory changes a power cut
	// can undo. Undone after writes resumed, they would bring back segments
	// holding the seqs that new records now take, so they are made durable
	// before replay hands the log over.
	defer func() {
		if err != nil || !r.repaired {
			return
		}
		if serr := syncDir(dir); serr != nil {
			if res.file != nil {
				res.file.Close()
			}
			res, err = replayResult{}, fmt.Errorf("logstore: make the log's repairs durable: %w", serr)
		}
	}()
	segs, err := listSegments(dir)
	if err != nil {
		return replayResult{}, err
	}
	base, first := st.seq, true
	for i, seg := range segs {
		last := i == len(segs)-1
		data, ok, err := r.readSegment(seg)
		if err != nil {
			return replayResult{}, err
		}
		if !ok {
			// Created by a checkpoint that crashed before the header was
			// synced: it cannot hold records.
			log.Warn("logstore: log segment has no header; starting it afresh", "file", seg.path, "bytes", len(data))
			if err := r.remove(seg); err != nil {
				return replayResult{}, err
			}
			continue
		}
		if first {
			if err := checkLogStart(dir, seg, base); err != nil {
				return replayResult{}, err
			}
			first = false
		}
		off, cut := r.applyRecords(data)
		if cut == nil && off == segmentHeaderLen && seg.first > st.seq+1 {
			// An empty segment named after seqs the log does not reach: a
			// checkpoint created it, then a power cut took the unsynced
			// tail before it. Appending seq st.seq+1 to it would break
			// "a segment's name is at most its first seq", and the
			// checkpoint at seq first-1 would recreate (truncate) the file
			// holding the records it is about to cover.
			log.Warn("logstore: removing an empty log segment ahead of the log", "file", seg.path, "kept_seq", st.seq)
			if err := r.remove(seg); err != nil {
				return replayResult{}, err
			}
			continue
		}
		if !last && (cut == nil || segs[i+1].first <= st.seq+1) {
			if cut != nil {
				// The rest of this segment is covered by the next one (or
				// the snapshot): nothing is lost.
				log.Warn("logstore: skipping a damaged record that later data covers", "file", seg.path, "offset", off, "reason", cut.Error())
			}
			continue
		}
		if cut != nil {
			kept, err := r.cutAt(seg, segs[i+1:], data, off, cut)
			if err != nil || !kept {
				return replayResult{}, err
			}
		}
		f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return replayResult{}, err
		}
		return replayResult{file: f, size: int64(off)}, nil
	}
	return replayResult{}, nil
}

// replayer is replay's state: where it reads, what it rebuilds, and
// whether it has changed the directory.
type replayer struct {
	dir string
	st  *state
	log *slog.Logger
	// repaired is set once replay removed, renamed or wrote a file.
	repaired bool
}

// readSegment reads seg and checks its header against the canvas. ok is
// false for a segment without a header (too short, or a header never
// written); a header of another file or another canvas size is an error.
func (r *replayer) readSegment(seg segment) (data []byte, ok bool, err error) {
	data, err = os.ReadFile(seg.path)
	if err != nil {
		return nil, false, err
	}
	if len(data) < segmentHeaderLen || isZero(data[:segmentHeaderLen]) {
		return data, false, nil
	}
	if !bytes.Equal(data[:len(segmentMagic)], []byte(segmentMagic)) {
		return nil, false, fmt.Errorf("logstore: %s is not a canvas log", seg.path)
	}
	if !bytes.Equal(data[:segmentHeaderLen], segmentHeader(r.st.size)) {
		got := domain.Size{Width: int(binary.LittleEndian.Uint32(data[len(segmentMagic):])), Height: int(binary.LittleEndian.Uint32(data[len(segmentMagic)+4:]))}
		return nil, false, fmt.Errorf("%w: %s holds a %s canvas, %s was asked for", ErrSizeMismatch, seg.path, got, r.st.size)
	}
	return data, true, nil
}

// checkLogStart fails if seg, the log's first segment, starts after the
// event that follows the snapshot (base; 0 without a snapshot).
func checkLogStart(dir string, seg segment, base domain.Seq) error {
	if seg.first <= base+1 {
		return nil
	}
	// Segments are deleted only once a durable snapshot covers them, so no
	// crash leaves this: the snapshot was deleted or replaced by an older
	// one. Replaying would set the whole log aside and start a blank canvas
	// at seq base+1.
	what := fmt.Sprintf("the snapshot ends at seq %d", base)
	if base == 0 {
		what = "there is no snapshot"
	}
	return fmt.Errorf("logstore: the log in %s starts at seq %d but %s: events %d..%d are missing; restore the snapshot, or move the directory away to start a new canvas",
		dir, seg.first, what, base+1, seg.first-1)
}

// applyRecords applies the records of a segment's data that follow the
// state, in order. It returns where it stopped (len(data) when every
// record was read) and, if it stopped early, why: the record there is
// torn, corrupt, off the canvas or leaves a gap in the seqs.
func (r *replayer) applyRecords(data []byte) (off int, cut error) {
	st := r.st
	for off = segmentHeaderLen; off < len(data); {
		e, n, err := decodeRecord(data[off:])
		if err == nil && e.Seq > st.seq+1 {
			err = fmt.Errorf("seq %d follows %d: events are missing", e.Seq, st.seq)
		}
		if err == nil && e.Kind == domain.PixelPlaced && !st.size.Contains(e.Pixel.X, e.Pixel.Y) {
			err = fmt.Errorf("%w: pixel (%d,%d) is off the canvas", errCorruptRecord, e.Pixel.X, e.Pixel.Y)
		}
		if err != nil {
			return off, err
		}
		if e.Seq == st.seq+1 {
			st.apply(&e)
		}
		off += n
	}
	return off, nil
}

// remove deletes a segment that holds no records.
func (r *replayer) remove(seg segment) error {
	r.repaired = true
	return os.Remove(seg.path)
}

// cutAt cuts the log at the damaged record at data[off:] in seg: later
// segments are set aside, and so is seg if nothing of it was usable;
// otherwise the damaged tail is copied aside and seg truncated before it.
// kept reports whether seg stays, to be written after.
func (r *replayer) cutAt(seg segment, later []segment, data []byte, off int, cut error) (kept bool, err error) {
	r.log.Warn("logstore: cutting the log at a damaged record; later records are dropped",
		"file", seg.path, "offset", off, "dropped_bytes", len(data)-off, "reason", cut.Error(), "kept_seq", r.st.seq)
	r.repaired = true
	for _, l := range later {
		if err := setAside(l.path, r.log); err != nil {
			return false, err
		}
	}
	if off == segmentHeaderLen {
		// Nothing of this segment was usable; keep it whole for inspection
		// rather than truncating it to nothing.
		return false, setAside(seg.path, r.log)
	}
	// Behind a corrupt record there may be acknowledged events that a
	// single bad byte hides; truncating without a copy would destroy the
	// only trace of them.
	if tail := data[off:]; !isZero(tail) {
		if err := keepTail(seg.path, tail, r.log); err != nil {
			return false, err
		}
	}
	if err := os.Truncate(seg.path, int64(off)); err != nil {
		return false, fmt.Errorf("truncate damaged log %s: %w", seg.path, err)
	}
	return true, nil
}

// damagedName is a name for setting path aside that no earlier damage
// took: renaming over an older copy would destroy it.
func damagedName(path string) (string, error) {
	name := path + damagedSuffix
	for n := 2; ; n++ {
		if _, err := os.Lstat(name); errors.Is(err, os.ErrNotExist) {
			return name, nil
		} else if err != nil {
			return "", err
		}
		name = fmt.Sprintf("%s%s.%d", path, damagedSuffix, n)
	}
}

func setAside(path string, log *slog.Logger) error {
	to, err := damagedName(path)
	if err != nil {
		return err
	}
	log.Warn("logstore: setting aside a damaged log segment", "file", to)
	return os.Rename(path, to)
}

// keepTail copies the bytes about to be cut off a segment to a side file,
// durably, before the cut.
func keepTail(path string, tail []byte, log *slog.Logger) error {
	to, err := damagedName(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // G304: a side file named after a segment of the store's data directory
	if err != nil {
		return err
	}
	_, err = f.Write(tail)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The copy must be durable before the log is cut.
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("keep the records cut off %s: %w", path, err)
	}
	log.Warn("logstore: the records cut off the log are kept for inspection", "file", to, "bytes", len(tail))
	return nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// removeSegmentsBefore deletes the segments whose records all have seqs
// below first (they are covered by a snapshot).
func removeSegmentsBefore(dir string, first domain.Seq) error {
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range segs {
		if s.first < first {
			if err := os.Remove(s.path); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
