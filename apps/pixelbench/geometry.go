package main

import (
	"math/rand/v2"

	"github.com/pixelplayground/pixelplayground/domain"
)

// geometry maps write numbers to pixels and back, so that any client can
// tell which write a pixel_updated is without the server's help: write n
// paints pixel n mod P in a colour encoding n div P (scrambled by an odd
// multiplier, which is a bijection mod 2^24, so the canvas looks lively).
// It is unique for P·2^24 writes.
type geometry struct {
	width, pixels uint64
	base          uint64 // a random first write number, so two benches on one canvas do not share numbers
}

func newGeometry(width, height int) *geometry {
	g := &geometry{width: uint64(width), pixels: uint64(width * height)}
	g.base = rand.Uint64N(g.limit())
	return g
}

// limit is how many distinct writes the encoding tells apart.
func (g geometry) limit() uint64 { return g.pixels << 24 }

// number is the k-th write's number.
func (g geometry) number(k uint64) uint64 { return (g.base + k) % g.limit() }

const colorMul = 0x9E3779 // odd

var colorInv = func() uint64 { // the inverse of colorMul mod 2^24, by Newton's iteration
	x := uint64(colorMul)
	for range 5 {
		x *= 2 - colorMul*x
	}
	return x & 0xFFFFFF
}()

func (g geometry) pixelFor(n uint64) (x, y int, c domain.Color) {
	idx, k := n%g.pixels, n/g.pixels
	return int(idx % g.width), int(idx / g.width), domain.Color(k * colorMul & 0xFFFFFF)
}

func (g geometry) writeOf(x, y int, color string) (uint64, bool) {
	c, err := domain.ParseColor(color)
	if err != nil || x < 0 || y < 0 || uint64(x) >= g.width {
		return 0, false
	}
	idx := uint64(y)*g.width + uint64(x)
	if idx >= g.pixels {
		return 0, false
	}
	return (uint64(c)*colorInv&0xFFFFFF)*g.pixels + idx, true
}
