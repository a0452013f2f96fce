// Package httpx holds the small pieces of HTTP and JSON output that every
// inbound adapter must produce identically: wire timestamps, JSON error
// bodies and the JSON 404/405 handlers.
// The old system answered some errors with Express's HTML pages; sharing
// these keeps every app on JSON.
package httpx

import (
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

// ContentTypeJSON is the content type of every JSON response.
const ContentTypeJSON = "application/json; charset=utf-8"

// AppendMillis writes a µs timestamp as epoch milliseconds with the µs as a
// fraction without trailing zeros (1795316057524.123, 1795316057524.1,
// 1795316057524), so that old clients computing `Date.now() - timestamp`
// keep working and two writes in one millisecond still sort in seq order.
// The REST and WebSocket adapters must both use it.
func AppendMillis(b []byte, t domain.Timestamp) []byte {
	us := int64(t)
	if us < 0 {
		us = 0
	}
	b = appendUint(b, uint64(us/1000))
	frac := us % 1000
	if frac == 0 {
		return b
	}
	digits := [3]byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
	n := 3
	for digits[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, digits[:n]...)
}

func appendUint(b []byte, v uint64) []byte {
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// ISOTime is the form of `timestamp` in health responses: JavaScript's
// Date.prototype.toISOString, UTC with milliseconds.
func ISOTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// WriteJSON sends a JSON body that the caller already encoded.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(ContentTypeJSON)
	ctx.SetBody(body)
}

// Error sends `{"error":"..."}` with the given status. Messages are the wire
// protocol's fixed strings, never internal error text.
func Error(ctx *fasthttp.RequestCtx, status int, message string) {
	BuildBody(ctx, func(b []byte) []byte {
		b = append(b, `{"error":`...)
		b = jsonx.AppendString(b, message)
		return append(b, '}')
	})
	ctx.SetStatusCode(status)
	ctx.SetContentType(ContentTypeJSON)
}

// BuildBody replaces the response body with what build appends to an empty
// slice backed by fasthttp's pooled body buffer, so that even a body of
// megabytes (GET /api/canvas) costs no allocation once the pool is warm.
func BuildBody(ctx *fasthttp.RequestCtx, build func(b []byte) []byte) {
	b := ctx.Response.SwapBody(nil)
	ctx.Response.SwapBody(build(b[:0]))
}

// NotFound answers a path no route matches with a JSON 404 (the old API
// sent Express's HTML page).
func NotFound(ctx *fasthttp.RequestCtx) {
	Error(ctx, fasthttp.StatusNotFound, "Not found")
}

// MethodNotAllowed answers a known path asked with the wrong method with a
// JSON 405; the router has already set the Allow header.
func MethodNotAllowed(ctx *fasthttp.RequestCtx) {
	Error(ctx, fasthttp.StatusMethodNotAllowed, "Method not allowed")
}
