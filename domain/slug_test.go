package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSlug(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"main", true}, {"a", true}, {"pixel-art-2026", true}, {strings.Repeat("a", MaxSlugBytes), true},
		{"", false}, {"-a", false}, {"a-", false}, {"a--b", false}, {"Main", false}, {"a_b", false},
		{"a/b", false}, {"é", false}, {strings.Repeat("a", MaxSlugBytes+1), false}, {"a b", false},
	} {
		s, err := ParseSlug(tc.in)
		if (err == nil) != tc.ok || (tc.ok && string(s) != tc.in) || (!tc.ok && !errors.Is(err, ErrBadSlug)) {
			t.Errorf("ParseSlug(%q) = %q, %v; want ok %v", tc.in, s, err, tc.ok)
		}
	}
}

func TestSlugFromName(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Pixel Art", "pixel-art"},
		{"  Hello,  World!! ", "hello-world"},
		{"Café au lait", "caf-au-lait"},
		{"日本", "canvas"},
		{"", "canvas"},
		{"---", "canvas"},
		{"r/place 2026", "r-place-2026"},
		{strings.Repeat("ab ", 30), strings.TrimRight(strings.Repeat("ab-", 16), "-")},
	} {
		got := SlugFromName(tc.name)
		if string(got) != tc.want {
			t.Errorf("SlugFromName(%q) = %q, want %q", tc.name, got, tc.want)
		}
		if _, err := ParseSlug(string(got)); err != nil {
			t.Errorf("SlugFromName(%q) = %q is not a slug: %v", tc.name, got, err)
		}
	}
}

func TestWithSuffixAndReserved(t *testing.T) {
	long := Slug(strings.Repeat("a", MaxSlugBytes))
	for _, tc := range []struct {
		s    Slug
		n    int
		want Slug
	}{
		{"art", 2, "art-2"}, {"art", 10, "art-10"}, {long, 3, Slug(strings.Repeat("a", MaxSlugBytes-2) + "-3")},
	} {
		if got := tc.s.WithSuffix(tc.n); got != tc.want {
			t.Errorf("%q.WithSuffix(%d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
		if _, err := ParseSlug(string(tc.s.WithSuffix(tc.n))); err != nil {
			t.Error(err)
		}
	}
	if !MainSlug.Reserved() || !Slug("api").Reserved() || Slug("art").Reserved() {
		t.Error("reserved slugs wrong")
	}
}
