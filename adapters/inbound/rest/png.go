package rest

import (
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"sync"

	"github.com/pixelplayground/pixelplayground/domain"
)

// The PNG is written by hand rather than with image/png because a scaled
// export would otherwise need the whole scaled image in memory (8192×8192
// RGBA is 256 MiB) and image/png's generic path costs an interface call
// per output pixel. Here memory is one row plus the compressed output, and
// the filters make scaling nearly free to compress: the first row of each
// block uses the Sub filter (a run of one colour becomes zeros) and the
// rows that repeat it use Up (all zeros).

const (
	pngSignature = "\x89PNG\r\n\x1a\n"
	pngFilterSub = 1
	pngFilterUp  = 2
	// idatChunkBytes is the size of each IDAT chunk; decoders accept any.
	idatChunkBytes = 64 << 10
)

var zlibWriters = sync.Pool{New: func() any {
	w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // BestSpeed is a valid level
	return w
}}

// appendPNG appends an 8-bit RGB PNG of snap with every pixel drawn as a
// scale×scale square.
func appendPNG(dst []byte, snap domain.Snapshot, scale int) []byte {
	w, h := snap.Size.Width, snap.Size.Height
	dst = append(dst, pngSignature...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w*scale))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h*scale))
	ihdr[8] = 8 // bits per channel
	ihdr[9] = 2 // colour type: RGB
	dst = appendChunk(dst, "IHDR", ihdr[:])

	out := &idatWriter{dst: dst}
	zw := zlibWriters.Get().(*zlib.Writer)
	zw.Reset(out)
	rowBytes := 1 + 3*w*scale
	row := make([]byte, rowBytes)
	repeat := make([]byte, rowBytes)
	repeat[0] = pngFilterUp
	for y := 0; y < h; y++ {
		src := snap.RGB[3*y*w : 3*(y+1)*w]
		row[0] = pngFilterSub
		var pr, pg, pb byte
		o := 1
		for x := 0; x < w; x++ {
			r, g, b := src[3*x], src[3*x+1], src[3*x+2]
			for k := 0; k < scale; k++ {
				row[o], row[o+1], row[o+2] = r-pr, g-pg, b-pb
				pr, pg, pb = r, g, b
				o += 3
			}
		}
		_, _ = zw.Write(row) // idatWriter never fails
		for k := 1; k < scale; k++ {
			_, _ = zw.Write(repeat)
		}
	}
	_ = zw.Close()
	zw.Reset(nil)
	zlibWriters.Put(zw)
	out.flush()
	return appendChunk(out.dst, "IEND", nil)
}

// idatWriter cuts the zlib stream into IDAT chunks appended to dst.
type idatWriter struct {
	dst     []byte
	pending []byte
}

func (w *idatWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if w.pending == nil {
			w.pending = make([]byte, 0, idatChunkBytes)
		}
		take := min(len(p), idatChunkBytes-len(w.pending))
		w.pending = append(w.pending, p[:take]...)
		p = p[take:]
		if len(w.pending) == idatChunkBytes {
			w.flush()
		}
	}
	return n, nil
}

func (w *idatWriter) flush() {
	if len(w.pending) > 0 {
		w.dst = appendChunk(w.dst, "IDAT", w.pending)
		w.pending = w.pending[:0]
	}
}

func appendChunk(dst []byte, kind string, data []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(data)))
	start := len(dst)
	dst = append(dst, kind...)
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}
