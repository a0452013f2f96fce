package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

// TestCanvasesEndToEnd: the real playground creates a canvas over REST,
// takes and serves its pixels, lists it, keeps a private one hidden, and
// keeps all of it over a SIGKILL; the main canvas, over REST and the
// WebSocket, sees nothing of it.
func TestCanvasesEndToEnd(t *testing.T) {
	bin := testbin.Build(t, "./apps/playground")
	data := t.TempDir()
	env := []string{"DATA_DIR=" + data, "CANVASES_PER_IP_PER_DAY=3", "MAX_CANVAS_SIDE=100"}
	p := testbin.Start(t, bin, env...)
	a, _ := dial(t, p.WS("/ws"))

	c := testbin.ExpectJSON(t, 201, "POST", p.URL("/api/canvases"), `{"name":"Night Sky","width":64,"height":32,"private":false}`)
	if c["slug"] != "night-sky" || c["width"] != 64.0 || c["height"] != 32.0 || c["creatorKey"] == nil || c["invite"] != nil {
		t.Fatalf("created %v", c)
	}
	base := p.URL("/api/canvases/night-sky")
	if m := testbin.ExpectJSON(t, 200, "PUT", base+"/pixel", `{"x":63,"y":31,"color":"#112233"}`); m["seq"] != 1.0 {
		t.Fatalf("PUT pixel %v", m)
	}
	if m := testbin.ExpectJSON(t, 200, "PUT", base+"/pixels", `{"pixels":[{"x":0,"y":0,"color":"#445566"},{"x":1,"y":0,"color":"#778899"}]}`); m["seq"] != 3.0 {
		t.Fatalf("PUT pixels %v", m)
	}
	if m := testbin.ExpectJSON(t, 200, "GET", base+"/pixel/63/31", ""); m["color"] != "#112233" || m["seq"] != 1.0 {
		t.Fatalf("GET pixel %v", m)
	}
	var snap canvas
	getJSON(t, base+"/canvas", &snap)
	if snap.Width != 64 || snap.Height != 32 || snap.Seq != 3 || snap.Pixels["1,0"] != "#778899" {
		t.Fatalf("canvas: %dx%d seq %d", snap.Width, snap.Height, snap.Seq)
	}

	// Private: hidden without its invite.
	s := testbin.ExpectJSON(t, 201, "POST", p.URL("/api/canvases"), `{"name":"Hidden","width":8,"height":8,"private":true}`)
	invite, _ := s["invite"].(string)
	testbin.ExpectJSON(t, 404, "GET", p.URL("/api/canvases/hidden/canvas"), "")
	testbin.ExpectJSON(t, 404, "PUT", p.URL("/api/canvases/hidden/pixel"), `{"x":1,"y":1,"color":"#000000"}`)
	testbin.ExpectJSON(t, 200, "PUT", p.URL("/api/canvases/hidden/pixel?invite="+invite), `{"x":1,"y":1,"color":"#000000"}`)

	list := testbin.ExpectJSON(t, 200, "GET", p.URL("/api/canvases"), "")
	items, _ := list["canvases"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["slug"] != "night-sky" || items[0].(map[string]any)["online"] != 0.0 {
		t.Fatalf("list %v", list)
	}
	testbin.ExpectJSON(t, 400, "POST", p.URL("/api/canvases"), `{"name":"Too big","width":101,"height":8}`)
	// CANVASES_PER_IP_PER_DAY=3 (a refused body costs nothing): a third,
	// not a fourth. (The embedded budget is in memory: a restart forgets it.)
	testbin.ExpectJSON(t, 201, "POST", p.URL("/api/canvases"), `{"name":"Third"}`)
	if code, m := testbin.CallJSON(t, "POST", p.URL("/api/canvases"), `{"name":"Fourth"}`); code != 429 || m["error"] == nil {
		t.Fatalf("fourth canvas of the day: %d %v", code, m)
	}

	// Main: untouched by the canvases, over REST and the WebSocket.
	var main canvas
	getJSON(t, p.URL("/api/canvas"), &main)
	if main.Seq != 0 || main.Width != 50 {
		t.Fatalf("main after the canvases' writes: %dx%d seq %d", main.Width, main.Height, main.Seq)
	}
	putPixel(t, p, `{"x":2,"y":2,"color":"#abcdef"}`)
	if m := readType(t, a, "pixel_updated"); m["seq"] != 1.0 || m["x"] != 2.0 {
		t.Fatalf("the main canvas's client got %v first: another canvas's event?", m)
	}

	// Where it is kept: the directory apart from the canvases' data.
	for _, f := range []string{"directory/night-sky/meta.json", "canvases/night-sky", "canvases/hidden"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}

	// Durable: a SIGKILL loses no canvas and no acknowledged pixel.
	p.Kill()
	p = testbin.StartOnPort(t, bin, p.Port, env...)
	getJSON(t, base+"/canvas", &snap)
	if snap.Seq != 3 || snap.Pixels["63,31"] != "#112233" || snap.Pixels["0,0"] != "#445566" {
		t.Fatalf("canvas after SIGKILL: seq %d, %v %v", snap.Seq, snap.Pixels["63,31"], snap.Pixels["0,0"])
	}
	testbin.ExpectJSON(t, 200, "GET", p.URL("/api/canvases/hidden/pixel/1/1"), "", "X-Canvas-Invite", invite)
	getJSON(t, p.URL("/api/canvas"), &main)
	if main.Seq != 1 || main.Pixels["2,2"] != "#ABCDEF" {
		t.Fatalf("main after SIGKILL: seq %d", main.Seq)
	}

}
