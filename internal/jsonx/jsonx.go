// Package jsonx appends JSON strings to a byte slice without reflection or
// allocation. Every hand-written encoder in the adapters (the WebSocket
// frames, the REST bodies, the bus messages) uses it, so all of them escape
// names the same way, and safely for HTML. Its Scanner is the other way:
// the hand-written fast paths of the decoders on hot paths (the load
// tool's frames, the gateways' bus messages) read flat objects with it and
// leave anything unusual to encoding/json.
package jsonx

import "unicode/utf8"

const lowerHex = "0123456789abcdef"

// AppendString writes s as a JSON string. Like encoding/json it escapes
// <, > and & (so a value cannot close a <script> element), U+2028 and U+2029
// (line terminators in older JavaScript) and replaces invalid UTF-8 with
// U+FFFD, but without reflection or allocation.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
