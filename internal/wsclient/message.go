package wsclient

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Message is one decoded server message. Type is the wire `type` string
// (Closed, which is not on the wire, says "closed").
type Message interface {
	Type() string
}

// Connected is the first message on every connection. Seq, Width and Height
// are extensions; a v1 server leaves them zero.
type Connected struct {
	Message  string
	ClientID string
	Seq      uint64
	Width    int
	Height   int
}

// PixelUpdated is an accepted write. Timestamp is the server's epoch
// milliseconds (with a microsecond fraction); ID is set only on the sender's
// own copy.
type PixelUpdated struct {
	X, Y      int
	Color     string
	Username  string
	Timestamp float64
	Seq       uint64
	ID        string
}

// Error is the server refusing something; ID names the refused write.
type Error struct {
	Message string
	Code    string
	ID      string
}

// Stats is the first half of a presence update.
type Stats struct {
	ActiveUsers int
	Timestamp   float64
}

// UserList is the second half of a presence update.
type UserList struct {
	Users     []string
	Timestamp float64
}

// Resumed ends a replay: every event up to Seq has been sent. Recovered is
// false when the server could not replay and the client must reload the
// snapshot.
type Resumed struct {
	Seq       uint64
	Recovered bool
}

// CanvasReset says an operator turned the canvas white at Seq.
type CanvasReset struct {
	Seq       uint64
	Timestamp float64
}

// CursorPos is one user's pointer in canvas coordinates.
type CursorPos struct {
	ClientID string  `json:"clientId"`
	Username string  `json:"username"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
}

// Cursors is a coalesced cursor update: who moved, and which clients' pointers
// left.
type Cursors struct {
	Cursors []CursorPos
	Gone    []string
}

// Pong answers Ping.
type Pong struct {
	Timestamp float64
}

// Unknown is a frame this package does not understand: an unknown type, a
// known type whose fields have the wrong JSON types, or not JSON at all
// (Name is then ""). It is data, not an error, because the protocol lets
// servers add message types.
type Unknown struct {
	Name string
	Raw  []byte
}

// Closed is the last message of a connection. Code is the close code the
// server sent, 1000 after Close, or 1006 (abnormal closure) when the
// connection dropped without a close frame.
type Closed struct {
	Code int
	Err  error
}

// Type implements Message.
func (Connected) Type() string { return "connected" }

// Type implements Message.
func (PixelUpdated) Type() string { return "pixel_updated" }

// Type implements Message.
func (Error) Type() string { return "error" }

// Type implements Message.
func (Stats) Type() string { return "stats" }

// Type implements Message.
func (UserList) Type() string { return "user_list" }

// Type implements Message.
func (Resumed) Type() string { return "resumed" }

// Type implements Message.
func (CanvasReset) Type() string { return "canvas_reset" }

// Type implements Message.
func (Cursors) Type() string { return "cursors" }

// Type implements Message.
func (Pong) Type() string { return "pong" }

// Type implements Message.
func (u Unknown) Type() string { return u.Name }

// Type implements Message.
func (Closed) Type() string { return "closed" }

// wireMsg holds every top-level field any server message has.
type wireMsg struct {
	Type        string            `json:"type"`
	Message     string            `json:"message"`
	ClientID    string            `json:"clientId"`
	Seq         uint64            `json:"seq"`
	Width       int               `json:"width"`
	Height      int               `json:"height"`
	X           int               `json:"x"`
	Y           int               `json:"y"`
	Color       string            `json:"color"`
	Username    string            `json:"username"`
	Timestamp   float64           `json:"timestamp"`
	ID          string            `json:"id"`
	Code        string            `json:"code"`
	ActiveUsers int               `json:"activeUsers"`
	Users       []string          `json:"users"`
	Recovered   bool              `json:"recovered"`
	Cursors     []CursorPos       `json:"cursors"`
	Gone        []string          `json:"gone"`
	Events      []json.RawMessage `json:"events"`
}

// DecodeFrame calls emit for every message in one frame: once for a plain
// message, once per event for a pixel.v2 batch. Client does this for every
// frame it reads; it is exported for tests that read frames themselves.
func DecodeFrame(data []byte, emit func(Message)) {
	var w wireMsg
	if !scanFlat(data, &w) {
		w = wireMsg{}
		if err := json.Unmarshal(data, &w); err != nil {
			emit(Unknown{Name: typeOf(data), Raw: data})
			return
		}
	}
	if w.Type == "batch" {
		for _, ev := range w.Events {
			decodeOne(ev, emit)
		}
		return
	}
	emit(w.message(data))
}

// decodeOne decodes a batch member; batches do not nest.
func decodeOne(data []byte, emit func(Message)) {
	var w wireMsg
	if !scanFlat(data, &w) {
		w = wireMsg{}
		if err := json.Unmarshal(data, &w); err != nil || w.Type == "batch" {
			emit(Unknown{Name: typeOf(data), Raw: data})
			return
		}
	}
	emit(w.message(data))
}

// typeOf digs the type out of a frame that failed to decode, so an
// extension with an unexpected field type is still recognisable.
func typeOf(data []byte) string {
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &t) != nil {
		return ""
	}
	return t.Type
}

func (w *wireMsg) message(raw []byte) Message {
	switch w.Type {
	case "pixel_updated":
		return PixelUpdated{X: w.X, Y: w.Y, Color: w.Color, Username: w.Username, Timestamp: w.Timestamp, Seq: w.Seq, ID: w.ID}
	case "connected":
		return Connected{Message: w.Message, ClientID: w.ClientID, Seq: w.Seq, Width: w.Width, Height: w.Height}
	case "error":
		return Error{Message: w.Message, Code: w.Code, ID: w.ID}
	case "stats":
		return Stats{ActiveUsers: w.ActiveUsers, Timestamp: w.Timestamp}
	case "user_list":
		return UserList{Users: w.Users, Timestamp: w.Timestamp}
	case "resumed":
		return Resumed{Seq: w.Seq, Recovered: w.Recovered}
	case "canvas_reset":
		return CanvasReset{Seq: w.Seq, Timestamp: w.Timestamp}
	case "cursors":
		return Cursors{Cursors: w.Cursors, Gone: w.Gone}
	case "pong":
		return Pong{Timestamp: w.Timestamp}
	}
	return Unknown{Name: w.Type, Raw: raw}
}

// scanFlat is a fast path for the messages that dominate traffic: a flat
// object whose values are plain strings, numbers or booleans. It fills w and
// returns true, or returns false whenever anything is unusual (arrays,
// nested objects, escapes, a value of the wrong kind for its field, trailing
// data) so that encoding/json, the reference, decides. It exists because a
// load generator that spends its CPU on reflection measures itself instead
// of the server.
func scanFlat(data []byte, w *wireMsg) bool {
	s := flatScanner{b: data}
	s.space()
	if !s.eat('{') {
		return false
	}
	s.space()
	if s.eat('}') {
		return s.end()
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
		if s.eat('}') {
			return s.end()
		}
		return false
	}
}

type flatScanner struct {
	b []byte
	i int
}

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

func (s *flatScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

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
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := s.b[start:s.i]
			s.i++
			return v, utf8.Valid(v)
		case c == '\\' || c < 0x20:
			return nil, false
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
		w.Username = string(v)
	case "id":
		w.ID = string(v)
	case "code":
		w.Code = string(v)
	case "seq", "width", "height", "x", "y", "timestamp", "activeUsers", "recovered", "users", "cursors", "gone", "events":
		return false // a string where a number, bool or array belongs
	}
	return true
}

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
	case "type", "message", "clientId", "color", "username", "id", "code", "users", "cursors", "gone", "events":
		return false // a number or bool where a string or array belongs
	default:
		// An unknown field: it must still be valid JSON for the frame to be.
		return isJSONNumber(v) || string(v) == "true" || string(v) == "false"
	}
	return err == nil
}

// knownTypes lets the hot path name a message without allocating.
var knownTypes = []string{"pixel_updated", "connected", "error", "stats", "user_list", "resumed", "canvas_reset", "cursors", "pong", "batch"}

func internType(v []byte) string {
	for _, t := range knownTypes {
		if string(v) == t {
			return t
		}
	}
	return string(v)
}

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

// Encoders for what clients send. Numbers and fixed strings are appended
// directly; user-supplied strings go through encoding/json for escaping.

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

func encodePixel(x, y int, color, id string) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"type":"pixel_update","x":`...)
	b = strconv.AppendInt(b, int64(x), 10)
	b = append(b, `,"y":`...)
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, `,"color":`...)
	b = appendString(b, color)
	if id != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, id)
	}
	return append(b, '}')
}

func encodeCursor(x, y float64) []byte {
	b := append(make([]byte, 0, 64), `{"type":"cursor","x":`...)
	b = strconv.AppendFloat(b, x, 'f', -1, 64)
	b = append(b, `,"y":`...)
	b = strconv.AppendFloat(b, y, 'f', -1, 64)
	return append(b, '}')
}

func encodeUsername(name string) []byte {
	return append(appendString(append(make([]byte, 0, 48), `{"type":"set_username","username":`...), name), '}')
}

func encodeResume(since uint64) []byte {
	b := append(make([]byte, 0, 40), `{"type":"resume","since":`...)
	return append(strconv.AppendUint(b, since, 10), '}')
}

var (
	msgPing        = []byte(`{"type":"ping"}`)
	msgCursorLeave = []byte(`{"type":"cursor"}`)
)
