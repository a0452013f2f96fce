package domain

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// Names that were accepted as they were, or broken, before: invisible
// names, names that pass for an unnamed user, and emoji sequences whose
// joiners were removed.
func TestNormalizeUsernameInvisibleAndEmoji(t *testing.T) {
	family := "👨\u200D👩\u200D👧"
	for _, tc := range []struct{ name, in, want string }{
		{"HANGUL FILLER alone", "\u3164", ""},
		{"HANGUL FILLERs around a name", "\u3164\u3164Bob\u3164", "Bob"},
		{"HALFWIDTH HANGUL FILLER", "\uFFA0", ""},
		{"Hangul choseong and jungseong fillers", "\u115F\u1160", ""},
		{"LINE SEPARATOR inside", "a\u2028b", "ab"},
		{"PARAGRAPH SEPARATOR inside", "a\u2029b", "ab"},
		{"private use, BMP", "Bob\uE000", "Bob"},
		{"private use alone", "\uE000\uF8FF", ""},
		{"private use, plane 15", "\U000F0000x", "x"},
		{"noncharacter", "a\uFFFF\uFDD0", "a"},
		{"only default-ignorable characters", "\u200B\uFE0F\u034F\u2060\U000E0100\u17B4", ""},
		{"only variation selectors", "\uFE0F\uFE0F", ""},
		{"only combining marks", "\u0301\u0301", ""},
		{"BRAILLE PATTERN BLANK", "\u2800\u2800", ""},
		{"variation selector after a letter", "Bob\uFE0F", "Bob"},
		{"ideographic variation selector after a letter", "a\U000E0100", "a"},
		{"Anonymous", "Anonymous", ""},
		{"anonymous", "anonymous", ""},
		{"ANONYMOUS with spaces", "  ANONYMOUS ", ""},
		{"Anonymous with a zero-width space", "Anony\u200Bmous", ""},
		{"Anonymous with a variation selector", "Anonymous\uFE0F", ""},
		{"Anonymous with a Hangul filler", "Anonymous\u3164", ""},
		{"ZWJ family", family, family},
		{"ZWJ family in a name", "Ann " + family, "Ann " + family},
		{"ZWJ with a skin tone", "👩🏽\u200D💻", "👩🏽\u200D💻"},
		{"ZWJ after a presentation selector", "❤\uFE0F\u200D🔥", "❤\uFE0F\u200D🔥"},
		{"rainbow flag", "🏳\uFE0F\u200D🌈", "🏳\uFE0F\u200D🌈"},
		{"a doubled ZWJ joins once", "👨\u200D\u200D👩", "👨\u200D👩"},
		{"a cut never ends on a joiner", strings.Repeat("x", 18) + family, strings.Repeat("x", 18) + "👨"},
	} {
		if got := NormalizeUsername(tc.in); got != tc.want {
			t.Errorf("%s: NormalizeUsername(%+q) = %+q, want %+q", tc.name, tc.in, got, tc.want)
		}
	}
}

// What was right before stays right.
func TestNormalizeUsernameKeeps(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"LINE SEPARATOR alone", "\u2028", ""},
		{"ZWJ between letters", "a\u200Db", "ab"},
		{"ZWJ at the end", "👨\u200D", "👨"},
		{"ZWJ at the start", "\u200D👨", "👨"},
		{"ZWJ after a letter", "a\u200D👨", "a👨"},
		{"zero-width and bidi format characters", "a\u200B\u202Eb\uFEFF", "ab"},
		{"tag characters", "x\U000E0041\U000E007F", "x"},
		{"keycap", "1\uFE0F\u20E3", "1\uFE0F\u20E3"},
		{"ideographic variation sequence", "葛\U000E0100", "葛\U000E0100"},
		{"emoji with a skin tone", "👍🏽", "👍🏽"},
		{"combining accent", "Zoe\u0301", "Zoe\u0301"},
		{"a name containing Anonymous", "Anonymous Al", "Anonymous Al"},
		{"ideographic space inside", "山\u3000田", "山\u3000田"},
	} {
		if got := NormalizeUsername(tc.in); got != tc.want {
			t.Errorf("%s: NormalizeUsername(%+q) = %+q, want %+q", tc.name, tc.in, got, tc.want)
		}
	}
}

// Every kept ZWJ sits between two pictographs (with their modifiers), and
// normalizing twice changes nothing.
func FuzzNormalizeUsernameJoiners(f *testing.F) {
	for _, s := range []string{"👨\u200D👩\u200D👧", "a\u200D👨", "❤\uFE0F\u200D🔥", strings.Repeat("👨\u200D", 15), "\u3164Anonymous"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeUsername(s)
		if NormalizeUsername(n) != n {
			t.Fatalf("not idempotent: %+q -> %+q -> %+q", s, n, NormalizeUsername(n))
		}
		if !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxUsernameRunes {
			t.Fatalf("NormalizeUsername(%+q) = %+q", s, n)
		}
		if strings.EqualFold(n, Anonymous) {
			t.Fatalf("NormalizeUsername(%+q) = %+q passes for an unnamed user", s, n)
		}
		rs := []rune(n)
		for i, r := range rs {
			if r != zwj {
				continue
			}
			if i == 0 || i == len(rs)-1 || !pictographic(rs[i+1]) {
				t.Fatalf("NormalizeUsername(%+q) = %+q keeps a joiner outside an emoji sequence", s, n)
			}
		}
	})
}
