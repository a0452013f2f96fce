package wsclient

import (
	"strconv"

	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

// scanFlat is a fast path for the messages that dominate traffic: a flat
// object whose values are plain strings, numbers or booleans. It fills w and
// returns true, or returns false whenever anything is unusual (arrays,
// nested objects, escapes, a value of the wrong kind for its field, trailing
// data) so that encoding/json, the reference, decides. It exists because a
// load generator that spends its CPU on reflection measures itself instead
// of the server.
func scanFlat(data []byte, w *wireMsg) bool {
	s := jsonx.NewScanner(data)
	return flatObject(s, w) && s.End()
}

// scanFlatAt scans the flat object at the start of data, as scanFlat does,
// and returns the index just after its closing brace; what follows is the
// caller's (a batch's next member).
func scanFlatAt(data []byte, w *wireMsg) (int, bool) {
	s := jsonx.NewScanner(data)
	if !flatObject(s, w) {
		return 0, false
	}
	return s.Pos(), true
}

// flatObject reads a flat object into w, up to and including its '}'.
func flatObject(s *jsonx.Scanner, w *wireMsg) bool {
	return s.Object(func(key []byte) bool {
		if s.Next() == '"' {
			v, ok := s.Str()
			return ok && w.setString(key, v)
		}
		if c := s.Next(); c == '[' || c == '{' || c == 0 {
			return false
		}
		return w.setLiteral(key, s.Literal())
	})
}

// setString fills the string field key; false when key is not a string
// field, where encoding/json would fail.
func (w *wireMsg) setString(key, v []byte) bool {
	switch string(key) {
	case "type":
		w.Type = internType(v)
	case "message":
		w.Message = string(v)
	case "clientId":
		w.ClientID = string(v)
	case "color":
		w.Color = string(v)
	case "username":
		if string(v) == anonymous {
			w.Username = anonymous // the usual name, shared rather than allocated
		} else {
			w.Username = string(v)
		}
	case "id":
		w.ID = string(v)
	case "code":
		w.Code = string(v)
	case "epoch":
		w.Epoch = string(v)
	case "seq", "width", "height", "x", "y", "timestamp", "activeUsers", "recovered", "users", "cursors", "gone", "events":
		return false // a string where a number, bool or array belongs
	}
	return true
}

// setLiteral fills the number or boolean field key; false when v is not
// what encoding/json would accept there.
func (w *wireMsg) setLiteral(key, v []byte) bool {
	if string(v) == "null" {
		return true // encoding/json leaves the field alone too
	}
	var err error
	switch string(key) {
	case "seq":
		if !jsonx.IsInt(v) {
			return false
		}
		w.Seq, err = strconv.ParseUint(string(v), 10, 64)
	case "width":
		w.Width, err = parseInt(v)
	case "height":
		w.Height, err = parseInt(v)
	case "x":
		w.X, err = parseInt(v)
	case "y":
		w.Y, err = parseInt(v)
	case "activeUsers":
		w.ActiveUsers, err = parseInt(v)
	case "timestamp":
		if !jsonx.IsNumber(v) {
			return false
		}
		w.Timestamp, err = strconv.ParseFloat(string(v), 64)
	case "recovered":
		switch string(v) {
		case "true":
			w.Recovered = true
		case "false":
			w.Recovered = false
		default:
			return false
		}
	case "type", "message", "clientId", "color", "username", "id", "code", "epoch", "users", "cursors", "gone", "events":
		return false // a number or bool where a string or array belongs
	default:
		// An unknown field: it must still be valid JSON for the frame to be.
		return jsonx.IsNumber(v) || string(v) == "true" || string(v) == "false"
	}
	return err == nil
}

// anonymous is the name servers give a client that set none.
const anonymous = "Anonymous"

// knownTypes lets the hot path name a message without allocating.
var knownTypes = []string{"pixel_updated", "connected", "error", "stats", "user_list", "resumed", "canvas_reset", "cursors", "pong", "batch"}

// internType is v as a string, shared rather than allocated for a known
// type.
func internType(v []byte) string {
	for _, t := range knownTypes {
		if string(v) == t {
			return t
		}
	}
	return string(v)
}

// parseInt parses an int field as encoding/json would.
func parseInt(v []byte) (int, error) {
	if !jsonx.IsInt(v) {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(string(v))
}
