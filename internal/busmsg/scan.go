package busmsg

import (
	"strconv"

	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

// scanEvent is DecodeEvent's fast path for what our own encoders write: a
// flat object of known fields without escapes. It fills m and returns true,
// or returns false on anything unusual (an unknown field, an escape, null,
// a number that is not a plain integer) and encoding/json, the reference,
// decides. Every gateway decodes every event of its canvases, a hundred
// thousand a second under group commit, and encoding/json spent 2.2 µs and
// 11 allocations on each.
func scanEvent(data []byte, m *event) bool {
	s := jsonx.NewScanner(data)
	return s.Object(func(key []byte) bool {
		if s.Next() == '"' {
			v, ok := s.Str()
			return ok && m.setString(key, v)
		}
		return m.setInt(key, s.Literal())
	}) && s.End()
}

// setString fills the string field key; false for any other key.
func (m *event) setString(key, v []byte) bool {
	switch string(key) {
	case "k":
		switch string(v) { // the usual kinds, shared rather than allocated
		case KindPixel:
			m.Kind = KindPixel
		case KindReset:
			m.Kind = KindReset
		default:
			m.Kind = string(v)
		}
	case "e":
		m.Epoch = string(v)
	case "c":
		m.Color = string(v)
	case "u":
		m.Username = string(v)
	case "gw":
		m.Gateway = string(v)
	case "cid":
		m.Client = string(v)
	case "id":
		m.WriteID = string(v)
	default:
		return false
	}
	return true
}

// setInt fills the integer field key from a JSON integer; false for any
// other key, or a value encoding/json would reject or read otherwise
// (strconv refuses what encoding/json refuses: a sign on the unsigned seq,
// even -0, and overflow).
func (m *event) setInt(key, v []byte) bool {
	if !jsonx.IsInt(v) {
		return false
	}
	var err error
	switch string(key) {
	case "seq":
		m.Seq, err = strconv.ParseUint(string(v), 10, 64)
	case "ts":
		m.TS, err = strconv.ParseInt(string(v), 10, 64)
	case "x":
		m.X, err = strconv.Atoi(string(v))
	case "y":
		m.Y, err = strconv.Atoi(string(v))
	default:
		return false
	}
	return err == nil
}
