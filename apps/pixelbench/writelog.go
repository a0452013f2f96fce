package main

import (
	"sync/atomic"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// writeLog numbers the bench's writes and remembers when each was sent, so
// that a delivery, which the server stamps with nothing of ours, can be
// traced back to its send: the pixel and colour encode the write's number
// (geometry), the number finds the send time (sendRing).
type writeLog struct {
	epoch time.Time // the monotonic origin of send and receive stamps
	geom  atomic.Pointer[geometry]
	ring  *sendRing
	count atomic.Uint64 // writes numbered so far
	// sizeMismatch is set when two servers report different canvas sizes:
	// then they are not one canvas and a pixel may name the wrong write.
	sizeMismatch atomic.Bool
}

func newWriteLog() *writeLog {
	return &writeLog{epoch: time.Now(), ring: newSendRing()}
}

// learnSize adopts the first connection's canvas size for the numbering,
// and notes any later connection that disagrees.
func (w *writeLog) learnSize(width, height int) {
	if w.geom.CompareAndSwap(nil, newGeometry(width, height)) {
		return
	}
	if g := w.geom.Load(); g.width != uint64(width) || g.pixels != uint64(width*height) {
		w.sizeMismatch.Store(true)
	}
}

// next numbers a new write, stamps its send time and says which pixel and
// colour carry it; ok is false before any connection told the canvas size.
func (w *writeLog) next() (n uint64, x, y int, c domain.Color, ok bool) {
	g := w.geom.Load()
	if g == nil {
		return 0, 0, 0, 0, false
	}
	n = g.number(w.count.Add(1) - 1)
	x, y, c = g.pixelFor(n)
	w.ring.store(n, time.Since(w.epoch))
	return n, x, y, c, true
}

// sinceSent is how long before now the write that m delivers was sent;
// ok is false when m is not a write of this bench or the ring forgot it.
func (w *writeLog) sinceSent(m wsclient.PixelUpdated, now time.Time) (time.Duration, bool) {
	g := w.geom.Load()
	if g == nil {
		return 0, false
	}
	n, ok := g.writeOf(m.X, m.Y, m.Color)
	if !ok {
		return 0, false
	}
	sent, ok := w.ring.lookup(n)
	if !ok {
		return 0, false
	}
	return now.Sub(w.epoch) - sent, true
}
