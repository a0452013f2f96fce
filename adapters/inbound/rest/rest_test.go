package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membudget"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/ports"
)

var size5x4 = domain.Size{Width: 5, Height: 4}

// decode parses a JSON object keeping numbers exact.
func decode(t *testing.T, resp *fasthttp.Response) map[string]any {
	t.Helper()
	if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON; body %s", ct, resp.Body())
	}
	d := json.NewDecoder(bytes.NewReader(resp.Body()))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", resp.Body(), err)
	}
	return m
}

func wantError(t *testing.T, resp *fasthttp.Response, status int, message string) {
	t.Helper()
	if resp.StatusCode() != status {
		t.Errorf("status %d, want %d; body %s", resp.StatusCode(), status, resp.Body())
	}
	if got := decode(t, resp)["error"]; got != message {
		t.Errorf("error %q, want %q", got, message)
	}
}

func TestPutPixel(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		message    string // error message, for failures
	}{
		{"lower-case colour", `{"x":1,"y":2,"color":"#ff0000"}`, 200, ""},
		{"wrong content type is tolerated", `{"x":0,"y":0,"color":"#00FF00"}`, 200, ""},
		{"whole number with a fraction part", `{"x":1.0,"y":2,"color":"#ff0000"}`, 200, ""},
		{"old bug: fraction", `{"x":2.5,"y":3,"color":"#FF0000"}`, 400, msgBadFormat},
		{"tiny fraction that rounds to zero", `{"x":1e-400,"y":0,"color":"#FF0000"}`, 400, msgBadFormat},
		{"string coordinate", `{"x":"1","y":2,"color":"#FF0000"}`, 400, msgBadFormat},
		{"abc coordinate", `{"x":"abc","y":2,"color":"#FF0000"}`, 400, msgBadFormat},
		{"null coordinate", `{"x":null,"y":2,"color":"#FF0000"}`, 400, msgBadFormat},
		{"missing y", `{"x":1,"color":"#FF0000"}`, 400, msgBadFormat},
		{"huge exponent", `{"x":1e400,"y":2,"color":"#FF0000"}`, 400, msgBadFormat},
		{"negative", `{"x":-1,"y":2,"color":"#FF0000"}`, 400, msgOutOfBounds},
		{"x = width", `{"x":5,"y":0,"color":"#FF0000"}`, 400, msgOutOfBounds},
		{"y = height", `{"x":0,"y":4,"color":"#FF0000"}`, 400, msgOutOfBounds},
		{"beyond int32", `{"x":99999999999,"y":0,"color":"#FF0000"}`, 400, msgOutOfBounds},
		{"short colour", `{"x":1,"y":2,"color":"#F00"}`, 400, msgBadColor},
		{"colour name", `{"x":1,"y":2,"color":"red"}`, 400, msgBadColor},
		{"missing colour", `{"x":1,"y":2}`, 400, msgBadColor},
		{"numeric colour", `{"x":1,"y":2,"color":16711680}`, 400, msgBadColor},
		{"malformed JSON", `{"x":1,"y":2,"color":`, 400, msgBadFormat},
		{"not JSON", `x=1&y=2&color=red`, 400, msgBadFormat},
		{"empty body", ``, 400, msgBadFormat},
		{"array body", `[1,2,"#FF0000"]`, 400, msgBadFormat},
		{"null body", `null`, 400, msgBadFormat},
		{"trailing data", `{"x":1,"y":2,"color":"#FF0000"} {"x":2}`, 400, msgBadFormat},
		{"username not a string", `{"x":1,"y":2,"color":"#FF0000","username":42}`, 400, msgBadFormat},
		{"id not a string", `{"x":1,"y":2,"color":"#FF0000","id":7}`, 400, msgBadFormat},
		{"id too long", `{"x":1,"y":2,"color":"#FF0000","id":"` + strings.Repeat("i", 65) + `"}`, 400, msgBadID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, size5x4, nil)
			resp := h.do("PUT", "/api/pixel", tc.body, "Content-Type", "text/plain")
			if tc.status != 200 {
				wantError(t, resp, tc.status, tc.message)
				if places, _, _ := h.store.counts(); places != 0 {
					t.Errorf("a refused write reached the store")
				}
				return
			}
			if resp.StatusCode() != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
			}
			m := decode(t, resp)
			if m["success"] != true || m["seq"] != json.Number("1") {
				t.Errorf("response %s", resp.Body())
			}
			if c, _ := m["color"].(string); c != strings.ToUpper(c) || len(c) != 7 {
				t.Errorf("colour %q is not canonical #RRGGBB", c)
			}
		})
	}
}

func TestPutPixelResponseAndStoredWrite(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	resp := h.do("PUT", "/api/pixel", `{"x":3,"y":1,"color":"#abcdef","username":"  <img src=x onerror=alert(1)>  ","id":"n-1","timestamp":5}`)
	want := `{"success":true,"x":3,"y":1,"color":"#ABCDEF","timestamp":1795317900123.456,"seq":1,"id":"n-1"}`
	if string(resp.Body()) != want {
		t.Fatalf("body %s\nwant %s", resp.Body(), want)
	}
	w := h.store.written[0]
	if w.Username != "<img src=x onerror=a" || w.Origin.WriteID != "n-1" || w.Origin.GatewayID != "" {
		t.Errorf("stored write %+v: username must be normalized text, origin REST", w)
	}
	// The HTML comes back as escaped JSON text, never as markup.
	resp = h.do("GET", "/api/pixel/3/1", "")
	if !bytes.Contains(resp.Body(), []byte(`"username":"\u003cimg src=x onerror=a"`)) {
		t.Errorf("pixel %s: username not escaped text", resp.Body())
	}
	if got := counterValue(t, h.metrics.PixelsAccepted.WithLabelValues("rest", "main")); got != 1 {
		t.Errorf("PixelsAccepted{rest} = %v, want 1", got)
	}
	if got := counterValue(t, h.metrics.HTTPRequests.WithLabelValues("PUT /api/pixel", "2xx")); got != 1 {
		t.Errorf("HTTPRequests{PUT /api/pixel,2xx} = %v, want 1", got)
	}
	h.do("PUT", "/api/pixel", `{"x":9,"y":1,"color":"#abcdef"}`)
	if got := counterValue(t, h.metrics.PixelsRejected.WithLabelValues(reasonBadPixel)); got != 1 {
		t.Errorf("PixelsRejected{bad_pixel} = %v, want 1", got)
	}
	if got := counterValue(t, h.metrics.HTTPRequests.WithLabelValues("PUT /api/pixel", "4xx")); got != 1 {
		t.Errorf("HTTPRequests{PUT /api/pixel,4xx} = %v, want 1", got)
	}
}

func TestBodyTooLarge(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	big := `{"x":1,"y":1,"color":"#FFFFFF","pad":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	for _, path := range []string{"/api/pixel", "/api/pixels"} {
		wantError(t, h.do("PUT", path, big), 413, msgTooLarge)
	}
}

func TestGetPixel(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	h.do("PUT", "/api/pixel", `{"x":4,"y":3,"color":"#123abc","username":"Alice"}`)
	h.do("PUT", "/api/pixel", `{"x":0,"y":0,"color":"#000000"}`)
	for _, tc := range []struct{ path, body string }{
		{"/api/pixel/1/2", `{"x":1,"y":2,"color":"#FFFFFF"}`},
		{"/api/pixel/4/3", `{"x":4,"y":3,"color":"#123ABC","seq":1,"username":"Alice","timestamp":1795317900123.456}`},
		{"/api/pixel/0/0", `{"x":0,"y":0,"color":"#000000","seq":2,"username":"Anonymous","timestamp":1795317900123.457}`},
		{"/api/pixel/04/3", `{"x":4,"y":3,"color":"#123ABC","seq":1,"username":"Alice","timestamp":1795317900123.456}`},
	} {
		resp := h.do("GET", tc.path, "")
		if resp.StatusCode() != 200 || string(resp.Body()) != tc.body {
			t.Errorf("GET %s = %d %s, want %s", tc.path, resp.StatusCode(), resp.Body(), tc.body)
		}
	}
	for _, path := range []string{"/api/pixel/abc/1", "/api/pixel/2.5/1", "/api/pixel/1/2.5", "/api/pixel/-1/0",
		"/api/pixel/5/0", "/api/pixel/0/4", "/api/pixel/+1/0", "/api/pixel/1e1/0", "/api/pixel/99999999999999999999/0", "/api/pixel/%31/0"} {
		wantError(t, h.do("GET", path, ""), 400, msgOutOfBounds)
	}
}

func TestPutPixels(t *testing.T) {
	h := newHarness(t, size5x4, func(o *Options) { o.MaxBatch = 3 })
	resp := h.do("PUT", "/api/pixels", `{"username":"Bob","pixels":[{"x":0,"y":0,"color":"#ff0000"},{"x":1,"y":0,"color":"#00ff00","username":"Eve"},{"x":2,"y":0,"color":"#0000ff"}]}`)
	want := `{"success":true,"updated":3,"timestamp":1795317900123.458,"seq":3}`
	if resp.StatusCode() != 200 || string(resp.Body()) != want {
		t.Fatalf("batch = %d %s, want %s", resp.StatusCode(), resp.Body(), want)
	}
	if places, _, _ := h.store.counts(); places != 1 {
		t.Errorf("a batch made %d Place calls, want one", places)
	}
	if names := []string{h.store.written[0].Username, h.store.written[1].Username, h.store.written[2].Username}; strings.Join(names, ",") != "Bob,Eve,Bob" {
		t.Errorf("usernames %v", names)
	}

	for _, tc := range []struct {
		name, body string
		status     int
		message    string
		index      int // -1: none
	}{
		{"pixels missing", `{}`, 400, msgNotArray, -1},
		{"pixels an object", `{"pixels":{"x":1}}`, 400, msgNotArray, -1},
		{"pixels a string", `{"pixels":"[]"}`, 400, msgNotArray, -1},
		{"pixels null", `{"pixels":null}`, 400, msgNotArray, -1},
		{"body an array", `[{"x":1,"y":1,"color":"#FFFFFF"}]`, 400, msgNotArray, -1},
		{"malformed JSON", `{"pixels":[`, 400, msgBadFormat, -1},
		{"username not a string", `{"pixels":[],"username":1}`, 400, msgBadFormat, -1},
		{"too many", `{"pixels":[{},{},{},{}]}`, 413, "Too many pixels: at most 3 per request", -1},
		{"invalid second", `{"pixels":[{"x":1,"y":1,"color":"#FFFFFF"},{"x":1,"y":9,"color":"#FFFFFF"}]}`, 400, "Invalid pixel at index 1: " + msgOutOfBounds, 1},
		{"invalid colour third", `{"pixels":[{"x":1,"y":1,"color":"#FFFFFF"},{"x":1,"y":1,"color":"#FFFFFF"},{"x":1,"y":1,"color":"#GGGGGG"}]}`, 400, "Invalid pixel at index 2: " + msgBadColor, 2},
		{"fraction first", `{"pixels":[{"x":0.5,"y":1,"color":"#FFFFFF"}]}`, 400, "Invalid pixel at index 0: " + msgBadFormat, 0},
		{"element not an object", `{"pixels":[{"x":1,"y":1,"color":"#FFFFFF"},7]}`, 400, "Invalid pixel at index 1: " + msgBadFormat, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, size5x4, func(o *Options) { o.MaxBatch = 3 })
			resp := h.do("PUT", "/api/pixels", tc.body)
			wantError(t, resp, tc.status, tc.message)
			if tc.index >= 0 && decode(t, resp)["index"] != json.Number(strconv.Itoa(tc.index)) {
				t.Errorf("index missing: %s", resp.Body())
			}
			if _, _, written := h.store.counts(); written != 0 {
				t.Errorf("%d pixels written; a refused batch writes nothing", written)
			}
		})
	}

	t.Run("empty batch", func(t *testing.T) {
		resp := h.do("PUT", "/api/pixels", `{"pixels":[]}`)
		if string(resp.Body()) != `{"success":true,"updated":0,"timestamp":1795317900123.456,"seq":3}` {
			t.Errorf("empty batch = %s", resp.Body())
		}
	})
	t.Run("default limit", func(t *testing.T) {
		h := newHarness(t, domain.Size{Width: 100, Height: 100}, nil)
		batch := func(n int) string {
			var b strings.Builder
			b.WriteString(`{"pixels":[`)
			for i := 0; i < n; i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"x":%d,"y":%d,"color":"#010203"}`, i%100, i/100)
			}
			b.WriteString(`]}`)
			return b.String()
		}
		wantError(t, h.do("PUT", "/api/pixels", batch(DefaultMaxBatch+1)), 413, "Too many pixels: at most 1000 per request")
		if resp := h.do("PUT", "/api/pixels", batch(DefaultMaxBatch)); resp.StatusCode() != 200 || decode(t, resp)["updated"] != json.Number("1000") {
			t.Errorf("1000 pixels = %d %s", resp.StatusCode(), resp.Body())
		}
	})
}

func TestGetCanvas(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	h.do("PUT", "/api/pixels", `{"pixels":[{"x":4,"y":3,"color":"#abcdef"},{"x":0,"y":1,"color":"#000001"}]}`)
	resp := h.do("GET", "/api/canvas", "")
	if resp.StatusCode() != 200 {
		t.Fatalf("status %d", resp.StatusCode())
	}
	var body struct {
		Width, Height int
		Pixels        map[string]string
		Seq           *uint64
	}
	if err := json.Unmarshal(resp.Body(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Width != 5 || body.Height != 4 || body.Seq == nil || *body.Seq != 2 || len(body.Pixels) != 20 {
		t.Fatalf("canvas %s", resp.Body())
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 5; x++ {
			want := "#FFFFFF"
			switch {
			case x == 4 && y == 3:
				want = "#ABCDEF"
			case x == 0 && y == 1:
				want = "#000001"
			}
			if got := body.Pixels[fmt.Sprintf("%d,%d", x, y)]; got != want {
				t.Errorf("pixel %d,%d = %q, want %q", x, y, got, want)
			}
		}
	}
	if !bytes.HasPrefix(resp.Body(), []byte(`{"width":5,"height":4,"pixels":{"0,0":"#FFFFFF","1,0":"#FFFFFF"`)) {
		t.Errorf("unexpected layout: %.80s", resp.Body())
	}
}

func TestGetCanvasLargeIsCheap(t *testing.T) {
	h := newHarness(t, domain.Size{Width: 700, Height: 700}, nil)
	h.do("GET", "/api/canvas", "") // warm the pooled body buffer
	var ctx fasthttp.RequestCtx
	allocs := testing.AllocsPerRun(3, func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("GET")
		ctx.Request.SetRequestURI("/api/canvas")
		h.handler(&ctx)
	})
	if n := len(ctx.Response.Body()); n < 7_000_000 || !bytes.HasSuffix(ctx.Response.Body(), []byte(`"699,699":"#FFFFFF"},"seq":0,"epoch":"fake0epoch"}`)) {
		t.Fatalf("body of %d bytes ends %q", n, ctx.Response.Body()[max(0, n-40):])
	}
	// The fake store's snapshot copy is a handful; per-pixel work must be none.
	if allocs > 50 {
		t.Errorf("GET /api/canvas for 700x700 made %.0f allocations", allocs)
	}
}

func TestGetCanvasStreamsHugeCanvases(t *testing.T) {
	h := newHarness(t, domain.Size{Width: 1000, Height: 1000}, nil)
	h.do("PUT", "/api/pixel", `{"x":999,"y":999,"color":"#0000ff"}`)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/api/canvas")
	h.handler(&ctx)
	if !ctx.Response.IsBodyStream() {
		t.Fatal("a 1000x1000 canvas was built in memory")
	}
	body := ctx.Response.Body() // drains the stream
	snap := h.store.canvas.Snapshot()
	snap.Epoch = fakeEpoch
	want := appendCanvasJSON(nil, snap)
	if !bytes.Equal(body, want) || !json.Valid(body) {
		t.Fatalf("streamed %d bytes, want %d; ends %q", len(body), len(want), body[max(0, len(body)-40):])
	}
	if !bytes.HasSuffix(body, []byte(`"999,999":"#0000FF"},"seq":1,"epoch":"fake0epoch"}`)) {
		t.Errorf("ends %q", body[len(body)-40:])
	}
}

func TestGetCanvasRaw(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	h.do("PUT", "/api/pixel", `{"x":1,"y":0,"color":"#102030"}`)
	resp := h.do("GET", "/api/canvas/raw", "", "Origin", "http://localhost:3000")
	if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != "application/octet-stream" {
		t.Fatalf("status %d, type %s", resp.StatusCode(), resp.Header.ContentType())
	}
	for name, want := range map[string]string{HeaderCanvasWidth: "5", HeaderCanvasHeight: "4", HeaderCanvasSeq: "1", HeaderCanvasEpoch: "fake0epoch",
		"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "X-Canvas-Width, X-Canvas-Height, X-Canvas-Seq, X-Canvas-Epoch"} {
		if got := string(resp.Header.Peek(name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	rgb := resp.Body()
	if len(rgb) != 60 || !bytes.Equal(rgb[:6], []byte{0xFF, 0xFF, 0xFF, 0x10, 0x20, 0x30}) || rgb[59] != 0xFF {
		t.Errorf("raw body % x", rgb)
	}
}

func TestCanvasPNG(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	h.do("PUT", "/api/pixels", `{"pixels":[{"x":0,"y":0,"color":"#FF0000"},{"x":4,"y":3,"color":"#0000FF"},{"x":2,"y":1,"color":"#123456"}]}`)
	for _, scale := range []int{1, 3, 16} {
		uri := "/api/canvas.png"
		if scale > 1 {
			uri += "?scale=" + strconv.Itoa(scale)
		}
		resp := h.do("GET", uri, "")
		if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != "image/png" {
			t.Fatalf("%s: %d %s", uri, resp.StatusCode(), resp.Header.ContentType())
		}
		img, err := png.Decode(bytes.NewReader(resp.Body()))
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		if b := img.Bounds(); b.Dx() != 5*scale || b.Dy() != 4*scale {
			t.Fatalf("%s: bounds %v", uri, b)
		}
		want := h.store.canvas.Snapshot()
		for py := 0; py < 4*scale; py++ {
			for px := 0; px < 5*scale; px++ {
				r, g, b, _ := img.At(px, py).RGBA()
				got := domain.ColorFromRGB(byte(r>>8), byte(g>>8), byte(b>>8))
				if w := want.At(px/scale, py/scale); got != w {
					t.Fatalf("%s: image pixel %d,%d = %s, want %s", uri, px, py, got, w)
				}
			}
		}
	}
	for _, q := range []string{"0", "17", "abc", "2.5", "-1", ""} {
		wantError(t, h.do("GET", "/api/canvas.png?scale="+q, ""), 400, msgBadScale)
	}
	big := newHarness(t, domain.Size{Width: 1000, Height: 600}, nil)
	wantError(t, big.do("GET", "/api/canvas.png?scale=9", ""), 400, msgBadScale)
	if resp := big.do("GET", "/api/canvas.png?scale=8", ""); resp.StatusCode() != 200 {
		t.Errorf("8000x4800 export refused: %s", resp.Body())
	} else if cfg, err := png.DecodeConfig(bytes.NewReader(resp.Body())); err != nil || cfg.Width != 8000 || cfg.Height != 4800 {
		t.Errorf("8000x4800 export: %+v %v", cfg, err)
	}
}

func TestReset(t *testing.T) {
	for _, tc := range []struct {
		name    string
		token   string
		headers []string
		status  int
		message string
	}{
		{"disabled", "", []string{"Authorization", "Bearer "}, 403, msgResetOff},
		{"no token", "s3cret", nil, 401, msgUnauthorized},
		{"wrong bearer", "s3cret", []string{"Authorization", "Bearer s3cre"}, 401, msgUnauthorized},
		{"wrong scheme", "s3cret", []string{"Authorization", "Basic s3cret"}, 401, msgUnauthorized},
		{"wrong header", "s3cret", []string{HeaderOperatorToken, "s3cret2"}, 401, msgUnauthorized},
		{"bearer", "s3cret", []string{"Authorization", "Bearer s3cret"}, 200, ""},
		{"bearer lower case", "s3cret", []string{"Authorization", "bearer s3cret"}, 200, ""},
		{"operator header", "s3cret", []string{HeaderOperatorToken, "s3cret"}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, size5x4, func(o *Options) { o.OperatorToken = tc.token })
			h.do("PUT", "/api/pixel", `{"x":1,"y":1,"color":"#000000"}`)
			resp := h.do("POST", "/api/canvas/reset", "", tc.headers...)
			_, resets, _ := h.store.counts()
			if tc.status != 200 {
				wantError(t, resp, tc.status, tc.message)
				if resets != 0 {
					t.Error("refused reset reached the store")
				}
				return
			}
			want := `{"success":true,"message":"Canvas reset to white","seq":2,"timestamp":1795317900123.457}`
			if string(resp.Body()) != want || resets != 1 {
				t.Errorf("reset = %d %s (resets %d), want %s", resp.StatusCode(), resp.Body(), resets, want)
			}
			if c := h.store.canvas.At(1, 1); c != domain.White {
				t.Errorf("pixel after reset %s", c)
			}
		})
	}
}

// TestResetGuessingIsLoggedAndLimited: every failed attempt is logged with
// the client, and after the attempts' burst a client is refused (429)
// whatever token it sends, until its budget refills; another client is not.
func TestResetGuessingIsLoggedAndLimited(t *testing.T) {
	var logs bytes.Buffer
	h := newHarness(t, size5x4, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(&logs, nil))
		o.ResetAttempts = requestsLimit(o, domain.RateRule{PerSecond: 1.0 / 60, Burst: 3})
	})
	for i := range 3 {
		resp := h.doFrom("198.51.100.7", "POST", "/api/canvas/reset", "", "Authorization", "Bearer guess"+strconv.Itoa(i))
		wantError(t, resp, 401, msgUnauthorized)
	}
	if n := strings.Count(logs.String(), "wrong or missing token"); n != 3 || !strings.Contains(logs.String(), "client=198.51.100.7") {
		t.Errorf("%d failed attempts logged, want 3 naming the client:\n%s", n, logs.String())
	}
	resp := h.doFrom("198.51.100.7", "POST", "/api/canvas/reset", "", "Authorization", "Bearer s3cret")
	wantError(t, resp, 429, msgRateLimited)
	if resp.Header.Peek("Retry-After") == nil {
		t.Error("429 without Retry-After")
	}
	if resp := h.doFrom("198.51.100.8", "POST", "/api/canvas/reset", "", "Authorization", "Bearer s3cret"); resp.StatusCode() != 200 {
		t.Errorf("the operator from elsewhere = %d, want 200", resp.StatusCode())
	}
	h.clock.Advance(time.Minute)
	if resp := h.doFrom("198.51.100.7", "POST", "/api/canvas/reset", "", "Authorization", "Bearer s3cret"); resp.StatusCode() != 200 {
		t.Errorf("after a minute = %d, want 200", resp.StatusCode())
	}
}

func TestStoreErrors(t *testing.T) {
	requests := []struct{ method, path, body string }{
		{"GET", "/api/canvas", ""},
		{"GET", "/api/canvas/raw", ""},
		{"GET", "/api/canvas.png", ""},
		{"GET", "/api/pixel/1/1", ""},
		{"PUT", "/api/pixel", `{"x":1,"y":1,"color":"#FFFFFF"}`},
		{"PUT", "/api/pixels", `{"pixels":[{"x":1,"y":1,"color":"#FFFFFF"}]}`},
		{"PUT", "/api/pixels", `{"pixels":[]}`},
		{"POST", "/api/canvas/reset", ""},
	}
	for _, tc := range []struct {
		err     error
		status  int
		message string
	}{
		{fmt.Errorf("redis: dial tcp 10.0.0.7:6379: %w", ports.ErrUnavailable), 503, msgUnavailable},
		{errors.New("WRONGTYPE secret internal detail"), 500, msgInternal},
	} {
		h := newHarness(t, size5x4, nil)
		h.store.fail(tc.err)
		for _, r := range requests {
			resp := h.do(r.method, r.path, r.body, "Authorization", "Bearer s3cret")
			wantError(t, resp, tc.status, tc.message)
			if bytes.Contains(resp.Body(), []byte("10.0.0.7")) || bytes.Contains(resp.Body(), []byte("secret")) {
				t.Errorf("%s %s leaks internals: %s", r.method, r.path, resp.Body())
			}
		}
		if got := counterValue(t, h.metrics.StoreErrors); got != float64(len(requests)) {
			t.Errorf("StoreErrors = %v, want %d", got, len(requests))
		}
	}
}

func TestNotFoundAndMethodNotAllowedAreJSON(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	wantError(t, h.do("GET", "/api/nope", ""), 404, "Not found")
	wantError(t, h.do("GET", "/api/pixel/1", ""), 404, "Not found")
	resp := h.do("DELETE", "/api/pixel", "")
	wantError(t, resp, 405, "Method not allowed")
	if allow := string(resp.Header.Peek("Allow")); !strings.Contains(allow, "PUT") {
		t.Errorf("Allow = %q", allow)
	}
	wantError(t, h.do("POST", "/api/pixel", `{"x":1,"y":1,"color":"#FFFFFF"}`), 405, "Method not allowed")
}

func TestCORS(t *testing.T) {
	preflight := []string{"Origin", "https://a.example", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "content-type"}
	t.Run("any origin", func(t *testing.T) {
		h := newHarness(t, size5x4, nil)
		resp := h.do("OPTIONS", "/api/pixel", "", preflight...)
		if resp.StatusCode() != 204 {
			t.Fatalf("preflight status %d %s", resp.StatusCode(), resp.Body())
		}
		for name, want := range map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, PUT, POST, OPTIONS",
			"Access-Control-Allow-Headers": "Content-Type, Authorization, X-Operator-Token", "Access-Control-Max-Age": "600"} {
			if got := string(resp.Header.Peek(name)); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if resp := h.do("OPTIONS", "/api/canvas/reset", "", preflight...); resp.StatusCode() != 204 {
			t.Errorf("reset preflight %d", resp.StatusCode())
		}
		// Errors carry CORS headers too, or the browser hides their message.
		resp = h.do("PUT", "/api/pixel", `{}`, "Origin", "https://a.example")
		if resp.StatusCode() != 400 || string(resp.Header.Peek("Access-Control-Allow-Origin")) != "*" {
			t.Errorf("error response %d without CORS: %s", resp.StatusCode(), resp.Header.Peek("Access-Control-Allow-Origin"))
		}
	})
	t.Run("listed origins", func(t *testing.T) {
		h := newHarness(t, size5x4, func(o *Options) { o.CORSOrigins = []string{" https://a.example/ ", "http://localhost:3000"} })
		resp := h.do("OPTIONS", "/api/pixels", "", preflight...)
		if resp.StatusCode() != 204 || string(resp.Header.Peek("Access-Control-Allow-Origin")) != "https://a.example" ||
			!strings.Contains(string(resp.Header.Peek("Vary")), "Origin") {
			t.Errorf("allowed preflight: %d %s", resp.StatusCode(), resp.Header.String())
		}
		resp = h.do("OPTIONS", "/api/pixels", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "PUT")
		wantError(t, resp, 403, "Origin not allowed")
		if len(resp.Header.Peek("Access-Control-Allow-Origin")) != 0 {
			t.Error("a refused origin got Access-Control-Allow-Origin")
		}
		resp = h.do("GET", "/api/canvas", "", "Origin", "https://evil.example")
		if resp.StatusCode() != 200 || len(resp.Header.Peek("Access-Control-Allow-Origin")) != 0 {
			t.Errorf("simple request from a refused origin: %d, ACAO %q", resp.StatusCode(), resp.Header.Peek("Access-Control-Allow-Origin"))
		}
		resp = h.do("GET", "/api/canvas", "", "Origin", "http://localhost:3000")
		if string(resp.Header.Peek("Access-Control-Allow-Origin")) != "http://localhost:3000" {
			t.Errorf("listed origin not echoed: %s", resp.Header.String())
		}
	})
	t.Run("not the API", func(t *testing.T) {
		called := false
		handler := CORS(nil, func(ctx *fasthttp.RequestCtx) { called = true })
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("OPTIONS")
		ctx.Request.SetRequestURI("/app.js")
		ctx.Request.Header.Set("Origin", "https://a.example")
		ctx.Request.Header.Set("Access-Control-Request-Method", "GET")
		handler(&ctx)
		if !called || len(ctx.Response.Header.Peek("Access-Control-Allow-Origin")) != 0 {
			t.Error("CORS touched a non-API path")
		}
	})
}

func TestRateLimitPerIP(t *testing.T) {
	h := newHarness(t, size5x4, func(o *Options) { o.Requests = requestsLimit(o, domain.RateRule{PerSecond: 1, Burst: 2}) })
	body := `{"x":1,"y":1,"color":"#FFFFFF"}`
	for i := 0; i < 2; i++ {
		if resp := h.doFrom("10.0.0.1", "PUT", "/api/pixel", body); resp.StatusCode() != 200 {
			t.Fatalf("burst write %d: %d", i, resp.StatusCode())
		}
	}
	resp := h.doFrom("10.0.0.1", "PUT", "/api/pixels", `{"pixels":[]}`)
	wantError(t, resp, 429, msgRateLimited)
	if string(resp.Header.Peek("Retry-After")) != "1" {
		t.Error("429 without Retry-After")
	}
	if resp := h.doFrom("10.0.0.2", "PUT", "/api/pixel", body); resp.StatusCode() != 200 {
		t.Errorf("another IP was limited: %d", resp.StatusCode())
	}
	if resp := h.doFrom("10.0.0.1", "GET", "/api/canvas", ""); resp.StatusCode() != 200 {
		t.Errorf("reads are not limited, got %d", resp.StatusCode())
	}
	h.clock.Advance(time.Second)
	if resp := h.doFrom("10.0.0.1", "PUT", "/api/pixel", body); resp.StatusCode() != 200 {
		t.Errorf("a refilled token was refused: %d", resp.StatusCode())
	}
	if got := counterValue(t, h.metrics.PixelsRejected.WithLabelValues(reasonRateLimited)); got != 1 {
		t.Errorf("PixelsRejected{rate_limited} = %v", got)
	}
	if got := counterValue(t, h.metrics.RateLimited.WithLabelValues("rest")); got != 1 {
		t.Errorf("RateLimited{rest} = %v", got)
	}
}

// TestRateLimitBehindTrustedProxy: behind our ingress every request comes
// from the proxy, so the client is read from X-Forwarded-For, but only when
// a trusted proxy wrote it; anyone else sending the header is limited by
// their own address, however many addresses they claim.
func TestRateLimitBehindTrustedProxy(t *testing.T) {
	h := newHarness(t, size5x4, func(o *Options) {
		o.Requests = requestsLimit(o, domain.RateRule{PerSecond: 1, Burst: 1})
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.42.0.0/16")}
	})
	body := `{"x":1,"y":1,"color":"#FFFFFF"}`
	put := func(peer, xff string) int {
		return h.doFrom(peer, "PUT", "/api/pixel", body, "X-Forwarded-For", xff).StatusCode()
	}
	// Two clients through the same ingress pod get a bucket each.
	if put("10.42.0.7", "203.0.113.5") != 200 || put("10.42.0.7", "203.0.113.6") != 200 {
		t.Fatal("two clients behind the proxy share a bucket")
	}
	if got := put("10.42.0.7", "203.0.113.5"); got != 429 {
		t.Errorf("a client's second write through the proxy = %d, want 429", got)
	}
	// A client forging the header through the proxy: the proxy appends
	// the real address, which is the one that counts.
	if got := put("10.42.0.7", "198.18.0.1, 203.0.113.6"); got != 429 {
		t.Errorf("a forged hop before the real client = %d, want 429", got)
	}
	// Straight from the internet the header is not believed.
	if put("198.51.100.9", "192.0.2.1") != 200 {
		t.Fatal("first direct write refused")
	}
	if got := put("198.51.100.9", "192.0.2.2"); got != 429 {
		t.Errorf("a direct client claiming a new address each time = %d, want 429", got)
	}
}

func TestIPv6ClientsAreLimitedByTheirSlash64(t *testing.T) {
	h := newHarness(t, size5x4, func(o *Options) {
		o.Requests = requestsLimit(o, domain.RateRule{PerSecond: 0.001, Burst: 1})
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	put := func(client string) int {
		return h.doFrom("10.0.0.1", "PUT", "/api/pixel", `{"x":1,"y":1,"color":"#FFFFFF"}`, "X-Forwarded-For", client).StatusCode()
	}
	if put("2001:db8:1:2::1") != 200 {
		t.Fatal("first write refused")
	}
	if got := put("2001:db8:1:2::2"); got != 429 {
		t.Errorf("another address in the same /64 = %d, want 429", got)
	}
	if got := put("2001:db8:1:3::1"); got != 200 {
		t.Errorf("another /64 = %d, want 200", got)
	}
}

// TestBatchesAreCountedInPixels: the shared pixel budget (IP_PIXEL_RATE,
// IP_PIXEL_BURST) charges a batch by its pixels, so 1,000-pixel batches
// buy no more than single writes; before it, only requests were counted
// and one address placed 69,700 pixels a second.
func TestBatchesAreCountedInPixels(t *testing.T) {
	h := newHarness(t, domain.Size{Width: 50, Height: 50}, func(o *Options) {
		o.Placer = place.New(place.Options{Store: o.Store, Metrics: o.Metrics, Log: o.Log,
			Budget: membudget.New(domain.RateRule{PerSecond: 30, Burst: 100}, o.Clock)})
	})
	batch := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"pixels":[`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"x":%d,"y":%d,"color":"#112233"}`, i%50, i/50)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	if resp := h.doFrom("192.0.2.1", "PUT", "/api/pixels", batch(100)); resp.StatusCode() != 200 {
		t.Fatalf("a batch within the budget: %d %s", resp.StatusCode(), resp.Body())
	}
	resp := h.doFrom("192.0.2.1", "PUT", "/api/pixels", batch(100))
	wantError(t, resp, 429, msgRateLimited)
	if got := string(resp.Header.Peek("Retry-After")); got != "4" {
		t.Errorf("Retry-After %q, want 4 (100 pixels at 30/s, rounded up)", got)
	}
	resp = h.doFrom("192.0.2.2", "PUT", "/api/pixels", batch(1000))
	wantError(t, resp, 413, msgOverBudget)
	if resp := h.doFrom("192.0.2.2", "PUT", "/api/pixel", `{"x":1,"y":1,"color":"#FFFFFF"}`); resp.StatusCode() != 200 {
		t.Errorf("another client, or a refused batch was charged: %d", resp.StatusCode())
	}
	h.clock.Advance(4 * time.Second)
	if resp := h.doFrom("192.0.2.1", "PUT", "/api/pixels", batch(100)); resp.StatusCode() != 200 {
		t.Errorf("the budget refilled at the rate: %d %s", resp.StatusCode(), resp.Body())
	}
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	if len(h.store.written) != 201 {
		t.Errorf("%d pixels reached the store, want 201", len(h.store.written))
	}
}
