package domain

import "time"

// Seq orders every accepted change to one canvas. The store assigns it
// atomically with the write, starting at 1, without gaps, so a consumer that
// sees seq N+2 after N knows it missed exactly one change.
type Seq = uint64

// Timestamp is microseconds since the Unix epoch. The wire shows it as
// milliseconds with a fraction; microseconds make two writes in the same
// millisecond still sort in seq order.
type Timestamp int64

// TimestampOf converts a wall-clock time.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.UnixMicro()) }

// Time converts back to a wall-clock time.
func (t Timestamp) Time() time.Time { return time.UnixMicro(int64(t)) }

// NextTimestamp is the timestamp of the write after one stamped prev, when the
// clock reads now: the clock if it moved forward, else one microsecond later.
// Timestamps therefore never decrease as seq grows and never repeat, even when
// the clock steps back.
func NextTimestamp(prev, now Timestamp) Timestamp {
	if now > prev {
		return now
	}
	return prev + 1
}

// EventKind says what an Event changed.
type EventKind uint8

const (
	// PixelPlaced is a write of one pixel.
	PixelPlaced EventKind = iota + 1
	// CanvasReset turned every pixel white.
	CanvasReset
)

// Event is an accepted change to the canvas, as recorded in history and
// delivered to every client.
type Event struct {
	Kind     EventKind
	Seq      Seq
	Time     Timestamp
	Pixel    Pixel  // PixelPlaced only
	Username string // PixelPlaced only: the registered name of the writer
	Origin   Origin
}

// PixelInfo is what is known about one pixel: its colour and, if anybody
// painted it since the last reset, who and when.
type PixelInfo struct {
	Pixel
	Seq      Seq // 0 if never painted
	Time     Timestamp
	Username string
}
