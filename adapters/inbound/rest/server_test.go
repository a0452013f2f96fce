package rest

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/pixelplayground/pixelplayground/domain"
)

// TestOverRealServer runs the API in a fasthttp.Server on an in-memory
// listener with a real client, as the apps serve it.
func TestOverRealServer(t *testing.T) {
	h := newHarness(t, domain.Size{Width: 800, Height: 700}, nil) // streamed: above streamCanvasAbove
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h.handler, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxRequestBodySize: MaxBodyBytes}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	call := func(method, uri, body string) *fasthttp.Response {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
		defer fasthttp.ReleaseRequest(req)
		req.Header.SetMethod(method)
		req.SetRequestURI("http://api" + uri)
		req.SetBodyString(body)
		if err := client.DoTimeout(req, resp, 10*time.Second); err != nil {
			t.Fatalf("%s %s: %v", method, uri, err)
		}
		return resp
	}

	if resp := call("PUT", "/api/pixel", `{"x":799,"y":699,"color":"#0a0b0c"}`); resp.StatusCode() != 200 {
		t.Fatalf("put: %d %s", resp.StatusCode(), resp.Body())
	}
	resp := call("GET", "/api/canvas", "")
	var canvas struct {
		Width, Height int
		Pixels        map[string]string
		Seq           uint64
	}
	if err := json.Unmarshal(resp.Body(), &canvas); err != nil {
		t.Fatal(err)
	}
	if len(canvas.Pixels) != 800*700 || canvas.Pixels["799,699"] != "#0A0B0C" || canvas.Seq != 1 {
		t.Errorf("canvas: %d pixels, last %q, seq %d", len(canvas.Pixels), canvas.Pixels["799,699"], canvas.Seq)
	}
	if resp := call("GET", "/api/canvas/raw", ""); len(resp.Body()) != 3*800*700 || string(resp.Header.Peek(HeaderCanvasSeq)) != "1" {
		t.Errorf("raw: %d bytes, seq %q", len(resp.Body()), resp.Header.Peek(HeaderCanvasSeq))
	}
	if resp := call("GET", "/nowhere", ""); resp.StatusCode() != 404 || string(resp.Body()) != `{"error":"Not found"}` {
		t.Errorf("404: %d %s", resp.StatusCode(), resp.Body())
	}
}

// FuzzPutPixel feeds arbitrary bodies to both write endpoints: no panic,
// no 5xx, every answer JSON, and only 200s write.
func FuzzPutPixel(f *testing.F) {
	for _, seed := range []string{
		`{"x":1,"y":2,"color":"#ff0000"}`, `{"x":2.5,"y":1,"color":"#FF0000"}`, `{"x":"abc"}`, `[]`, `null`, ``,
		`{"pixels":[{"x":1,"y":1,"color":"#FFFFFF"}]}`, `{"pixels":[1,{"x":-0,"y":1e0,"color":"#aaaaaa","id":"x"}]}`,
		`{"x":1e-400,"y":0,"color":"#000000","username":"\u0000\u202e"}`, "{\"x\":1,\"y\":1,\"color\":\"#FFFFFF\",\"username\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	h := newHarness(f, size5x4, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/api/pixel", "/api/pixels"} {
			_, _, before := h.store.counts()
			resp := h.do("PUT", path, string(body))
			status := resp.StatusCode()
			if status >= 500 {
				t.Fatalf("%s %q: %d %s", path, body, status, resp.Body())
			}
			if !json.Valid(resp.Body()) {
				t.Fatalf("%s %q: body not JSON: %s", path, body, resp.Body())
			}
			if _, _, after := h.store.counts(); status != 200 && after != before {
				t.Fatalf("%s %q: refused with %d but wrote", path, body, status)
			}
		}
	})
}
