package rest

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/ports"
)

// getPixel is GET /api/pixel/{x}/{y}. Who painted the pixel and when are
// extensions, present only if somebody painted it since the last reset.
func (a *API) getPixel(ctx *fasthttp.RequestCtx, c *canvasRef) {
	x, okX := pathCoordinate(ctx.UserValue("x"))
	y, okY := pathCoordinate(ctx.UserValue("y"))
	if !okX || !okY || !c.store.Size().Contains(x, y) {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgOutOfBounds)
		return
	}
	sctx, cancel := a.storeContext()
	info, err := c.store.Pixel(sctx, x, y)
	cancel()
	if err != nil {
		a.storeFailed(ctx, "pixel", err)
		return
	}
	httpx.BuildBody(ctx, func(b []byte) []byte {
		b = append(b, `{"x":`...)
		b = strconv.AppendInt(b, int64(x), 10)
		b = append(b, `,"y":`...)
		b = strconv.AppendInt(b, int64(y), 10)
		b = append(b, `,"color":"`...)
		b = appendColor(b, info.Color)
		b = append(b, '"')
		if info.Seq > 0 {
			b = append(b, `,"seq":`...)
			b = strconv.AppendUint(b, info.Seq, 10)
			b = append(b, `,"username":`...)
			b = jsonx.AppendString(b, domain.DisplayName(info.Username))
			b = append(b, `,"timestamp":`...)
			b = httpx.AppendMillis(b, info.Time)
		}
		return append(b, '}')
	})
	ctx.SetContentType(httpx.ContentTypeJSON)
	ctx.Response.Header.Set("Cache-Control", "no-store")
}

// admitted runs next for the write requests admitWrite lets through, before
// the canvas they name is even looked up.
func (a *API) admitted(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if a.admitWrite(ctx) {
			next(ctx)
		}
	}
}

// admitWrite applies what every write request must pass before its body is
// read: the per-IP rate limit and the body size. It answers and returns
// false when the request is refused.
func (a *API) admitWrite(ctx *fasthttp.RequestCtx) bool {
	if a.requests != nil {
		ok, retry, err := a.requests.Take(ctx, a.clientKey(ctx), 1)
		if err == nil && !ok {
			a.m.RateLimited.WithLabelValues("rest").Inc()
			ctx.Response.Header.Set("Retry-After", retryAfter(retry))
			a.reject(ctx, fasthttp.StatusTooManyRequests, reasonRateLimited, msgRateLimited, 1)
			return false
		}
	}
	if ctx.Request.Header.ContentLength() > MaxBodyBytes || len(ctx.PostBody()) > MaxBodyBytes {
		a.reject(ctx, fasthttp.StatusRequestEntityTooLarge, reasonTooLarge, msgTooLarge, 1)
		return false
	}
	return true
}

// putPixel is PUT /api/pixel. The Content-Type is not checked: old clients
// did not always send application/json.
func (a *API) putPixel(ctx *fasthttp.RequestCtx, c *canvasRef) {
	w, bad := decodeWrite(ctx.PostBody(), c.store.Size(), "")
	if bad != nil {
		a.reject(ctx, fasthttp.StatusBadRequest, bad.reason, bad.message, 1)
		return
	}
	events, ok := a.place(ctx, c, []domain.Write{w})
	if !ok {
		return
	}
	e := events[0]
	httpx.BuildBody(ctx, func(b []byte) []byte {
		b = append(b, `{"success":true,"x":`...)
		b = strconv.AppendInt(b, int64(e.Pixel.X), 10)
		b = append(b, `,"y":`...)
		b = strconv.AppendInt(b, int64(e.Pixel.Y), 10)
		b = append(b, `,"color":"`...)
		b = appendColor(b, e.Pixel.Color)
		b = append(b, `","timestamp":`...)
		b = httpx.AppendMillis(b, e.Time)
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
		if w.Origin.WriteID != "" {
			b = append(b, `,"id":`...)
			b = jsonx.AppendString(b, w.Origin.WriteID)
		}
		return append(b, '}')
	})
	ctx.SetContentType(httpx.ContentTypeJSON)
}

// putPixels is PUT /api/pixels. Every pixel is validated before anything
// is written, and the batch is one Place call, so it lands whole or not at
// all (the old API wrote the valid ones and dropped the rest silently).
func (a *API) putPixels(ctx *fasthttp.RequestCtx, c *canvasRef) {
	var body batchBody
	if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			a.reject(ctx, fasthttp.StatusBadRequest, reasonBadPixel, msgNotArray, 1)
			return
		}
		a.reject(ctx, fasthttp.StatusBadRequest, reasonBadJSON, msgBadFormat, 1)
		return
	}
	var items []json.RawMessage
	if len(body.Pixels) == 0 || body.Pixels[0] != '[' || json.Unmarshal(body.Pixels, &items) != nil {
		a.reject(ctx, fasthttp.StatusBadRequest, reasonBadPixel, msgNotArray, 1)
		return
	}
	if len(items) > a.maxBatch {
		a.reject(ctx, fasthttp.StatusRequestEntityTooLarge, reasonTooLarge,
			"Too many pixels: at most "+strconv.Itoa(a.maxBatch)+" per request", len(items))
		return
	}
	defaultUsername, _, err := place.String(body.Username)
	if err != nil {
		a.reject(ctx, fasthttp.StatusBadRequest, reasonBadPixel, msgBadFormat, len(items))
		return
	}
	size := c.store.Size()
	writes := make([]domain.Write, len(items))
	for i, raw := range items {
		w, bad := decodeWrite(raw, size, defaultUsername)
		if bad != nil {
			a.m.PixelsRejected.WithLabelValues(bad.reason).Add(float64(len(items)))
			httpx.BuildBody(ctx, func(b []byte) []byte {
				b = append(b, `{"error":`...)
				b = jsonx.AppendString(b, "Invalid pixel at index "+strconv.Itoa(i)+": "+bad.message)
				b = append(b, `,"index":`...)
				b = strconv.AppendInt(b, int64(i), 10)
				return append(b, '}')
			})
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			ctx.SetContentType(httpx.ContentTypeJSON)
			return
		}
		writes[i] = w
	}
	var seq domain.Seq
	stamp := domain.TimestampOf(a.clock.Now())
	if len(writes) > 0 {
		events, ok := a.place(ctx, c, writes)
		if !ok {
			return
		}
		last := events[len(events)-1]
		seq, stamp = last.Seq, last.Time
	} else {
		sctx, cancel := a.storeContext()
		var head domain.Head
		head, err = c.store.Head(sctx)
		seq = head.Seq
		cancel()
		if err != nil {
			a.storeFailed(ctx, "latest seq", err)
			return
		}
	}
	httpx.BuildBody(ctx, func(b []byte) []byte {
		b = append(b, `{"success":true,"updated":`...)
		b = strconv.AppendInt(b, int64(len(writes)), 10)
		b = append(b, `,"timestamp":`...)
		b = httpx.AppendMillis(b, stamp)
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
		return append(b, '}')
	})
	ctx.SetContentType(httpx.ContentTypeJSON)
}

// place writes validated pixels through the shared place-a-pixel path; on
// failure it has answered (the path has counted and logged).
func (a *API) place(ctx *fasthttp.RequestCtx, c *canvasRef, writes []domain.Write) ([]domain.Event, bool) {
	events, err := a.placer.PlaceOn(ctx, c.placeCanvas(), place.SourceREST, a.clientKey(ctx), writes)
	if err != nil {
		var limited *place.RateLimited
		switch {
		case errors.Is(err, place.ErrArchived):
			httpx.Error(ctx, fasthttp.StatusConflict, msgArchivedWrites)
		case errors.As(err, &limited) && limited.RetryAfter == domain.Forever:
			httpx.Error(ctx, fasthttp.StatusRequestEntityTooLarge, msgOverBudget)
		case errors.As(err, &limited):
			ctx.Response.Header.Set("Retry-After", retryAfter(limited.RetryAfter))
			httpx.Error(ctx, fasthttp.StatusTooManyRequests, msgRateLimited)
		case errors.Is(err, ports.ErrUnavailable):
			ctx.Response.Header.Set("Retry-After", "1")
			httpx.Error(ctx, fasthttp.StatusServiceUnavailable, msgUnavailable)
		default:
			httpx.Error(ctx, fasthttp.StatusInternalServerError, msgInternal)
		}
		return nil, false
	}
	return events, true
}

const upperHex = "0123456789ABCDEF"

// appendColor writes the canonical #RRGGBB without the string Color.String
// allocates; GET /api/canvas writes it once per pixel.
func appendColor(b []byte, c domain.Color) []byte {
	return append(b, '#',
		upperHex[c>>20&0xF], upperHex[c>>16&0xF],
		upperHex[c>>12&0xF], upperHex[c>>8&0xF],
		upperHex[c>>4&0xF], upperHex[c&0xF])
}

// clientKey is who the request is for the limits: its client, behind a
// trusted proxy the one the proxy names.
func (a *API) clientKey(ctx *fasthttp.RequestCtx) string {
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	return a.clients.Key(peer, ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor))
}

// retryAfter is a Retry-After value: whole seconds, rounded up, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}
