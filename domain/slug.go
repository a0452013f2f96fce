package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Slug names a canvas: its id everywhere (stores, channels, URLs such as
// /c/{slug}). Lower-case ASCII letters, digits and single hyphens inside,
// 1..MaxSlugBytes bytes, so it is safe in a URL, a file name, a Redis key
// and a metric label as it is.
type Slug string

// MainSlug is the canvas the old system had: every path without a canvas
// (/ws, /api/canvas, /api/pixel...) means it.
const MainSlug Slug = "main"

// MaxSlugBytes bounds a slug.
const MaxSlugBytes = 48

// ErrBadSlug reports a string that is not a slug.
var ErrBadSlug = errors.New("not a canvas slug")

// reservedSlugs are path words of the page and the API that no created
// canvas may take, and the main canvas's slug.
var reservedSlugs = map[Slug]bool{
	MainSlug: true, "api": true, "c": true, "canvases": true, "ws": true,
	"new": true, "static": true, "admin": true,
}

// ParseSlug validates s as a slug.
func ParseSlug(s string) (Slug, error) {
	if len(s) == 0 || len(s) > MaxSlugBytes || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return "", fmt.Errorf("%w: %q", ErrBadSlug, s)
	}
	for i := 0; i < len(s); i++ {
		if !slugByte(s[i]) {
			return "", fmt.Errorf("%w: %q", ErrBadSlug, s)
		}
	}
	return Slug(s), nil
}

func slugByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

// Reserved reports whether a canvas may not be created with this slug.
func (s Slug) Reserved() bool { return reservedSlugs[s] }

// SlugFromName derives a slug from a canvas's name: ASCII letters and
// digits kept (lower-cased), every other run of characters one hyphen,
// cut to MaxSlugBytes; a name with nothing left gives "canvas". The
// directory makes it unique (and not reserved) by appending -2, -3, ...
func SlugFromName(name string) Slug {
	var b strings.Builder
	hyphen := false
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		default:
			hyphen = b.Len() > 0
			continue
		}
		if hyphen {
			b.WriteByte('-')
			hyphen = false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) > MaxSlugBytes {
		s = strings.TrimRight(s[:MaxSlugBytes], "-")
	}
	if s == "" {
		return "canvas"
	}
	return Slug(s)
}

// WithSuffix is the slug with -n appended (n >= 2), cut so the result is
// still at most MaxSlugBytes.
func (s Slug) WithSuffix(n int) Slug {
	suffix := fmt.Sprintf("-%d", n)
	base := string(s)
	if len(base)+len(suffix) > MaxSlugBytes {
		base = strings.TrimRight(base[:MaxSlugBytes-len(suffix)], "-")
	}
	return Slug(base + suffix)
}
