package domain

import "errors"

// ErrBadColor reports a colour that is not `#RRGGBB`.
var ErrBadColor = errors.New("invalid color format")

// Color is a 24-bit RGB colour, 0xRRGGBB.
type Color uint32

// White is the colour of a pixel nobody has painted.
const White Color = 0xFFFFFF

// ParseColor accepts exactly `#` followed by six hex digits, in either case.
// Anything else (short forms, names, alpha, spaces) is rejected because the
// old clients and the consistency scripts compare colours as strings.
func ParseColor(s string) (Color, error) {
	if len(s) != 7 || s[0] != '#' {
		return 0, ErrBadColor
	}
	var c Color
	for i := 1; i < 7; i++ {
		d, ok := hexDigit(s[i])
		if !ok {
			return 0, ErrBadColor
		}
		c = c<<4 | Color(d)
	}
	return c, nil
}

func hexDigit(b byte) (byte, bool) {
	switch {
	case b >= '0' && b <= '9':
		return b - '0', true
	case b >= 'a' && b <= 'f':
		return b - 'a' + 10, true
	case b >= 'A' && b <= 'F':
		return b - 'A' + 10, true
	}
	return 0, false
}

const upperHex = "0123456789ABCDEF"

// String is the canonical upper-case `#RRGGBB` form that is stored and sent.
func (c Color) String() string {
	var b [7]byte
	b[0] = '#'
	for i := 6; i >= 1; i-- {
		b[i] = upperHex[c&0xF]
		c >>= 4
	}
	return string(b[:])
}

// RGB splits the colour into its channels.
func (c Color) RGB() (r, g, b byte) { return byte(c >> 16), byte(c >> 8), byte(c) }

// ColorFromRGB joins three channels into a colour.
func ColorFromRGB(r, g, b byte) Color { return Color(r)<<16 | Color(g)<<8 | Color(b) }
