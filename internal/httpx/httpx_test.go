package httpx

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
)

func TestAppendMillis(t *testing.T) {
	for _, tc := range []struct {
		us   domain.Timestamp
		want string
	}{
		{1795316057524123, "1795316057524.123"},
		{1795316057524000, "1795316057524"},
		{1795316057524100, "1795316057524.1"},
		{1795316057524120, "1795316057524.12"},
		{1795316057524005, "1795316057524.005"},
		{999, "0.999"},
		{0, "0"},
		{-5, "0"},
	} {
		got := string(AppendMillis([]byte("x"), tc.us))
		if got != "x"+tc.want {
			t.Errorf("AppendMillis(%d) = %s, want %s", tc.us, got[1:], tc.want)
		}
		var f float64
		if err := json.Unmarshal([]byte(tc.want), &f); err != nil {
			t.Errorf("%s is not a JSON number: %v", tc.want, err)
		}
	}
	// Sorting by the wire value must follow the µs order.
	a, b := AppendMillis(nil, 1795316057524001), AppendMillis(nil, 1795316057524002)
	var fa, fb float64
	_ = json.Unmarshal(a, &fa)
	_ = json.Unmarshal(b, &fb)
	if !(fa < fb) {
		t.Errorf("%s does not sort before %s", a, b)
	}
}

func TestISOTime(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	got := ISOTime(time.Date(2026, 11, 22, 4, 5, 6, 7_000_000, loc))
	if got != "2026-11-22T03:05:06.007Z" {
		t.Errorf("ISOTime = %s", got)
	}
}

func TestErrorAndNotFoundAreJSON(t *testing.T) {
	for _, tc := range []struct {
		h      fasthttp.RequestHandler
		status int
		body   string
	}{
		{NotFound, 404, `{"error":"Not found"}`},
		{MethodNotAllowed, 405, `{"error":"Method not allowed"}`},
		{func(ctx *fasthttp.RequestCtx) { Error(ctx, 400, `say "<hi>"`) }, 400, `{"error":"say \"\u003chi\u003e\""}`},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Response.SetBodyString("previous body that must go")
		tc.h(&ctx)
		if ctx.Response.StatusCode() != tc.status || string(ctx.Response.Body()) != tc.body {
			t.Errorf("got %d %s, want %d %s", ctx.Response.StatusCode(), ctx.Response.Body(), tc.status, tc.body)
		}
		if ct := string(ctx.Response.Header.ContentType()); ct != ContentTypeJSON {
			t.Errorf("content type %q", ct)
		}
	}
}
