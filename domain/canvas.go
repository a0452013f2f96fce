package domain

// Canvas is the state of every pixel plus the seq of the last change applied.
// It applies events by server-ordered last-write-wins: an event changes a
// pixel only if its seq is higher than the seq that last changed the pixel,
// so replicas that receive the same events in any order, or twice, converge.
//
// Colours are kept as packed RGB (3 bytes per pixel, row-major) because that
// is the form snapshots travel in.
type Canvas struct {
	size    Size
	seq     Seq
	rgb     []byte
	pixSeq  []Seq
	resetAt Seq
}

// NewCanvas is an all-white canvas at seq 0.
func NewCanvas(size Size) *Canvas {
	c := &Canvas{size: size, rgb: make([]byte, 3*size.Pixels()), pixSeq: make([]Seq, size.Pixels())}
	fillWhite(c.rgb)
	return c
}

// CanvasFromSnapshot builds a canvas from a snapshot. Pixels count as last
// written at the snapshot's seq, so only newer events change them.
func CanvasFromSnapshot(s Snapshot) *Canvas {
	c := &Canvas{size: s.Size, seq: s.Seq, rgb: append([]byte(nil), s.RGB...), pixSeq: make([]Seq, s.Size.Pixels()), resetAt: s.Seq}
	return c
}

func fillWhite(b []byte) {
	for i := range b {
		b[i] = 0xFF
	}
}

// Size is the canvas size.
func (c *Canvas) Size() Size { return c.size }

// Seq is the highest seq applied.
func (c *Canvas) Seq() Seq { return c.seq }

// At is the colour at (x, y); callers check Contains first.
func (c *Canvas) At(x, y int) Color {
	i := 3 * c.size.Index(x, y)
	return ColorFromRGB(c.rgb[i], c.rgb[i+1], c.rgb[i+2])
}

// Apply applies one event and reports whether it changed anything visible to
// ordering (an event older than what it would overwrite is ignored).
func (c *Canvas) Apply(e Event) bool {
	switch e.Kind {
	case PixelPlaced:
		if !c.size.Contains(e.Pixel.X, e.Pixel.Y) {
			return false
		}
		i := c.size.Index(e.Pixel.X, e.Pixel.Y)
		if e.Seq <= c.pixSeq[i] || e.Seq <= c.resetAt {
			c.bump(e.Seq)
			return false
		}
		c.pixSeq[i] = e.Seq
		r, g, b := e.Pixel.Color.RGB()
		c.rgb[3*i], c.rgb[3*i+1], c.rgb[3*i+2] = r, g, b
		c.bump(e.Seq)
		return true
	case CanvasReset:
		if e.Seq <= c.resetAt {
			return false
		}
		c.resetAt = e.Seq
		for i, s := range c.pixSeq {
			if s < e.Seq {
				c.pixSeq[i] = 0
				c.rgb[3*i], c.rgb[3*i+1], c.rgb[3*i+2] = 0xFF, 0xFF, 0xFF
			}
		}
		c.bump(e.Seq)
		return true
	}
	return false
}

func (c *Canvas) bump(s Seq) {
	if s > c.seq {
		c.seq = s
	}
}

// Snapshot copies the canvas.
func (c *Canvas) Snapshot() Snapshot {
	return Snapshot{Size: c.size, Seq: c.seq, RGB: append([]byte(nil), c.rgb...)}
}

// Snapshot is every pixel of a canvas as packed RGB, row-major, together with
// the seq of the last change it includes and the timeline (Epoch) that seq
// belongs to. A Canvas knows no epoch: the store that reads a snapshot sets
// it.
type Snapshot struct {
	Size  Size
	Seq   Seq
	Epoch Epoch
	RGB   []byte
}

// At is the colour at (x, y); callers check Contains first.
func (s Snapshot) At(x, y int) Color {
	i := 3 * s.Size.Index(x, y)
	return ColorFromRGB(s.RGB[i], s.RGB[i+1], s.RGB[i+2])
}

// BlankSnapshot is an all-white snapshot at seq 0.
func BlankSnapshot(size Size) Snapshot {
	rgb := make([]byte, 3*size.Pixels())
	fillWhite(rgb)
	return Snapshot{Size: size, RGB: rgb}
}
