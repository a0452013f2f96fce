package jsonx

import "unicode/utf8"

// Scanner reads flat JSON objects (values that are plain strings, numbers,
// booleans or null) for the hand-written fast paths of our decoders: it
// accepts only what it can take without allocating (no escapes, no nested
// values), and its callers return false on anything else so that
// encoding/json, the reference, decides.
type Scanner struct {
	b []byte
	i int // the next byte to read
}

// NewScanner starts scanning data from its first byte.
func NewScanner(data []byte) *Scanner { return &Scanner{b: data} }

// Pos is the index of the next byte to read.
func (s *Scanner) Pos() int { return s.i }

// Object reads one flat object up to and including its '}', calling field
// with each key once the scanner stands on its value, which field must
// consume (with Str or Literal); false from field stops the scan.
func (s *Scanner) Object(field func(key []byte) bool) bool {
	s.Space()
	if !s.Eat('{') {
		return false
	}
	s.Space()
	if s.Eat('}') {
		return true
	}
	for {
		s.Space()
		key, ok := s.Str()
		if !ok {
			return false
		}
		s.Space()
		if !s.Eat(':') {
			return false
		}
		s.Space()
		if !field(key) {
			return false
		}
		s.Space()
		if s.Eat(',') {
			continue
		}
		return s.Eat('}')
	}
}

// Space skips JSON whitespace.
func (s *Scanner) Space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// Eat consumes c if it comes next.
func (s *Scanner) Eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// Next is the byte to read next, or 0 at the end.
func (s *Scanner) Next() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// End reports whether only whitespace is left: trailing data makes the
// document invalid JSON.
func (s *Scanner) End() bool {
	s.Space()
	return s.i == len(s.b)
}

// Str reads a string without escapes or control characters, in valid
// UTF-8, and returns its bytes (a slice of the input); anything else is
// false, for encoding/json to decide.
func (s *Scanner) Str() ([]byte, bool) {
	if !s.Eat('"') {
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

// Literal reads a number, true, false or null: everything up to the next
// delimiter. Its syntax is for the caller to check (IsInt, IsNumber).
func (s *Scanner) Literal() []byte {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return s.b[start:s.i]
		}
		s.i++
	}
	return s.b[start:s.i]
}

// IsInt accepts what encoding/json accepts for an integer field.
func IsInt(v []byte) bool {
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

// IsNumber checks the JSON number grammar, which is stricter than
// strconv.ParseFloat (no "Inf", "0x1p3", "+1", ".5" or "1.").
func IsNumber(v []byte) bool {
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
