package place

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/pixelplayground/pixelplayground/domain"
)

// Problem says why a write as sent is refused. Each adapter words it for its
// own wire (the old REST API's messages, the WebSocket error codes).
type Problem int

// The problems. Parse looks for the id's first, then the coordinates', then
// the colour's.
const (
	OK          Problem = iota
	BadFormat           // a coordinate that is not a whole JSON number, a field of the wrong JSON type
	OutOfBounds         // a whole number off the canvas
	BadColor            // colour missing, not a string, or not #RRGGBB
	BadIDType           // the client's write id is not a string
	IDTooLong           // the client's write id is longer than domain.MaxWriteIDBytes
)

func (p Problem) String() string {
	switch p {
	case OK:
		return "ok"
	case BadFormat:
		return "bad format"
	case OutOfBounds:
		return "out of bounds"
	case BadColor:
		return "bad color"
	case BadIDType:
		return "write id not a string"
	case IDTooLong:
		return "write id too long"
	}
	return "problem " + strconv.Itoa(int(p))
}

// Fields is one pixel write as a client sends it, JSON values kept raw so
// that a wrong JSON type ("5", null, true) is told apart from a missing
// field and refused rather than coerced, as the old system did.
type Fields struct {
	X, Y, Color, ID json.RawMessage
}

// Parse validates a write against the canvas and returns the pixel and the
// client's write id (its nonce, echoed back to it alone).
//
// The id is read first, so that a refusal of the pixel itself can still be
// addressed to the write the client sent (the id is returned with it).
func Parse(f Fields, size domain.Size) (domain.Pixel, string, Problem) {
	id, _, err := String(f.ID)
	if err != nil {
		return domain.Pixel{}, "", BadIDType
	}
	if len(id) > domain.MaxWriteIDBytes {
		return domain.Pixel{}, "", IDTooLong
	}
	x, bad := coordinate(f.X)
	if bad != OK {
		return domain.Pixel{}, id, bad
	}
	y, bad := coordinate(f.Y)
	if bad != OK {
		return domain.Pixel{}, id, bad
	}
	if !size.Contains(x, y) {
		return domain.Pixel{}, id, OutOfBounds
	}
	// A missing or non-string colour is a colour problem, as in the old API,
	// whose regular expression test failed on undefined.
	text, present, err := String(f.Color)
	if err != nil || !present {
		return domain.Pixel{}, id, BadColor
	}
	color, err := domain.ParseColor(text)
	if err != nil {
		return domain.Pixel{}, id, BadColor
	}
	return domain.Pixel{X: x, Y: y, Color: color}, id, OK
}

// coordinate accepts a JSON number that is a whole number. A fraction (the
// old API stored 2.5 as "2.5,3") or a non-number is a format problem; a
// whole number off the canvas is out of bounds.
func coordinate(raw json.RawMessage) (int, Problem) {
	f, err := Number(raw)
	if err != nil {
		return 0, BadFormat
	}
	v, err := domain.Coordinate(f)
	switch {
	case errors.Is(err, domain.ErrOutOfBounds):
		return 0, OutOfBounds
	case err != nil:
		return 0, BadFormat
	}
	return v, OK
}

// ErrWrongType is a field present with another JSON type than asked for.
var ErrWrongType = errors.New("wrong JSON type")

// Number reads a JSON number field. Absent, null, a string ("5", which the
// old system coerced), an overflow (1e400) and an underflow to zero of a
// non-zero number (1e-400, which is not 0 and not an integer) are errors.
func Number(raw json.RawMessage) (float64, error) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, ErrWrongType
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return 0, err
	}
	if f == 0 && underflowed(raw) {
		return 0, strconv.ErrRange
	}
	return f, nil
}

// underflowed reports whether a number that parsed as zero has a non-zero
// digit before its exponent, i.e. was a tiny fraction rounded to zero.
func underflowed(raw []byte) bool {
	for _, c := range raw {
		if c == 'e' || c == 'E' {
			return false
		}
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// String reads an optional JSON string field: absent or null is not
// present; any other non-string is ErrWrongType.
func String(raw json.RawMessage) (s string, present bool, err error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	if raw[0] != '"' {
		return "", true, ErrWrongType
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, ErrWrongType
	}
	return s, true, nil
}
