package domain

import (
	"errors"
	"fmt"
)

// DefaultWidth and DefaultHeight are the canvas size the old system shipped
// with; clients that never read `width`/`height` assume them.
const (
	DefaultWidth  = 50
	DefaultHeight = 50
	// MaxSide bounds either side of the canvas. 4096×4096 is 48 MiB of RGB,
	// which still loads in one read; larger would need tiling.
	MaxSide = 4096
)

// ErrBadSize reports a canvas size outside 1..MaxSide.
var ErrBadSize = errors.New("canvas size out of range")

// Size is the canvas's width and height in pixels.
type Size struct {
	Width, Height int
}

// DefaultSize is the 50×50 canvas.
var DefaultSize = Size{Width: DefaultWidth, Height: DefaultHeight}

// NewSize validates a canvas size.
func NewSize(width, height int) (Size, error) {
	if width < 1 || height < 1 || width > MaxSide || height > MaxSide {
		return Size{}, fmt.Errorf("%w: %dx%d (each side 1..%d)", ErrBadSize, width, height, MaxSide)
	}
	return Size{Width: width, Height: height}, nil
}

// Contains reports whether (x, y) is on the canvas.
func (s Size) Contains(x, y int) bool {
	return x >= 0 && y >= 0 && x < s.Width && y < s.Height
}

// Index is the row-major offset of (x, y); callers check Contains first.
func (s Size) Index(x, y int) int { return y*s.Width + x }

// Pixels is the number of pixels on the canvas.
func (s Size) Pixels() int { return s.Width * s.Height }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }
