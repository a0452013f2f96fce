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
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
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
	// Removals, renames and side files are directory changes a power cut
	// can undo. Undone after writes resumed, they would bring back segments
	// holding the seqs that new records now take, so they are made durable
	// before replay hands the log over.
	repaired := false
	defer func() {
		if err != nil || !repaired {
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
	want := segmentHeader(st.size)
	base, first := st.seq, true
	for i, seg := range segs {
		data, err := os.ReadFile(seg.path)
		if err != nil {
			return replayResult{}, err
		}
		last := i == len(segs)-1
		if len(data) < segmentHeaderLen || isZero(data[:segmentHeaderLen]) {
			// Created by a checkpoint that crashed before the header was
			// synced: it cannot hold records.
			log.Warn("logstore: log segment has no header; starting it afresh", "file", seg.path, "bytes", len(data))
			repaired = true
			if err := os.Remove(seg.path); err != nil {
				return replayResult{}, err
			}
			if last {
				return replayResult{}, nil
			}
			continue
		}
		if !bytes.Equal(data[:len(segmentMagic)], []byte(segmentMagic)) {
			return replayResult{}, fmt.Errorf("logstore: %s is not a canvas log", seg.path)
		}
		if !bytes.Equal(data[:segmentHeaderLen], want) {
			got := domain.Size{Width: int(binary.LittleEndian.Uint32(data[len(segmentMagic):])), Height: int(binary.LittleEndian.Uint32(data[len(segmentMagic)+4:]))}
			return replayResult{}, fmt.Errorf("%w: %s holds a %s canvas, %s was asked for", ErrSizeMismatch, seg.path, got, st.size)
		}
		if first && seg.first > base+1 {
			// Segments are deleted only once a durable snapshot covers them,
			// so no crash leaves this: the snapshot was deleted or replaced
			// by an older one. Replaying would set the whole log aside and
			// start a blank canvas at seq base+1.
			what := fmt.Sprintf("the snapshot ends at seq %d", base)
			if base == 0 {
				what = "there is no snapshot"
			}
			return replayResult{}, fmt.Errorf("logstore: the log in %s starts at seq %d but %s: events %d..%d are missing; restore the snapshot, or move the directory away to start a new canvas",
				dir, seg.first, what, base+1, seg.first-1)
		}
		first = false
		off, cut := segmentHeaderLen, error(nil)
		for off < len(data) {
			e, n, err := decodeRecord(data[off:])
			if err == nil && e.Seq > st.seq+1 {
				err = fmt.Errorf("seq %d follows %d: events are missing", e.Seq, st.seq)
			}
			if err == nil && e.Kind == domain.PixelPlaced && !st.size.Contains(e.Pixel.X, e.Pixel.Y) {
				err = fmt.Errorf("%w: pixel (%d,%d) is off the canvas", errCorruptRecord, e.Pixel.X, e.Pixel.Y)
			}
			if err != nil {
				cut = err
				break
			}
			if e.Seq == st.seq+1 {
				st.apply(&e)
			}
			off += n
		}
		if cut == nil && off == segmentHeaderLen && seg.first > st.seq+1 {
			// An empty segment named after seqs the log does not reach: a
			// checkpoint created it, then a power cut took the unsynced
			// tail before it. Appending seq st.seq+1 to it would break
			// "a segment's name is at most its first seq", and the
			// checkpoint at seq first-1 would recreate (truncate) the file
			// holding the records it is about to cover.
			log.Warn("logstore: removing an empty log segment ahead of the log", "file", seg.path, "kept_seq", st.seq)
			repaired = true
			if err := os.Remove(seg.path); err != nil {
				return replayResult{}, err
			}
			if last {
				return replayResult{}, nil
			}
			continue
		}
		if cut != nil && !last && segs[i+1].first <= st.seq+1 {
			// The rest of this segment is covered by the next one (or the
			// snapshot): nothing is lost.
			log.Warn("logstore: skipping a damaged record that later data covers", "file", seg.path, "offset", off, "reason", cut.Error())
			continue
		}
		if cut == nil && !last {
			continue
		}
		if cut != nil {
			log.Warn("logstore: cutting the log at a damaged record; later records are dropped",
				"file", seg.path, "offset", off, "dropped_bytes", len(data)-off, "reason", cut.Error(), "kept_seq", st.seq)
			repaired = true
			for _, later := range segs[i+1:] {
				if err := setAside(later.path, log); err != nil {
					return replayResult{}, err
				}
			}
			if off == segmentHeaderLen {
				// Nothing of this segment was usable; keep it whole for
				// inspection rather than truncating it to nothing.
				if err := setAside(seg.path, log); err != nil {
					return replayResult{}, err
				}
				return replayResult{}, nil
			}
			// Behind a corrupt record there may be acknowledged events that
			// a single bad byte hides; truncating without a copy would
			// destroy the only trace of them.
			if tail := data[off:]; !isZero(tail) {
				if err := keepTail(seg.path, tail, log); err != nil {
					return replayResult{}, err
				}
			}
			if err := os.Truncate(seg.path, int64(off)); err != nil {
				return replayResult{}, fmt.Errorf("truncate damaged log %s: %w", seg.path, err)
			}
		}
		f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return replayResult{}, err
		}
		return replayResult{file: f, size: int64(off)}, nil
	}
	return replayResult{}, nil
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
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
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
