package domain

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestNormalizeCanvasName(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Pixel Art", "Pixel Art", true},
		{"  trimmed \t", "trimmed", true},
		{"a", "a", true},
		{"Anonymous", "Anonymous", true}, // a canvas may be called that: it is never a user
		{"日本の絵", "日本の絵", true},
		{"👨\u200D👩\u200D👧 family", "👨\u200D👩\u200D👧 family", true},
		{"bidi\u202Eevil", "bidievil", true},
		{"zero\u200Bwidth", "zerowidth", true},
		{"stray\u200D joiner", "stray joiner", true},
		{"line\nbreak", "linebreak", true},
		{"bad \xff utf8", "bad  utf8", true},
		{strings.Repeat("é", MaxCanvasNameRunes), strings.Repeat("é", MaxCanvasNameRunes), true},
		{"  " + strings.Repeat("x", MaxCanvasNameRunes) + "  ", strings.Repeat("x", MaxCanvasNameRunes), true},
		{strings.Repeat("x", MaxCanvasNameRunes+1), "", false},
		{strings.Repeat("日", MaxCanvasNameRunes+1), "", false},
		{"", "", false},
		{"   ", "", false},
		{"\u200B\u202E\u3164", "", false}, // invisible only
		{"\u2800\u2800", "", false},       // blank braille
		{"\x00\x01", "", false},
	} {
		got, err := NormalizeCanvasName(tc.in)
		if (err == nil) != tc.ok || got != tc.want || (!tc.ok && !errors.Is(err, ErrBadCanvasName)) {
			t.Errorf("NormalizeCanvasName(%q) = %q, %v; want %q ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok {
			if again, err := NormalizeCanvasName(got); err != nil || again != got {
				t.Errorf("NormalizeCanvasName(%q) = %q, %v: not its own normalisation", got, again, err)
			}
		}
	}
}

func TestNewCanvasSize(t *testing.T) {
	for _, tc := range []struct {
		w, h, max int
		want      Size
		ok        bool
	}{
		{0, 0, 0, Size{256, 256}, true},
		{0, 0, 100, Size{100, 100}, true},
		{0, 0, 1024, Size{256, 256}, true},
		{1, 1, 0, Size{1, 1}, true},
		{4096, 4096, 0, Size{4096, 4096}, true},
		{4097, 1, 0, Size{}, false},
		{4096, 4096, 9000, Size{4096, 4096}, true}, // a max above MaxSide is MaxSide
		{4097, 10, 9000, Size{}, false},
		{512, 300, 512, Size{512, 300}, true},
		{513, 300, 512, Size{}, false},
		{300, 513, 512, Size{}, false},
		{0, 10, 0, Size{}, false},
		{10, 0, 0, Size{}, false},
		{-1, 10, 0, Size{}, false},
		{10, -5, 0, Size{}, false},
	} {
		got, err := NewCanvasSize(tc.w, tc.h, tc.max)
		if (err == nil) != tc.ok || got != tc.want || (!tc.ok && !errors.Is(err, ErrBadCanvasSize)) {
			t.Errorf("NewCanvasSize(%d, %d, %d) = %v, %v; want %v ok %v", tc.w, tc.h, tc.max, got, err, tc.want, tc.ok)
		}
	}
}

func TestCheckCanvasPixelRate(t *testing.T) {
	server := RateRule{PerSecond: 20, Burst: 40}
	for _, tc := range []struct {
		rate RateRule
		ok   bool
	}{
		{RateRule{}, true},
		{RateRule{PerSecond: 20, Burst: 40}, true},
		{RateRule{PerSecond: 0.5, Burst: 1}, true},
		{RateRule{PerSecond: 20.01, Burst: 40}, false},
		{RateRule{PerSecond: 5, Burst: 41}, false},
		{RateRule{PerSecond: 0, Burst: 10}, false},
		{RateRule{PerSecond: -1, Burst: 10}, false},
		{RateRule{PerSecond: 5, Burst: 0}, false},
		{RateRule{PerSecond: 5, Burst: -3}, false},
		{RateRule{PerSecond: math.NaN(), Burst: 3}, false},
		{RateRule{PerSecond: math.Inf(1), Burst: 3}, false},
	} {
		err := CheckCanvasPixelRate(tc.rate, server)
		if (err == nil) != tc.ok || (!tc.ok && !errors.Is(err, ErrBadPixelRate)) {
			t.Errorf("CheckCanvasPixelRate(%+v) = %v; want ok %v", tc.rate, err, tc.ok)
		}
	}
}

func TestCanvasRulesCheck(t *testing.T) {
	rules := CanvasRules{MaxSide: 1024, ServerPixelRate: DefaultPixelRate}
	for _, tc := range []struct {
		spec    CanvasSpec
		want    CanvasSpec
		wantErr error
	}{
		{CanvasSpec{Name: " Art "}, CanvasSpec{Name: "Art", Size: Size{256, 256}}, nil},
		{CanvasSpec{Name: "Art", Size: Size{1024, 8}, Private: true, PixelRate: RateRule{PerSecond: 1, Burst: 2}},
			CanvasSpec{Name: "Art", Size: Size{1024, 8}, Private: true, PixelRate: RateRule{PerSecond: 1, Burst: 2}}, nil},
		{CanvasSpec{Name: "\u200B"}, CanvasSpec{}, ErrBadCanvasName},
		{CanvasSpec{Name: "Art", Size: Size{1025, 8}}, CanvasSpec{}, ErrBadCanvasSize},
		{CanvasSpec{Name: "Art", PixelRate: RateRule{PerSecond: 100, Burst: 2}}, CanvasSpec{}, ErrBadPixelRate},
	} {
		got, err := rules.Check(tc.spec)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) || got != tc.want {
			t.Errorf("Check(%+v) = %+v, %v; want %+v, %v", tc.spec, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestEffectivePixelRateAndMainCanvas(t *testing.T) {
	server := DefaultPixelRate
	if got := (CanvasInfo{}).EffectivePixelRate(server); got != server {
		t.Errorf("no rule of its own: %+v, want the server's", got)
	}
	own := RateRule{PerSecond: 1, Burst: 1}
	if got := (CanvasInfo{PixelRate: own}).EffectivePixelRate(server); got != own {
		t.Errorf("own rule: %+v", got)
	}
	m := MainCanvas(DefaultSize)
	if m.Slug != MainSlug || m.Size != DefaultSize || m.Private || m.Archived {
		t.Errorf("MainCanvas = %+v", m)
	}
	if _, err := NormalizeCanvasName(m.Name); err != nil {
		t.Errorf("the main canvas's name is not a name: %v", err)
	}
}

func TestCanvasTokens(t *testing.T) {
	var r1, r2 [CanvasTokenBytes]byte
	r2[0] = 1
	t1, t2 := NewCanvasToken(r1), NewCanvasToken(r2)
	if len(t1) != 22 || t1 == t2 || strings.ContainsAny(t1+t2, "+/=") {
		t.Fatalf("tokens %q %q: want 22 base64url characters each, distinct", t1, t2)
	}
	h := HashCanvasToken(t1)
	for _, tc := range []struct {
		h     TokenHash
		token string
		want  bool
	}{
		{h, t1, true},
		{h, t2, false},
		{h, "", false},
		{h, t1[:21], false},
		{h, strings.Repeat("a", 100), false},
		{TokenHash{}, "", false},
		{TokenHash{}, t1, false},
		{HashCanvasToken(""), "", false}, // the empty token is never one
	} {
		if got := tc.h.Matches(tc.token); got != tc.want {
			t.Errorf("%v.Matches(%q) = %v, want %v", tc.h, tc.token, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    string
		want TokenHash
		ok   bool
	}{
		{h.String(), h, true},
		{"", TokenHash{}, true},
		{h.String()[:10], TokenHash{}, false},
		{strings.Repeat("z", 64), TokenHash{}, false},
	} {
		got, err := ParseTokenHash(tc.s)
		if (err == nil) != tc.ok || got != tc.want || (!tc.ok && !errors.Is(err, ErrBadTokenHash)) {
			t.Errorf("ParseTokenHash(%q) = %v, %v; want ok %v", tc.s, got, err, tc.ok)
		}
	}
	if strings.Contains(h.String(), t1) || TokenHash.String(TokenHash{}) != "" {
		t.Error("the hash's text")
	}
}
