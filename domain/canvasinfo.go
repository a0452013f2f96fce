package domain

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxCanvasNameRunes bounds a canvas's name, counted in runes after
// normalising, so that a name in any script gets the same allowance.
const MaxCanvasNameRunes = 40

// DefaultCanvasSide is each side of a new canvas whose size is not given
// (256×256), or the largest side allowed when that is smaller.
const DefaultCanvasSide = 256

// Errors of the canvas rules; each failure wraps one of them.
var (
	ErrBadCanvasName = errors.New("bad canvas name")
	ErrBadCanvasSize = errors.New("canvas size out of range")
	ErrBadPixelRate  = errors.New("canvas pixel rate out of range")
)

// CanvasInfo describes one canvas of the directory.
type CanvasInfo struct {
	Slug Slug
	// Name is normalised (NormalizeCanvasName); shown as text, never markup.
	Name    string
	Size    Size
	Private bool
	// PixelRate is the canvas's own per-connection pixel rate; the zero
	// rule means the server's (CanvasRules.ServerPixelRate).
	PixelRate  RateRule
	Created    time.Time
	LastActive time.Time
	// Archived canvases are readable, never writable.
	Archived bool
}

// EffectivePixelRate is the rule a connection to the canvas gets: the
// canvas's own, or the server's when it has none.
func (c CanvasInfo) EffectivePixelRate(server RateRule) RateRule {
	if c.PixelRate == (RateRule{}) {
		return server
	}
	return c.PixelRate
}

// MainCanvas is the entry of the main canvas, which the directory does not
// hold: public, never archived, sized by the server's settings.
func MainCanvas(size Size) CanvasInfo {
	return CanvasInfo{Slug: MainSlug, Name: "Main canvas", Size: size}
}

// CanvasSpec is what a creator asks for. Name is as typed; Size's zero
// value means the default; PixelRate's zero value means the server's.
type CanvasSpec struct {
	Name      string
	Size      Size
	Private   bool
	PixelRate RateRule
}

// CanvasRules are the server's bounds on a canvas's settings.
type CanvasRules struct {
	// MaxSide bounds each side of a new canvas; 0 (or more than MaxSide)
	// means MaxSide.
	MaxSide int
	// ServerPixelRate is the server's per-connection pixel rule; a
	// canvas's own rule may only be slower (rate and burst each at most
	// the server's).
	ServerPixelRate RateRule
}

// Check validates and normalises a spec for a new canvas: the name
// normalised, the default size filled in.
func (r CanvasRules) Check(spec CanvasSpec) (CanvasSpec, error) {
	name, err := NormalizeCanvasName(spec.Name)
	if err != nil {
		return CanvasSpec{}, err
	}
	size, err := NewCanvasSize(spec.Size.Width, spec.Size.Height, r.MaxSide)
	if err != nil {
		return CanvasSpec{}, err
	}
	if err := CheckCanvasPixelRate(spec.PixelRate, r.ServerPixelRate); err != nil {
		return CanvasSpec{}, err
	}
	return CanvasSpec{Name: name, Size: size, Private: spec.Private, PixelRate: spec.PixelRate}, nil
}

// NormalizeCanvasName cleans a canvas's name with the hygiene of usernames
// (NormalizeUsername: invisible, reordering and blank characters dropped,
// joiners and variation selectors kept only where they join or select,
// spaces trimmed) and checks that 1..MaxCanvasNameRunes runes are left
// with something visible among them. Unlike a username, a canvas name is
// never anonymous: nothing left is an error, and a name that is too long
// is an error rather than cut, since it is a title its creator chose. The
// result is its own normalisation.
func NormalizeCanvasName(s string) (string, error) {
	out := strings.TrimRight(strings.TrimSpace(cleanText(s)), string(zwj))
	switch n := utf8.RuneCountInString(out); {
	case !hasVisible(out):
		return "", fmt.Errorf("%w: nothing visible in %q", ErrBadCanvasName, s)
	case n > MaxCanvasNameRunes:
		return "", fmt.Errorf("%w: %d characters, at most %d", ErrBadCanvasName, n, MaxCanvasNameRunes)
	}
	return out, nil
}

// NewCanvasSize validates the size of a new canvas: each side 1..maxSide
// (maxSide <= 0 or above MaxSide means MaxSide). 0×0 asks for the
// default, DefaultCanvasSide a side or maxSide if that is smaller.
func NewCanvasSize(width, height, maxSide int) (Size, error) {
	if maxSide <= 0 || maxSide > MaxSide {
		maxSide = MaxSide
	}
	if width == 0 && height == 0 {
		side := min(DefaultCanvasSide, maxSide)
		return Size{Width: side, Height: side}, nil
	}
	if width < 1 || height < 1 || width > maxSide || height > maxSide {
		return Size{}, fmt.Errorf("%w: %dx%d (each side 1..%d)", ErrBadCanvasSize, width, height, maxSide)
	}
	return Size{Width: width, Height: height}, nil
}

// CheckCanvasPixelRate checks a canvas's own pixel rule against the
// server's: the zero rule (the server's) is always valid; any other needs
// a finite rate above 0 and a burst of at least 1, neither above the
// server's.
func CheckCanvasPixelRate(rate, server RateRule) error {
	if rate == (RateRule{}) {
		return nil
	}
	switch {
	case math.IsNaN(rate.PerSecond) || rate.PerSecond <= 0 || rate.Burst < 1:
		return fmt.Errorf("%w: %v/s burst %d (rate above 0, burst at least 1)", ErrBadPixelRate, rate.PerSecond, rate.Burst)
	case rate.PerSecond > server.PerSecond || rate.Burst > server.Burst:
		return fmt.Errorf("%w: %v/s burst %d is faster than the server's %v/s burst %d",
			ErrBadPixelRate, rate.PerSecond, rate.Burst, server.PerSecond, server.Burst)
	}
	return nil
}
