package ui

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var updateIcons = flag.Bool("update-icons", false, "rewrite ui/static/icons/*.png from drawIcon")

// icon is one of the installable app's icons (static/manifest.webmanifest,
// and the apple-touch-icon link of index.html).
type icon struct {
	file string
	size int
	// maskable icons are cropped to a circle or squircle by the system:
	// the background fills the square and the drawing stays in the middle
	// 80 % (the "safe zone").
	maskable bool
	// opaque icons have square corners (iOS draws its own mask and shows
	// transparency as black).
	opaque bool
}

var icons = []icon{
	{file: "icon-192.png", size: 192},
	{file: "icon-512.png", size: 512},
	{file: "maskable-512.png", size: 512, maskable: true},
	{file: "apple-touch-icon.png", size: 180, opaque: true},
}

// drawIcon draws favicon.svg's picture (a dark rounded square with four
// colour squares) at a size, pixel by pixel, so the PNGs are the same on
// every machine and need no image tools.
func drawIcon(ic icon) *image.NRGBA {
	n := ic.size
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	bg := color.NRGBA{0x1b, 0x1f, 0x27, 0xff}
	// favicon.svg's units: a 32-unit square, corner radius 7, squares from 6 to 26.
	unit := float64(n) / 32
	lo, hi := 6.0, 26.0
	if ic.maskable {
		lo, hi = 9.0, 23.0
	}
	radius := 7 * unit
	if ic.maskable || ic.opaque {
		radius = 0
	}
	mid := (lo + hi) / 2
	quads := [4]color.NRGBA{{0xe5, 0x00, 0x00, 0xff}, {0xe5, 0xd9, 0x00, 0xff}, {0x00, 0x83, 0xc7, 0xff}, {0x02, 0xbe, 0x01, 0xff}}
	for y := range n {
		for x := range n {
			if !insideRounded(float64(x)+0.5, float64(y)+0.5, float64(n), radius) {
				continue
			}
			ux, uy := (float64(x)+0.5)/unit, (float64(y)+0.5)/unit
			c := bg
			if ux >= lo && ux < hi && uy >= lo && uy < hi {
				q := 0
				if ux >= mid {
					q++
				}
				if uy >= mid {
					q += 2
				}
				c = quads[q]
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// insideRounded: the point is within the n×n square with corners of radius r.
func insideRounded(x, y, n, r float64) bool {
	if r <= 0 {
		return true
	}
	cx := min(max(x, r), n-r)
	cy := min(max(y, r), n-r)
	dx, dy := x-cx, y-cy
	return dx*dx+dy*dy <= r*r
}

func encodeIcon(t *testing.T, ic icon) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, drawIcon(ic)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIconsAreDrawnFromTheirSource: the committed icons are exactly what
// drawIcon makes (go test ./ui -run Icons -update-icons rewrites them), at
// the sizes the manifest names.
func TestIconsAreDrawnFromTheirSource(t *testing.T) {
	for _, ic := range icons {
		path := filepath.Join("static", "icons", ic.file)
		want := encodeIcon(t, ic)
		if *updateIcons {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (go test ./ui -run Icons -update-icons draws it)", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what drawIcon makes; run go test ./ui -run Icons -update-icons", path)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(got))
		if err != nil || cfg.Width != ic.size || cfg.Height != ic.size {
			t.Errorf("%s: %dx%d (%v), want %dx%d", path, cfg.Width, cfg.Height, err, ic.size, ic.size)
		}
	}
}
