package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUsernameRunes is the longest name kept, counted in runes so that a name
// in any script gets the same allowance.
const MaxUsernameRunes = 20

// Anonymous is how a connection without a name is shown.
const Anonymous = "Anonymous"

const zwj = '\u200D' // ZERO WIDTH JOINER

// NormalizeUsername makes a name safe to show in other people's lists, or
// returns "" (anonymous) when nothing visible is left. It
//   - drops what is invisible or can reorder, hide or break text: control,
//     format (bidi overrides, zero-width spaces, tags), private-use and
//     unassigned-forever characters, line and paragraph separators, the
//     Hangul fillers and other blank "letters", and invalid UTF-8;
//   - keeps a ZERO WIDTH JOINER only inside an emoji sequence (between an
//     emoji, with its skin tone or presentation selector, and the next
//     emoji), so that 👨‍👩‍👧 stays one family; anywhere else it is dropped;
//   - keeps a variation selector only where it selects something: after an
//     emoji or keycap base (U+FE0E, U+FE0F), a Han ideograph (U+E0100 to
//     U+E01EF) or a Mongolian letter (its free variation selectors);
//   - trims spaces and cuts to MaxUsernameRunes (never leaving a joiner at
//     the end).
//
// A name with no letter, digit, punctuation or symbol left, or one that is
// "Anonymous" in any case (which would pass for an unnamed user), is "".
// The result is its own normalization.
func NormalizeUsername(s string) string {
	out := strings.TrimSpace(cleanText(s))
	if n := 0; len(out) > MaxUsernameRunes {
		for i := range out {
			if n == MaxUsernameRunes {
				out = strings.TrimSpace(out[:i])
				break
			}
			n++
		}
	}
	// The cut may separate a joiner from the emoji after it.
	out = strings.TrimRight(out, string(zwj))
	if !hasVisible(out) || strings.EqualFold(out, Anonymous) {
		return ""
	}
	return out
}

// cleanText is the character filter of names (usernames and canvas names):
// the first three rules of NormalizeUsername.
func cleanText(s string) string {
	var b strings.Builder
	var prev rune // the last rune kept; 0 at the start
	emoji := false
	for i, r := range s {
		keep := true
		switch {
		case r == utf8.RuneError || invisible(r):
			keep = false
		case r == zwj:
			next, _ := utf8.DecodeRuneInString(s[i+len(string(zwj)):])
			keep = emoji && pictographic(next)
		case isVariationSelector(r):
			keep = selects(r, prev)
		}
		if !keep {
			continue
		}
		b.WriteRune(r)
		switch {
		case pictographic(r):
			emoji = true
		case isEmojiModifier(r) || r == '\uFE0F' || r == '\uFE0E':
			// a skin tone or presentation of the emoji before: still in it
		default:
			emoji = false
		}
		prev = r
	}
	return b.String()
}

// DisplayName is the name shown for a (normalized) username.
func DisplayName(username string) string {
	if username == "" {
		return Anonymous
	}
	return username
}

// invisible reports runes a name never keeps (ZWJ, also Cf, is decided by
// its neighbours).
func invisible(r rune) bool {
	switch {
	case r == zwj:
		return false
	case unicode.IsControl(r), // Cc
		unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp):
		return true
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE: // noncharacters
		return true
	}
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', // Hangul fillers: blank letters
		'\u034F',           // COMBINING GRAPHEME JOINER
		'\u17B4', '\u17B5', // Khmer inherent vowels, invisible
		'\u2800': // BRAILLE PATTERN BLANK, a blank "symbol"
		return true
	}
	return false
}

func isVariationSelector(r rune) bool {
	return r >= 0xFE00 && r <= 0xFE0F || r >= 0xE0100 && r <= 0xE01EF || r >= 0x180B && r <= 0x180D || r == 0x180F
}

// selects reports whether variation selector vs after base selects a
// variant, so keeping it changes what is shown (after anything else it is
// invisible, and "Anonymous" followed by one would pass for the real thing).
func selects(vs, base rune) bool {
	switch {
	case vs == '\uFE0E' || vs == '\uFE0F':
		return pictographic(base) || base >= '0' && base <= '9' || base == '#' || base == '*'
	case vs >= 0xE0100:
		return unicode.Is(unicode.Han, base)
	case vs < 0xFE00:
		return unicode.Is(unicode.Mongolian, base)
	}
	return false
}

func isEmojiModifier(r rune) bool { return r >= 0x1F3FB && r <= 0x1F3FF }

func hasVisible(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) {
			return true
		}
	}
	return false
}

// pictographic approximates Unicode's Extended_Pictographic property (the
// standard library has no emoji tables): the code points emoji sequences are
// built from, skin tones and regional indicators excepted.
func pictographic(r rune) bool { return unicode.Is(extendedPictographic, r) }

var extendedPictographic = &unicode.RangeTable{
	LatinOffset: 1,
	R16: []unicode.Range16{
		{0x00A9, 0x00AE, 5}, // © ®
		{0x203C, 0x203C, 1},
		{0x2049, 0x2049, 1},
		{0x2122, 0x2122, 1},
		{0x2139, 0x2139, 1},
		{0x2194, 0x2199, 1},
		{0x21A9, 0x21AA, 1},
		{0x231A, 0x231B, 1},
		{0x2328, 0x2328, 1},
		{0x2388, 0x2388, 1},
		{0x23CF, 0x23CF, 1},
		{0x23E9, 0x23F3, 1},
		{0x23F8, 0x23FA, 1},
		{0x24C2, 0x24C2, 1},
		{0x25AA, 0x25AB, 1},
		{0x25B6, 0x25B6, 1},
		{0x25C0, 0x25C0, 1},
		{0x25FB, 0x25FE, 1},
		{0x2600, 0x2605, 1},
		{0x2607, 0x2612, 1},
		{0x2614, 0x2685, 1},
		{0x2690, 0x2705, 1},
		{0x2708, 0x2712, 1},
		{0x2714, 0x2714, 1},
		{0x2716, 0x2716, 1},
		{0x271D, 0x271D, 1},
		{0x2721, 0x2721, 1},
		{0x2728, 0x2728, 1},
		{0x2733, 0x2734, 1},
		{0x2744, 0x2744, 1},
		{0x2747, 0x2747, 1},
		{0x274C, 0x274C, 1},
		{0x274E, 0x274E, 1},
		{0x2753, 0x2755, 1},
		{0x2757, 0x2757, 1},
		{0x2763, 0x2767, 1},
		{0x2795, 0x2797, 1},
		{0x27A1, 0x27A1, 1},
		{0x27B0, 0x27B0, 1},
		{0x27BF, 0x27BF, 1},
		{0x2934, 0x2935, 1},
		{0x2B05, 0x2B07, 1},
		{0x2B1B, 0x2B1C, 1},
		{0x2B50, 0x2B50, 1},
		{0x2B55, 0x2B55, 1},
		{0x3030, 0x3030, 1},
		{0x303D, 0x303D, 1},
		{0x3297, 0x3297, 1},
		{0x3299, 0x3299, 1},
	},
	R32: []unicode.Range32{
		{0x1F000, 0x1F0FF, 1},
		{0x1F10D, 0x1F10F, 1},
		{0x1F12F, 0x1F12F, 1},
		{0x1F16C, 0x1F171, 1},
		{0x1F17E, 0x1F17F, 1},
		{0x1F18E, 0x1F18E, 1},
		{0x1F191, 0x1F19A, 1},
		{0x1F1AD, 0x1F1E5, 1},
		{0x1F201, 0x1F20F, 1},
		{0x1F21A, 0x1F21A, 1},
		{0x1F22F, 0x1F22F, 1},
		{0x1F232, 0x1F23A, 1},
		{0x1F23C, 0x1F23F, 1},
		{0x1F249, 0x1F3FA, 1},
		{0x1F400, 0x1F53D, 1},
		{0x1F546, 0x1F64F, 1},
		{0x1F680, 0x1F6FF, 1},
		{0x1F774, 0x1F77F, 1},
		{0x1F7D5, 0x1F7FF, 1},
		{0x1F80C, 0x1F80F, 1},
		{0x1F848, 0x1F84F, 1},
		{0x1F85A, 0x1F85F, 1},
		{0x1F888, 0x1F88F, 1},
		{0x1F8AE, 0x1F8FF, 1},
		{0x1F90C, 0x1F93A, 1},
		{0x1F93C, 0x1F945, 1},
		{0x1F947, 0x1FAFF, 1},
		{0x1FC00, 0x1FFFD, 1},
	},
}
