package domain

import (
	"strings"
	"unicode"
)

// MaxUsernameRunes is the longest name kept, counted in runes so that a name
// in any script gets the same allowance.
const MaxUsernameRunes = 20

// Anonymous is how a connection without a name is shown.
const Anonymous = "Anonymous"

// NormalizeUsername trims, removes control and format characters (which can
// reorder or hide text in other people's lists) and cuts to MaxUsernameRunes.
// The empty result means anonymous. Invalid UTF-8 is dropped rune by rune.
func NormalizeUsername(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if n := 0; len(out) > MaxUsernameRunes {
		for i := range out {
			if n == MaxUsernameRunes {
				out = strings.TrimSpace(out[:i])
				break
			}
			n++
		}
	}
	return out
}

// DisplayName is the name shown for a (normalized) username.
func DisplayName(username string) string {
	if username == "" {
		return Anonymous
	}
	return username
}
