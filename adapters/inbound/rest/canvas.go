package rest

import (
	"bufio"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

// Raw snapshot headers. The UI reads them from a cross-origin response, so
// CORS exposes them.
const (
	HeaderCanvasWidth  = "X-Canvas-Width"
	HeaderCanvasHeight = "X-Canvas-Height"
	HeaderCanvasSeq    = "X-Canvas-Seq"
	// HeaderCanvasEpoch is the timeline the snapshot's seq is on
	// (domain.Epoch): the page reloads a snapshot whose epoch is not its
	// stream's.
	HeaderCanvasEpoch = "X-Canvas-Epoch"
)

// PNG export limits: a scale makes each canvas pixel a scale×scale square.
const (
	MaxPNGScale = 16
	MaxPNGSide  = 8192
)

// snapshot reads the whole canvas, shared with concurrent readers: it is
// read-only.
func (a *API) snapshot(ctx *fasthttp.RequestCtx, c *canvasRef) (domain.Snapshot, bool) {
	snap, err := c.snaps.get()
	if err != nil {
		a.storeFailed(ctx, "snapshot", err)
		return domain.Snapshot{}, false
	}
	if len(snap.RGB) != 3*snap.Size.Pixels() {
		a.storeFailed(ctx, "snapshot", errSnapshotSize)
		return domain.Snapshot{}, false
	}
	return snap, true
}

type snapshotError string

func (e snapshotError) Error() string { return string(e) }

const errSnapshotSize = snapshotError("snapshot RGB length does not match its size")

// streamCanvasAbove is the canvas size, in pixels, above which GET
// /api/canvas is streamed row by row instead of built whole: about 11 MB
// of JSON. A 4096×4096 canvas would be 370 MB, and a few concurrent
// requests must not be able to take that much memory each.
const streamCanvasAbove = 1 << 19

// getCanvas is GET /api/canvas: every pixel as "x,y": "#RRGGBB", as the old
// API sent it, plus the seq the snapshot includes. The JSON is appended
// straight into the pooled response buffer, with no map and no per-pixel
// allocation; past streamCanvasAbove it is streamed instead.
func (a *API) getCanvas(ctx *fasthttp.RequestCtx, c *canvasRef) {
	snap, ok := a.snapshot(ctx, c)
	if !ok {
		return
	}
	ctx.SetContentType(httpx.ContentTypeJSON)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if snap.Size.Pixels() <= streamCanvasAbove {
		httpx.BuildBody(ctx, func(b []byte) []byte { return appendCanvasJSON(b, snap) })
		return
	}
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		b := appendCanvasHead(make([]byte, 0, 64+canvasEntryBytes*snap.Size.Width), snap)
		for y := 0; y < snap.Size.Height; y++ {
			b = appendCanvasRow(b, snap, y)
			if _, err := w.Write(b); err != nil {
				return // the client went away
			}
			b = b[:0]
		}
		_, _ = w.Write(appendCanvasTail(b, snap))
	})
}

// canvasEntryBytes is the longest entry of the pixels object.
const canvasEntryBytes = len(`"4095,4095":"#FFFFFF",`)

func appendCanvasJSON(b []byte, snap domain.Snapshot) []byte {
	b = slices.Grow(b, 64+snap.Size.Pixels()*canvasEntryBytes)
	b = appendCanvasHead(b, snap)
	for y := 0; y < snap.Size.Height; y++ {
		b = appendCanvasRow(b, snap, y)
	}
	return appendCanvasTail(b, snap)
}

func appendCanvasHead(b []byte, snap domain.Snapshot) []byte {
	b = append(b, `{"width":`...)
	b = strconv.AppendInt(b, int64(snap.Size.Width), 10)
	b = append(b, `,"height":`...)
	b = strconv.AppendInt(b, int64(snap.Size.Height), 10)
	return append(b, `,"pixels":{`...)
}

func appendCanvasRow(b []byte, snap domain.Snapshot, y int) []byte {
	w := snap.Size.Width
	rgb := snap.RGB[3*y*w : 3*(y+1)*w]
	for x := 0; x < w; x++ {
		if x > 0 || y > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = strconv.AppendInt(b, int64(x), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(y), 10)
		b = append(b, `":"`...)
		b = appendColor(b, domain.ColorFromRGB(rgb[3*x], rgb[3*x+1], rgb[3*x+2]))
		b = append(b, '"')
	}
	return b
}

func appendCanvasTail(b []byte, snap domain.Snapshot) []byte {
	b = append(b, `},"seq":`...)
	b = strconv.AppendUint(b, snap.Seq, 10)
	b = append(b, `,"epoch":`...)
	b = jsonx.AppendString(b, string(snap.Epoch))
	return append(b, '}')
}

// getCanvasRaw is GET /api/canvas/raw: the snapshot as packed RGB, 3 bytes
// per pixel, row-major, for the UI (a thirtieth of the JSON's size and no
// parsing).
func (a *API) getCanvasRaw(ctx *fasthttp.RequestCtx, c *canvasRef) {
	snap, ok := a.snapshot(ctx, c)
	if !ok {
		return
	}
	ctx.SetContentType("application/octet-stream")
	h := &ctx.Response.Header
	h.Set(HeaderCanvasWidth, strconv.Itoa(snap.Size.Width))
	h.Set(HeaderCanvasHeight, strconv.Itoa(snap.Size.Height))
	h.Set(HeaderCanvasSeq, strconv.FormatUint(snap.Seq, 10))
	h.Set(HeaderCanvasEpoch, string(snap.Epoch))
	h.Set("Cache-Control", "no-store")
	// Not copied: the bytes are shared with the other readers of this
	// snapshot and nobody writes to them.
	ctx.Response.SetBodyRaw(snap.RGB)
}

// exportWait is how long a PNG export waits for a free encoder before the
// client is told to come back.
const exportWait = 5 * time.Second

// getCanvasPNG is GET /api/canvas.png[?scale=N], the UI's export.
func (a *API) getCanvasPNG(ctx *fasthttp.RequestCtx, c *canvasRef) {
	scale := 1
	if arg := ctx.QueryArgs().Peek("scale"); arg != nil {
		n, ok := pathCoordinate(string(arg))
		if !ok || n < 1 || n > MaxPNGScale {
			httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadScale)
			return
		}
		scale = n
	}
	size := c.store.Size()
	if size.Width*scale > MaxPNGSide || size.Height*scale > MaxPNGSide {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadScale)
		return
	}
	timer := time.NewTimer(exportWait)
	select {
	case a.exports <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		ctx.Response.Header.Set("Retry-After", "2")
		httpx.Error(ctx, fasthttp.StatusServiceUnavailable, msgBusy)
		return
	}
	defer func() { <-a.exports }()
	snap, ok := a.snapshot(ctx, c)
	if !ok {
		return
	}
	if snap.Size.Width*scale > MaxPNGSide || snap.Size.Height*scale > MaxPNGSide {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadScale)
		return
	}
	httpx.BuildBody(ctx, func(b []byte) []byte { return appendPNG(b, snap, scale) })
	ctx.SetContentType("image/png")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Content-Disposition",
		`inline; filename="canvas-`+strconv.FormatUint(snap.Seq, 10)+`.png"`)
}
