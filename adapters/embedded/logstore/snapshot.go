package logstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/pixelplayground/pixelplayground/internal/dirlock"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// The snapshot file is, little endian:
//
//	magic "PXSNAP01" | width u32 | height u32 | seq u64 | last ts i64
//	rgb (3 bytes per pixel, row-major)
//	name count u32 | names, each u16 length + bytes
//	meta count u32 | per painted pixel: index u32 | seq u64 | ts i64 | name u32
//	history count u32 | log records, oldest first
//	crc u32 (CRC-32C of everything before it)
//
// It is written to a temporary file, synced and renamed over the previous
// one, so a crash leaves either the old snapshot or the new one, never half.
const (
	snapshotName    = "snapshot"
	snapshotTmpName = "snapshot.tmp"
	snapshotMagic   = "PXSNAP01"
)

// ErrSizeMismatch reports a data directory that holds a canvas of another
// size than the one asked for. Opening refuses rather than cropping or
// stretching somebody's canvas; move the directory away or set the size it
// was created with. It wraps ports.ErrSizeMismatch.
var ErrSizeMismatch = fmt.Errorf("logstore: the data directory holds a canvas of another size (%w)", ports.ErrSizeMismatch)

type snapshotWriter struct {
	w   *bufio.Writer
	crc hash.Hash32
	err error
	buf []byte
}

func (s *snapshotWriter) write(b []byte) {
	if s.err != nil {
		return
	}
	s.crc.Write(b)
	_, s.err = s.w.Write(b)
}

func (s *snapshotWriter) u32(v uint32) {
	s.buf = binary.LittleEndian.AppendUint32(s.buf[:0], v)
	s.write(s.buf)
}
func (s *snapshotWriter) u64(v uint64) {
	s.buf = binary.LittleEndian.AppendUint64(s.buf[:0], v)
	s.write(s.buf)
}

// writeSnapshot stores f as dir's snapshot, durably.
func writeSnapshot(dir string, f *frozenState) error {
	tmp := filepath.Join(dir, snapshotTmpName)
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) //nolint:gosec // G304: the store's own temporary snapshot in its data directory
	if err != nil {
		return err
	}
	defer func() {
		if file != nil {
			_ = file.Close()
			_ = os.Remove(tmp)
		}
	}()
	s := &snapshotWriter{w: bufio.NewWriterSize(file, 1<<20), crc: crc32.New(castagnoli)}
	s.write([]byte(snapshotMagic))
	s.u32(uint32(f.size.Width))
	s.u32(uint32(f.size.Height))
	s.u64(f.seq)
	s.u64(uint64(f.lastTS))
	s.write(f.rgb)
	s.u32(uint32(len(f.names)))
	for _, name := range f.names {
		s.buf = appendString(s.buf[:0], name)
		s.write(s.buf)
	}
	painted := 0
	for _, p := range f.pages {
		if p != nil {
			for _, seq := range p.seq {
				if seq != 0 {
					painted++
				}
			}
		}
	}
	s.u32(uint32(painted))
	for pi, p := range f.pages {
		if p == nil {
			continue
		}
		for j, seq := range p.seq {
			if seq == 0 {
				continue
			}
			b := binary.LittleEndian.AppendUint32(s.buf[:0], uint32(pi<<pageBits|j))
			b = binary.LittleEndian.AppendUint64(b, seq)
			b = binary.LittleEndian.AppendUint64(b, uint64(p.ts[j]))
			s.buf = binary.LittleEndian.AppendUint32(b, p.user[j])
			s.write(s.buf)
		}
	}
	s.u32(uint32(len(f.history)))
	for i := range f.history {
		s.buf = appendRecord(s.buf[:0], &f.history[i])
		s.write(s.buf)
	}
	sum := s.crc.Sum32()
	if s.err == nil {
		_, s.err = s.w.Write(binary.LittleEndian.AppendUint32(nil, sum))
	}
	if s.err == nil {
		s.err = s.w.Flush()
	}
	if s.err != nil {
		return fmt.Errorf("write snapshot: %w", s.err)
	}
	if err := file.Sync(); err != nil {
		return fmt.Errorf("sync snapshot: %w", err)
	}
	err = file.Close()
	file = nil
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("close snapshot: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, snapshotName)); err != nil {
		return fmt.Errorf("install snapshot: %w", err)
	}
	return syncDir(dir)
}

type snapshotReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	err error
	buf [8]byte
}

func (s *snapshotReader) read(b []byte) {
	if s.err != nil {
		return
	}
	if _, err := io.ReadFull(s.r, b); err != nil {
		s.err = fmt.Errorf("snapshot ends early: %w", err)
		return
	}
	s.crc.Write(b)
}

func (s *snapshotReader) u32() uint32 {
	s.read(s.buf[:4])
	return binary.LittleEndian.Uint32(s.buf[:4])
}
func (s *snapshotReader) u64() uint64 {
	s.read(s.buf[:8])
	return binary.LittleEndian.Uint64(s.buf[:8])
}

func (s *snapshotReader) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
}

// readSnapshot loads dir's snapshot into a new state. It returns (nil, nil)
// when there is none. A damaged snapshot is an error: unlike a torn log tail
// it cannot come from a crash (it is installed by rename), and starting
// blank would silently lose the canvas.
func readSnapshot(dir string, size domain.Size, historyCap int) (*state, error) {
	path := filepath.Join(dir, snapshotName)
	file, err := os.Open(path) //nolint:gosec // G304: the path is the store's own snapshot file in its data directory
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	s := &snapshotReader{r: bufio.NewReaderSize(file, 1<<20), crc: crc32.New(castagnoli)}
	if err := s.header(path, size); err != nil {
		return nil, err
	}
	st := newState(size, historyCap)
	st.seq = s.u64()
	st.lastTS = domain.Timestamp(s.u64())
	s.read(st.rgb)
	s.names(st)
	s.pixelMeta(st)
	history := s.history(st.seq)
	s.trailer()
	if s.err != nil {
		return nil, damagedSnapshot(path, s.err)
	}
	if len(history) > historyCap {
		history = history[len(history)-historyCap:]
	}
	for i := range history {
		history[i].Username = st.internedOrSelf(history[i].Username)
		st.remember(history[i])
	}
	return st, nil
}

// header reads the magic and the canvas size and checks them: a file that
// is not a snapshot, a damaged header or another canvas size is an error.
func (s *snapshotReader) header(path string, size domain.Size) error {
	magic := make([]byte, len(snapshotMagic))
	s.read(magic)
	if s.err == nil && string(magic) != snapshotMagic {
		return fmt.Errorf("%s is not a canvas snapshot", path)
	}
	got := domain.Size{Width: int(s.u32()), Height: int(s.u32())}
	if s.err != nil {
		return damagedSnapshot(path, s.err)
	}
	if got != size {
		return fmt.Errorf("%w: %s holds a %s canvas, %s was asked for", ErrSizeMismatch, path, got, size)
	}
	return nil
}

// names reads the name table into st; its first name must be the
// anonymous one.
func (s *snapshotReader) names(st *state) {
	nameCount := s.u32()
	st.names, st.nameIndex = st.names[:0], map[string]uint32{}
	for i := uint32(0); i < nameCount && s.err == nil; i++ {
		var l [2]byte
		s.read(l[:])
		name := make([]byte, binary.LittleEndian.Uint16(l[:]))
		s.read(name)
		st.names = append(st.names, string(name))
		if _, dup := st.nameIndex[string(name)]; !dup {
			st.nameIndex[string(name)] = i
		}
	}
	if s.err == nil && (len(st.names) == 0 || st.names[0] != "") {
		s.fail("name table does not start with the anonymous name")
	}
	st.compactAt = max(minCompactNames, 2*len(st.names))
}

// pixelMeta reads who painted each painted pixel and when into st, after
// the name table: every entry must name a pixel of the canvas, a name of
// the table and a seq up to the snapshot's.
func (s *snapshotReader) pixelMeta(st *state) {
	pixels := st.size.Pixels()
	metaCount := s.u32()
	if s.err == nil && uint64(metaCount) > uint64(pixels) {
		s.fail("%d painted pixels on a canvas of %d", metaCount, pixels)
	}
	for i := uint32(0); i < metaCount && s.err == nil; i++ {
		idx, seq, ts, user := s.u32(), s.u64(), domain.Timestamp(s.u64()), s.u32()
		switch {
		case s.err != nil:
		case int(idx) >= pixels || uint64(user) >= uint64(len(st.names)) || seq == 0 || seq > st.seq:
			s.fail("bad pixel entry %d (index %d, seq %d, name %d)", i, idx, seq, user)
		default:
			p := st.writablePage(int(idx) >> pageBits)
			j := int(idx) & (pageSize - 1)
			p.seq[j], p.ts[j], p.user[j] = seq, ts, user
		}
	}
}

// history reads the kept events, oldest first; they must be the events
// up to seq, without a gap.
func (s *snapshotReader) history(seq domain.Seq) []domain.Event {
	histCount := s.u32()
	var history []domain.Event
	for i := uint32(0); i < histCount && s.err == nil; i++ {
		e, ok := s.record(i)
		if !ok {
			break
		}
		history = append(history, e)
	}
	if s.err == nil {
		for i, e := range history {
			if e.Seq != seq-domain.Seq(len(history)-1-i) {
				s.fail("history is not the %d events up to seq %d", len(history), seq)
				break
			}
		}
	}
	return history
}

// record reads history record i; ok is false (and s.err set) if it is
// damaged.
func (s *snapshotReader) record(i uint32) (e domain.Event, ok bool) {
	var head [recordHeaderLen]byte
	s.read(head[:])
	n := binary.LittleEndian.Uint32(head[:])
	if s.err != nil || n > maxRecordBody {
		s.fail("bad history record %d", i)
		return domain.Event{}, false
	}
	rec := make([]byte, recordHeaderLen+int(n))
	copy(rec, head[:])
	s.read(rec[recordHeaderLen:])
	if s.err != nil {
		return domain.Event{}, false
	}
	e, _, err := decodeRecord(rec)
	if err != nil {
		s.fail("history record %d: %v", i, err)
		return domain.Event{}, false
	}
	return e, true
}

// trailer checks the checksum of everything read, and that nothing
// follows it.
func (s *snapshotReader) trailer() {
	if s.err != nil {
		return
	}
	want := s.crc.Sum32()
	var trailer [4]byte
	if _, err := io.ReadFull(s.r, trailer[:]); err != nil {
		s.fail("snapshot ends early: %v", err)
	} else if binary.LittleEndian.Uint32(trailer[:]) != want {
		s.fail("checksum mismatch")
	} else if _, err := s.r.ReadByte(); err != io.EOF {
		s.fail("data after the checksum")
	}
}

func damagedSnapshot(path string, err error) error {
	return fmt.Errorf("logstore: damaged snapshot %s (restore it from a backup; without it the log alone is enough only while it starts at seq 1): %w", path, err)
}

// internedOrSelf shares a history event's username with the name table
// when the name is there, without adding it.
func (st *state) internedOrSelf(name string) string {
	if i, ok := st.nameIndex[name]; ok {
		return st.names[i]
	}
	return name
}

// syncDir makes a rename, a removal or a new file in dir durable. A
// variable so that tests can see when it is called.
var syncDir = dirlock.Sync
