package wsclient

import (
	"strconv"

	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

// Encoders for what clients send. Numbers and fixed strings are appended
// directly; user-supplied strings (colours, ids, names) go through
// jsonx.AppendString, the escaping every encoder of the project shares.

// encodePixel is a pixel_update; id, when set, comes back on the echo and
// on a refusal.
func encodePixel(x, y int, color, id string) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"type":"pixel_update","x":`...)
	b = strconv.AppendInt(b, int64(x), 10)
	b = append(b, `,"y":`...)
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, `,"color":`...)
	b = jsonx.AppendString(b, color)
	if id != "" {
		b = append(b, `,"id":`...)
		b = jsonx.AppendString(b, id)
	}
	return append(b, '}')
}

// encodeCursor is the pointer at (x, y) in canvas coordinates.
func encodeCursor(x, y float64) []byte {
	b := append(make([]byte, 0, 64), `{"type":"cursor","x":`...)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	b = append(b, `,"y":`...)
	b = strconv.AppendFloat(b, y, 'f', -1, 64)
	return append(b, '}')
}

// encodeUsername is set_username.
func encodeUsername(name string) []byte {
	return append(jsonx.AppendString(append(make([]byte, 0, 48), `{"type":"set_username","username":`...), name), '}')
}

// encodeResume asks for every event after since (on the timeline epoch,
// if given).
func encodeResume(since uint64, epoch string) []byte {
	b := append(make([]byte, 0, 64), `{"type":"resume","since":`...)
	b = strconv.AppendUint(b, since, 10)
	if epoch != "" {
		b = append(b, `,"epoch":`...)
		b = jsonx.AppendString(b, epoch)
	}
	return append(b, '}')
}

// The messages without fields, encoded once.
var (
	msgPing        = []byte(`{"type":"ping"}`)
	msgCursorLeave = []byte(`{"type":"cursor"}`)
)
