package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/pixelplayground/pixelplayground/domain"
)

// A log record is one accepted event:
//
//	length u32 | crc u32 | body (length bytes)
//
// where crc is the CRC-32C of the body, and the body is, little endian,
//
//	kind u8 | seq u64 | ts i64 | [pixel: x u16 | y u16 | r g b | username] | gateway | client | write id
//
// with every string a u16 byte length and the bytes. Every field has a
// fixed width, so an event has exactly one encoding: the fuzz target checks
// that re-encoding a decoded record gives back the same bytes.
const (
	recordHeaderLen = 8
	recordKindPixel = 1
	recordKindReset = 2
	// maxRecordBody is well above the largest body the store writes (four
	// strings it bounds to maxFieldBytes), so a larger length can only be
	// garbage; rejecting it early keeps a corrupt length from being read as
	// a request for gigabytes.
	maxRecordBody = 1 + 8 + 8 + 2 + 2 + 3 + 4*(2+maxFieldBytes)
	// maxFieldBytes bounds each string of an event. Usernames (20 runes)
	// and write ids (64 bytes) are far below it.
	maxFieldBytes = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Why a record could not be decoded. Both end replay at that record; they
// differ only in what the warning says.
var (
	// errTornRecord: the bytes end inside the record, as when the process
	// died in the middle of a write.
	errTornRecord = errors.New("torn record")
	// errCorruptRecord: the record is complete but wrong (checksum, kind,
	// length), as after a disk error or a partly flushed page.
	errCorruptRecord = errors.New("corrupt record")
)

// ErrFieldTooLong reports an event string longer than the log can hold.
var ErrFieldTooLong = fmt.Errorf("logstore: a username or origin field is longer than %d bytes", maxFieldBytes)

// checkEvent reports whether appendRecord can encode e.
func checkEvent(e *domain.Event) error {
	for _, s := range [...]string{e.Username, e.Origin.GatewayID, e.Origin.ClientID, e.Origin.WriteID} {
		if len(s) > maxFieldBytes {
			return ErrFieldTooLong
		}
	}
	if e.Kind == domain.PixelPlaced && (e.Pixel.X < 0 || e.Pixel.Y < 0 || e.Pixel.X > math.MaxUint16 || e.Pixel.Y > math.MaxUint16 || e.Pixel.Color > domain.White) {
		return fmt.Errorf("logstore: pixel %+v cannot be logged", e.Pixel)
	}
	if e.Kind != domain.PixelPlaced && e.Kind != domain.CanvasReset {
		return fmt.Errorf("logstore: unknown event kind %d", e.Kind)
	}
	return nil
}

// appendRecord appends e's record to dst; e must pass checkEvent.
func appendRecord(dst []byte, e *domain.Event) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // length and crc, filled in below
	kind := byte(recordKindReset)
	if e.Kind == domain.PixelPlaced {
		kind = recordKindPixel
	}
	dst = append(dst, kind)
	dst = binary.LittleEndian.AppendUint64(dst, e.Seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Time))
	if kind == recordKindPixel {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(e.Pixel.X))
		dst = binary.LittleEndian.AppendUint16(dst, uint16(e.Pixel.Y))
		r, g, b := e.Pixel.Color.RGB()
		dst = append(dst, r, g, b)
		dst = appendString(dst, e.Username)
	}
	dst = appendString(dst, e.Origin.GatewayID)
	dst = appendString(dst, e.Origin.ClientID)
	dst = appendString(dst, e.Origin.WriteID)
	body := dst[start+recordHeaderLen:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// decodeRecord decodes the record at the start of b and returns its length.
// Any input gives either an event or errTornRecord / errCorruptRecord,
// never a panic.
func decodeRecord(b []byte) (domain.Event, int, error) {
	if len(b) < recordHeaderLen {
		return domain.Event{}, 0, errTornRecord
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > maxRecordBody {
		return domain.Event{}, 0, fmt.Errorf("%w: body length %d", errCorruptRecord, n)
	}
	if uint64(len(b)) < recordHeaderLen+uint64(n) {
		return domain.Event{}, 0, errTornRecord
	}
	body := b[recordHeaderLen : recordHeaderLen+n]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return domain.Event{}, 0, fmt.Errorf("%w: checksum mismatch", errCorruptRecord)
	}
	e, err := decodeBody(body)
	if err != nil {
		return domain.Event{}, 0, fmt.Errorf("%w: %v", errCorruptRecord, err)
	}
	return e, recordHeaderLen + int(n), nil
}

type bodyReader struct {
	b   []byte
	err error
}

func (r *bodyReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = errors.New("body too short")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *bodyReader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *bodyReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *bodyReader) str() string {
	n := int(r.u16())
	if n > maxFieldBytes {
		r.err = fmt.Errorf("string of %d bytes", n)
		return ""
	}
	return string(r.take(n))
}

func decodeBody(body []byte) (domain.Event, error) {
	r := &bodyReader{b: body}
	var e domain.Event
	kind := r.take(1)
	e.Seq = r.u64()
	e.Time = domain.Timestamp(r.u64())
	if r.err != nil {
		return domain.Event{}, r.err
	}
	switch kind[0] {
	case recordKindPixel:
		e.Kind = domain.PixelPlaced
		e.Pixel.X = int(r.u16())
		e.Pixel.Y = int(r.u16())
		if c := r.take(3); c != nil {
			e.Pixel.Color = domain.ColorFromRGB(c[0], c[1], c[2])
		}
		e.Username = r.str()
	case recordKindReset:
		e.Kind = domain.CanvasReset
	default:
		return domain.Event{}, fmt.Errorf("kind %d", kind[0])
	}
	e.Origin.GatewayID = r.str()
	e.Origin.ClientID = r.str()
	e.Origin.WriteID = r.str()
	switch {
	case r.err != nil:
		return domain.Event{}, r.err
	case len(r.b) != 0:
		return domain.Event{}, fmt.Errorf("%d bytes after the last field", len(r.b))
	case e.Seq == 0:
		return domain.Event{}, errors.New("seq 0")
	}
	return e, nil
}
