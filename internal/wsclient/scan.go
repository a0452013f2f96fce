package wsclient

import (
	"strconv"
	"unicode/utf8"
)

// scanFlat is a fast path for the messages that dominate traffic: a flat
// object whose values are plain strings, numbers or booleans. It fills w and
// returns true, or returns false whenever anything is unusual (arrays,
// nested objects, escapes, a value of the wrong kind for its field, trailing
// data) so that encoding/json, the reference, decides. It exists because a
// load generator that spends its CPU on reflection measures itself instead
// of the server.
func scanFlat(data []byte, w *wireMsg) bool {
	s := flatScanner{b: data}
	return s.object(w) && s.end()
}

// scanFlatAt scans the flat object at the start of data, as scanFlat does,
// and returns the index just after its closing brace; what follows is the
// caller's (a batch's next member).
func scanFlatAt(data []byte, w *wireMsg) (int, bool) {
	s := flatScanner{b: data}
	if !s.object(w) {
		return 0, false
	}
	return s.i, true
}

// object reads a flat object into w, up to and including its '}'.
func (s *flatScanner) object(w *wireMsg) bool {
	s.space()
	if !s.eat('{') {
		return false
	}
	s.space()
	if s.eat('}') {
		return true
	}
	for {
		s.space()
		key, ok := s.str()
		if !ok {
			return false
		}
		s.space()
		if !s.eat(':') {
			return false
		}
		s.space()
		if !s.value(key, w) {
			return false
		}
		s.space()
		if s.eat(',') {
			continue
		}
		return s.eat('}')
	}
}

// flatScanner walks one frame for scanFlat; i is the next byte to read.
type flatScanner struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (s *flatScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat consumes c if it comes next.
func (s *flatScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left: trailing data makes the
// frame invalid JSON.
func (s *flatScanner) end() bool {
	s.space()
	return s.i == len(s.b)
}

// str reads a string without escapes or control characters, in valid UTF-8;
// anything else is left to encoding/json.
func (s *flatScanner) str() ([]byte, bool) {
	if !s.eat('"') {
		return nil, false
	}
	start := s.i
	ascii := true // then it is valid UTF-8 without utf8.Valid's second pass
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, ascii || utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return nil, false
}

// literal reads a number, true, false or null: everything up to the next
// delimiter. Its syntax is checked by the parse of the field it fills.
func (s *flatScanner) literal() []byte {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ' ', '\t', '\n', '\r':
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:s.i]
}

// value reads the value of field key into w; false leaves the frame to
// encoding/json.
func (s *flatScanner) value(key []byte, w *wireMsg) bool {
	if s.i >= len(s.b) {
		return false
	}
	if s.b[s.i] == '"' {
		v, ok := s.str()
		if !ok {
			return false
		}
		return w.setString(key, v)
	}
	if c := s.b[s.i]; c == '[' || c == '{' {
		return false
	}
	return w.setLiteral(key, s.literal())
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
		if !isJSONInt(v) {
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
		if !isJSONNumber(v) {
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
		return isJSONNumber(v) || string(v) == "true" || string(v) == "false"
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
	if !isJSONInt(v) {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(string(v))
}

// isJSONInt accepts what encoding/json accepts for an integer field.
func isJSONInt(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 || (v[0] == '0' && len(v) > 1) {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isJSONNumber checks the JSON number grammar, which is stricter than
// strconv.ParseFloat (no "Inf", "0x1p3", "+1", ".5" or "1.").
func isJSONNumber(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	i := 0
	digits := func() int {
		n := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(v) && v[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(v)
}
