package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/canvasdir"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membudget"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// canvasHarness is the harness with a directory of canvases (the embedded
// one, in a temporary folder) and their stores (embedded, in memory); the
// main canvas is the fake store, 5×4.
type canvasHarness struct {
	*harness
	dir    ports.Canvases
	stores *logstore.Stores
}

func newCanvasHarness(t *testing.T, mutate func(*Options)) *canvasHarness {
	t.Helper()
	clock := &fakeClock{t: testEpoch}
	dir, err := canvasdir.Open(canvasdir.Options{Dir: t.TempDir(), Clock: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	stores, err := logstore.NewStores(logstore.StoresOptions{Options: logstore.Options{Bus: membus.New(), Clock: clock, Logger: slog.New(slog.DiscardHandler)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stores.Close() })
	ch := &canvasHarness{dir: dir, stores: stores}
	ch.harness = newHarness(t, size5x4, func(o *Options) {
		o.Clock = clock
		o.Canvases, o.Stores = ch.dir, stores
		o.Rules = domain.CanvasRules{MaxSide: 64, ServerPixelRate: domain.RateRule{PerSecond: 20, Burst: 40}}
		if mutate != nil {
			mutate(o)
		}
		ch.dir = o.Canvases
	})
	ch.clock = clock
	return ch
}

// create makes a canvas over the API and returns its answer.
func (h *canvasHarness) create(body string) canvasJSON {
	h.t.Helper()
	resp := h.do("POST", "/api/canvases", body)
	if resp.StatusCode() != 201 {
		h.t.Fatalf("POST /api/canvases %s: %d %s", body, resp.StatusCode(), resp.Body())
	}
	var c canvasJSON
	if err := json.Unmarshal(resp.Body(), &c); err != nil {
		h.t.Fatal(err)
	}
	return c
}

func wantStatus(t *testing.T, resp *fasthttp.Response, status int) {
	t.Helper()
	if resp.StatusCode() != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode(), status, resp.Body())
	}
}

func TestCreateCanvasShape(t *testing.T) {
	h := newCanvasHarness(t, nil)
	resp := h.do("POST", "/api/canvases", `{"name":"  Pixel Art!  ","width":8,"height":6,"private":false}`)
	wantStatus(t, resp, 201)
	m := decode(t, resp)
	for field, want := range map[string]any{"slug": "pixel-art", "name": "Pixel Art!", "width": json.Number("8"), "height": json.Number("6"),
		"private": false, "online": json.Number("0"), "archived": false, "url": "/c/pixel-art",
		"created": json.Number(fmt.Sprint(testEpoch.UnixMilli())), "lastActivity": json.Number(fmt.Sprint(testEpoch.UnixMilli()))} {
		if m[field] != want {
			t.Errorf("%s = %#v, want %#v", field, m[field], want)
		}
	}
	if key, _ := m["creatorKey"].(string); len(key) != 22 {
		t.Errorf("creatorKey %q, want a 22-character token", key)
	}
	if _, ok := m["invite"]; ok {
		t.Errorf("a public canvas got an invite: %s", resp.Body())
	}
	if _, ok := m["pixelRate"]; ok {
		t.Errorf("a canvas without a rate of its own shows one: %s", resp.Body())
	}
	if got := string(resp.Header.Peek("Location")); got != "/api/canvases/pixel-art" {
		t.Errorf("Location %q", got)
	}

	// Private, with a rate of its own; the same name gets the next slug.
	c := h.create(`{"name":"Pixel Art","width":3,"height":2,"private":true,"pixelRate":{"perSecond":2.5,"burst":5}}`)
	if c.Slug != "pixel-art-2" || !c.Private || len(c.Invite) != 22 || c.CreatorKey == "" || c.CreatorKey == c.Invite ||
		c.PixelRate == nil || *c.PixelRate != (rateJSON{2.5, 5}) || c.URL != "/c/pixel-art-2?invite="+c.Invite {
		t.Errorf("private canvas %+v", c)
	}
	// Size left out: 256×256 capped by MAX_CANVAS_SIDE (64 here).
	if c := h.create(`{"name":"Default"}`); c.Width != 64 || c.Height != 64 {
		t.Errorf("default size %dx%d, want 64x64", c.Width, c.Height)
	}
}

func TestCreateCanvasRefusals(t *testing.T) {
	h := newCanvasHarness(t, nil)
	sizeMsg := "Invalid canvas size: width and height each a whole number from 1 to 64 (both left out: 64×64)"
	rateMsg := "Invalid pixel rate: perSecond above 0 and at most 20, burst from 1 to 40"
	for _, tc := range []struct{ name, body, message string }{
		{"not JSON", `{"name":`, msgBadFormat},
		{"trailing data", `{"name":"a"} {}`, msgBadFormat},
		{"array", `["a"]`, msgBadFormat},
		{"no name", `{"width":8,"height":8}`, msgBadName},
		{"name not a string", `{"name":5}`, msgBadName},
		{"empty name", `{"name":"   "}`, msgBadName},
		{"invisible name", `{"name":"\u200b\u202e"}`, msgBadName},
		{"long name", `{"name":"` + strings.Repeat("x", 41) + `"}`, msgBadName},
		{"one side only", `{"name":"a","width":8}`, sizeMsg},
		{"too wide", `{"name":"a","width":65,"height":8}`, sizeMsg},
		{"negative", `{"name":"a","width":-1,"height":8}`, sizeMsg},
		{"fraction", `{"name":"a","width":2.5,"height":8}`, msgBadFormat},
		{"string size", `{"name":"a","width":"8","height":8}`, msgBadFormat},
		{"private not a bool", `{"name":"a","private":"yes"}`, msgBadFormat},
		{"rate above the server's", `{"name":"a","pixelRate":{"perSecond":21,"burst":4}}`, rateMsg},
		{"burst above the server's", `{"name":"a","pixelRate":{"perSecond":2,"burst":41}}`, rateMsg},
		{"empty rate", `{"name":"a","pixelRate":{}}`, rateMsg},
		{"zero burst", `{"name":"a","pixelRate":{"perSecond":1,"burst":0}}`, rateMsg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, h.do("POST", "/api/canvases", tc.body), 400, tc.message)
		})
	}
	if list, err := h.dir.List(context.Background(), ports.ListQuery{}); err != nil || len(list) != 0 {
		t.Fatalf("refused creations made canvases: %v %v", list, err)
	}
}

func TestCreationLimits(t *testing.T) {
	t.Run("per client address", func(t *testing.T) {
		h := newCanvasHarness(t, func(o *Options) {
			o.Creations = membudget.New(domain.RateRule{PerSecond: 2.0 / 86400, Burst: 2}, o.Clock)
		})
		h.create(`{"name":"one"}`)
		// A refused body costs nothing of the budget.
		wantStatus(t, h.do("POST", "/api/canvases", `{"name":""}`), 400)
		h.create(`{"name":"two"}`)
		resp := h.do("POST", "/api/canvases", `{"name":"three"}`)
		wantError(t, resp, 429, msgCreationLimit)
		if got := string(resp.Header.Peek("Retry-After")); got != "43200" {
			t.Errorf("Retry-After %q, want 43200 (half a day for one more of 2 a day)", got)
		}
		if resp := h.doFrom("192.0.2.7", "POST", "/api/canvases", `{"name":"three"}`); resp.StatusCode() != 201 {
			t.Errorf("another address: %d %s", resp.StatusCode(), resp.Body())
		}
	})
	t.Run("in total", func(t *testing.T) {
		h := newCanvasHarness(t, func(o *Options) { o.MaxCanvases = 2 })
		h.create(`{"name":"one"}`)
		c := h.create(`{"name":"two"}`)
		wantStatus(t, h.do("DELETE", "/api/canvases/"+c.Slug, "", HeaderCreatorKey, c.CreatorKey), 200)
		resp := h.doFrom("192.0.2.8", "POST", "/api/canvases", `{"name":"three"}`)
		wantError(t, resp, 429, msgTooManyCanvases) // archived canvases still count
		if got := string(resp.Header.Peek("Retry-After")); got != retryFullSeconds {
			t.Errorf("Retry-After %q", got)
		}
	})
}

func TestListCanvases(t *testing.T) {
	h := newCanvasHarness(t, nil)
	resp := h.do("GET", "/api/canvases", "")
	wantStatus(t, resp, 200)
	if string(resp.Body()) != `{"canvases":[]}` {
		t.Fatalf("empty list %s", resp.Body())
	}
	h.create(`{"name":"Sunset","width":4,"height":4}`)
	h.clock.Advance(2 * ports.TouchWindow)
	h.create(`{"name":"Secret garden","private":true}`)
	old := h.create(`{"name":"Old sunrise","width":2,"height":3}`)
	h.clock.Advance(2 * ports.TouchWindow)
	wantStatus(t, h.do("DELETE", "/api/canvases/"+h.create(`{"name":"Gone sun"}`).Slug, "", "X-Operator-Token", "s3cret"), 200)
	// A write makes Sunset the most recently active.
	wantStatus(t, h.do("PUT", "/api/canvases/sunset/pixel", `{"x":1,"y":1,"color":"#123456"}`), 200)

	var got struct{ Canvases []map[string]any }
	if err := json.Unmarshal(h.do("GET", "/api/canvases", "").Body(), &got); err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, c := range got.Canvases {
		slugs = append(slugs, c["slug"].(string))
		for _, f := range []string{"slug", "name", "width", "height", "online", "lastActivity", "private", "archived"} {
			if _, ok := c[f]; !ok {
				t.Errorf("%s has no %s", c["slug"], f)
			}
		}
		if _, ok := c["creatorKey"]; ok {
			t.Errorf("the list shows a creator key")
		}
	}
	if strings.Join(slugs, " ") != "sunset old-sunrise" {
		t.Fatalf("list %v, want sunset (latest write) then old-sunrise; never the private or archived one", slugs)
	}
	if got.Canvases[1]["lastActivity"] != float64(testEpoch.Add(2*ports.TouchWindow).UnixMilli()) || got.Canvases[1]["width"] != float64(2) {
		t.Errorf("old-sunrise %v (created %s)", got.Canvases[1], old.Slug)
	}

	if err := json.Unmarshal(h.do("GET", "/api/canvases?q=SUN&limit=1", "").Body(), &got); err != nil || len(got.Canvases) != 1 || got.Canvases[0]["slug"] != "sunset" {
		t.Errorf("?q=SUN&limit=1: %v %v", got.Canvases, err)
	}
	if err := json.Unmarshal(h.do("GET", "/api/canvases?q=rise", "").Body(), &got); err != nil || len(got.Canvases) != 1 || got.Canvases[0]["slug"] != "old-sunrise" {
		t.Errorf("?q=rise: %v %v", got.Canvases, err)
	}
	if err := json.Unmarshal(h.do("GET", "/api/canvases?q=garden", "").Body(), &got); err != nil || len(got.Canvases) != 0 {
		t.Errorf("a search finds a private canvas: %v %v", got.Canvases, err)
	}
	wantError(t, h.do("GET", "/api/canvases?limit=many", ""), 400, msgBadQuery)
	wantError(t, h.do("GET", "/api/canvases?q="+strings.Repeat("a", 101), ""), 400, msgBadQuery)
}

func TestPerCanvasEndpoints(t *testing.T) {
	h := newCanvasHarness(t, nil)
	c := h.create(`{"name":"Art","width":8,"height":6}`)
	base := "/api/canvases/" + c.Slug

	// (7,5) is on this 8×6 canvas and off the 5×4 main one.
	resp := h.do("PUT", base+"/pixel", `{"x":7,"y":5,"color":"#ff0000","username":"ann","id":"w1"}`)
	wantStatus(t, resp, 200)
	if want := `{"success":true,"x":7,"y":5,"color":"#FF0000","timestamp":1795317900123.456,"seq":1,"id":"w1"}`; string(resp.Body()) != want {
		t.Errorf("PUT pixel %s\nwant %s", resp.Body(), want)
	}
	wantError(t, h.do("PUT", "/api/pixel", `{"x":7,"y":5,"color":"#ff0000"}`), 400, msgOutOfBounds)
	wantError(t, h.do("PUT", base+"/pixel", `{"x":8,"y":5,"color":"#ff0000"}`), 400, msgOutOfBounds)

	resp = h.do("PUT", base+"/pixels", `{"pixels":[{"x":0,"y":0,"color":"#00ff00"},{"x":1,"y":0,"color":"#0000ff"}],"username":"bob"}`)
	wantStatus(t, resp, 200)
	if m := decode(t, resp); m["updated"] != json.Number("2") || m["seq"] != json.Number("3") {
		t.Errorf("PUT pixels %s", resp.Body())
	}
	wantError(t, h.do("PUT", base+"/pixels", `{"pixels":[{"x":0,"y":0,"color":"#00ff00"},{"x":9,"y":0,"color":"#0000ff"}]}`), 400,
		"Invalid pixel at index 1: "+msgOutOfBounds)

	resp = h.do("GET", base+"/pixel/7/5", "")
	wantStatus(t, resp, 200)
	if m := decode(t, resp); m["color"] != "#FF0000" || m["username"] != "ann" || m["seq"] != json.Number("1") {
		t.Errorf("GET pixel %s", resp.Body())
	}
	wantError(t, h.do("GET", base+"/pixel/8/0", ""), 400, msgOutOfBounds)

	resp = h.do("GET", base+"/canvas", "")
	wantStatus(t, resp, 200)
	var snap canvasBody
	if err := json.Unmarshal(resp.Body(), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Width != 8 || snap.Height != 6 || snap.Seq != 3 || len(snap.Pixels) != 48 ||
		snap.Pixels["7,5"] != "#FF0000" || snap.Pixels["1,0"] != "#0000FF" || snap.Pixels["2,2"] != "#FFFFFF" {
		t.Errorf("GET canvas: %dx%d seq %d, %d pixels", snap.Width, snap.Height, snap.Seq, len(snap.Pixels))
	}

	resp = h.do("GET", base+"/canvas/raw", "")
	wantStatus(t, resp, 200)
	if len(resp.Body()) != 3*48 || string(resp.Header.Peek(HeaderCanvasWidth)) != "8" || string(resp.Header.Peek(HeaderCanvasSeq)) != "3" ||
		!bytes.Equal(resp.Body()[3*47:], []byte{0xFF, 0, 0}) {
		t.Errorf("raw: %d bytes, headers %s", len(resp.Body()), resp.Header.String())
	}

	resp = h.do("GET", base+"/canvas.png?scale=2", "")
	wantStatus(t, resp, 200)
	img, err := png.Decode(bytes.NewReader(resp.Body()))
	if err != nil || img.Bounds().Dx() != 16 || img.Bounds().Dy() != 12 {
		t.Fatalf("PNG: %v %v", err, img)
	}
	if r, g, b, _ := img.At(15, 11).RGBA(); r>>8 != 0xFF || g != 0 || b != 0 {
		t.Errorf("PNG corner %d %d %d", r, g, b)
	}

	// Main saw nothing of it, and its writes stay on main.
	if places, _, _ := h.store.counts(); places != 0 {
		t.Fatalf("a canvas's writes reached main's store")
	}
	wantStatus(t, h.do("PUT", "/api/pixel", `{"x":0,"y":0,"color":"#abcdef"}`), 200)
	if m := decode(t, h.do("GET", base+"/pixel/0/0", "")); m["color"] != "#00FF00" {
		t.Errorf("main's write showed on the canvas: %v", m)
	}
	// /api/canvases/main/ is the main canvas too.
	if m := decode(t, h.do("GET", "/api/canvases/main/pixel/0/0", "")); m["color"] != "#ABCDEF" {
		t.Errorf("main through /api/canvases/main: %v", m)
	}
	if m := decode(t, h.do("GET", "/api/canvases/main", "")); m["slug"] != "main" || m["width"] != json.Number("5") || m["url"] != "/" {
		t.Errorf("GET /api/canvases/main: %v", m)
	}
	if got := counterValue(t, h.metrics.HTTPRequests.WithLabelValues("PUT /api/canvases/{slug}/pixel", "2xx")); got != 1 {
		t.Errorf("HTTPRequests{PUT /api/canvases/{slug}/pixel,2xx} = %v, want 1", got)
	}
}

// canvasBody is GET .../canvas.
type canvasBody struct {
	Width, Height int
	Seq           uint64
	Pixels        map[string]string
}

func TestUnknownCanvas(t *testing.T) {
	h := newCanvasHarness(t, nil)
	for _, path := range []string{"/api/canvases/nope", "/api/canvases/nope/canvas", "/api/canvases/nope/canvas/raw",
		"/api/canvases/nope/canvas.png", "/api/canvases/nope/pixel/0/0", "/api/canvases/Not-A-Slug/canvas", "/api/canvases/api"} {
		wantError(t, h.do("GET", path, ""), 404, msgNoCanvas)
	}
	wantError(t, h.do("PUT", "/api/canvases/nope/pixel", `{"x":0,"y":0,"color":"#000000"}`), 404, msgNoCanvas)
	wantError(t, h.do("PUT", "/api/canvases/nope/pixels", `{"pixels":[]}`), 404, msgNoCanvas)
	wantError(t, h.do("PATCH", "/api/canvases/nope", `{"name":"x"}`, "X-Operator-Token", "s3cret"), 404, msgNoCanvas)
	wantError(t, h.do("DELETE", "/api/canvases/nope", "", "X-Operator-Token", "s3cret"), 404, msgNoCanvas)
	wantError(t, h.do("POST", "/api/canvases/nope/invite", "", "X-Operator-Token", "s3cret"), 404, msgNoCanvas)
	for _, m := range []string{"PATCH", "DELETE"} {
		wantError(t, h.do(m, "/api/canvases/main", `{}`, "X-Operator-Token", "s3cret"), 403, msgMainFixed)
	}
	wantError(t, h.do("POST", "/api/canvases/main/invite", "", "X-Operator-Token", "s3cret"), 403, msgMainFixed)
}

func TestPrivateCanvas(t *testing.T) {
	h := newCanvasHarness(t, nil)
	c := h.create(`{"name":"Secret","width":4,"height":4,"private":true}`)
	base := "/api/canvases/" + c.Slug
	unknown := h.do("GET", "/api/canvases/nothing-here/canvas", "")

	// Without its invite, a private canvas is exactly an unknown one.
	for _, tc := range []struct{ method, path, body string }{
		{"GET", base, ""}, {"GET", base + "/canvas", ""}, {"GET", base + "/canvas/raw", ""}, {"GET", base + "/canvas.png", ""},
		{"GET", base + "/pixel/1/1", ""}, {"PUT", base + "/pixel", `{"x":1,"y":1,"color":"#000000"}`},
		{"PUT", base + "/pixels", `{"pixels":[{"x":1,"y":1,"color":"#000000"}]}`},
		{"GET", base + "/canvas?invite=wrong", ""}, {"GET", base + "/canvas?invite=" + c.CreatorKey, ""},
	} {
		resp := h.do(tc.method, tc.path, tc.body)
		if resp.StatusCode() != 404 || !bytes.Equal(resp.Body(), unknown.Body()) {
			t.Errorf("%s %s without the invite: %d %s, want the unknown canvas's 404 %s", tc.method, tc.path, resp.StatusCode(), resp.Body(), unknown.Body())
		}
	}
	for _, m := range []string{"PATCH", "DELETE"} {
		wantError(t, h.do(m, base, `{}`, HeaderCreatorKey, "wrong"), 404, msgNoCanvas)
	}
	if m := decode(t, h.do("GET", base+"/pixel/1/1", "", HeaderCanvasInvite, c.Invite)); m["seq"] != nil {
		t.Fatalf("a write without the invite landed: %v", m)
	}

	// With it (query or header), everything works; the creator key reads too.
	wantStatus(t, h.do("PUT", base+"/pixel?invite="+c.Invite, `{"x":1,"y":1,"color":"#000000"}`), 200)
	wantStatus(t, h.do("GET", base+"/canvas", "", HeaderCanvasInvite, c.Invite), 200)
	wantStatus(t, h.do("GET", base+"/canvas.png?invite="+c.Invite, ""), 200)
	if m := decode(t, h.do("GET", base, "", HeaderCreatorKey, c.CreatorKey)); m["private"] != true || m["invite"] != nil || m["creatorKey"] != nil {
		t.Errorf("GET with the creator key: %v", m)
	}

	// Never listed, not even searched for.
	for _, path := range []string{"/api/canvases", "/api/canvases?q=secret"} {
		if body := string(h.do("GET", path, "").Body()); body != `{"canvases":[]}` {
			t.Errorf("%s lists it: %s", path, body)
		}
	}

	// A new invite: the old one stops working at once.
	wantError(t, h.do("POST", base+"/invite", "", HeaderCreatorKey, "wrong"), 404, msgNoCanvas)
	resp := h.do("POST", base+"/invite", "", HeaderCreatorKey, c.CreatorKey)
	wantStatus(t, resp, 200)
	m := decode(t, resp)
	fresh, _ := m["invite"].(string)
	if len(fresh) != 22 || fresh == c.Invite || m["url"] != "/c/"+c.Slug+"?invite="+fresh || m["slug"] != c.Slug {
		t.Fatalf("new invite %s", resp.Body())
	}
	wantError(t, h.do("GET", base+"/canvas?invite="+c.Invite, ""), 404, msgNoCanvas)
	wantError(t, h.do("PUT", base+"/pixel", `{"x":2,"y":1,"color":"#000000"}`, HeaderCanvasInvite, c.Invite), 404, msgNoCanvas)
	wantStatus(t, h.do("GET", base+"/pixel/1/1?invite="+fresh, ""), 200)

	// Made public, it needs none and has none; made private again, a new one.
	resp = h.do("PATCH", base, `{"private":false}`, HeaderCreatorKey, c.CreatorKey)
	wantStatus(t, resp, 200)
	wantStatus(t, h.do("GET", base+"/canvas", ""), 200)
	wantError(t, h.do("POST", base+"/invite", "", HeaderCreatorKey, c.CreatorKey), 409, msgPublicNoInvite)
	resp = h.do("PATCH", base, `{"private":true}`, HeaderCreatorKey, c.CreatorKey)
	wantStatus(t, resp, 200)
	again, _ := decode(t, resp)["invite"].(string)
	if len(again) != 22 || again == fresh {
		t.Fatalf("made private: %s", resp.Body())
	}
	wantError(t, h.do("GET", base+"/canvas?invite="+fresh, ""), 404, msgNoCanvas)
	wantStatus(t, h.do("GET", base+"/canvas?invite="+again, ""), 200)
}

func TestManageCanvas(t *testing.T) {
	h := newCanvasHarness(t, nil)
	c := h.create(`{"name":"Mine","width":4,"height":4}`)
	base := "/api/canvases/" + c.Slug

	wantError(t, h.do("PATCH", base, `{"name":"Theirs"}`), 403, msgNotCreator)
	wantError(t, h.do("PATCH", base, `{"name":"Theirs"}`, HeaderCreatorKey, "wrong"), 403, msgNotCreator)
	wantError(t, h.do("PATCH", base, `{"name":"Theirs"}`, "X-Operator-Token", "wrong"), 403, msgNotCreator)
	wantError(t, h.do("PATCH", base, `{"name":""}`, HeaderCreatorKey, c.CreatorKey), 400, msgBadName)
	wantError(t, h.do("PATCH", base, `{"width":8}`, HeaderCreatorKey, c.CreatorKey), 400, msgSizeFixed)
	wantError(t, h.do("PATCH", base, `{"pixelRate":{"perSecond":100,"burst":1}}`, HeaderCreatorKey, c.CreatorKey), 400,
		"Invalid pixel rate: perSecond above 0 and at most 20, burst from 1 to 40")
	wantError(t, h.do("PATCH", base, `nope`, HeaderCreatorKey, c.CreatorKey), 400, msgBadFormat)

	resp := h.do("PATCH", base, `{"name":" Ours ","pixelRate":{"perSecond":1,"burst":2}}`, HeaderCreatorKey, c.CreatorKey)
	wantStatus(t, resp, 200)
	if m := decode(t, resp); m["name"] != "Ours" || m["slug"] != c.Slug || fmt.Sprint(m["pixelRate"]) != "map[burst:2 perSecond:1]" {
		t.Errorf("PATCH: %s", resp.Body())
	}
	resp = h.do("PATCH", base, `{"pixelRate":null}`, "Authorization", "Bearer s3cret")
	wantStatus(t, resp, 200)
	if m := decode(t, resp); m["pixelRate"] != nil || m["name"] != "Ours" {
		t.Errorf("PATCH by the operator, rate back to the server's: %s", resp.Body())
	}

	// Reset: the creator's or the operator's.
	wantStatus(t, h.do("PUT", base+"/pixel", `{"x":1,"y":1,"color":"#000000"}`), 200)
	wantError(t, h.do("POST", base+"/canvas/reset", ""), 403, msgNotCreator)
	resp = h.do("POST", base+"/canvas/reset", "", HeaderCreatorKey, c.CreatorKey)
	wantStatus(t, resp, 200)
	if m := decode(t, resp); m["seq"] != json.Number("2") {
		t.Errorf("reset %s", resp.Body())
	}
	if _, resets, _ := h.store.counts(); resets != 0 {
		t.Fatal("a canvas's reset reset main")
	}

	// DELETE archives: readable, not writable, settings fixed.
	wantError(t, h.do("DELETE", base, ""), 403, msgNotCreator)
	resp = h.do("DELETE", base, "", HeaderCreatorKey, c.CreatorKey)
	wantStatus(t, resp, 200)
	if m := decode(t, resp); m["archived"] != true || m["slug"] != c.Slug {
		t.Errorf("DELETE: %s", resp.Body())
	}
	wantStatus(t, h.do("DELETE", base, "", HeaderCreatorKey, c.CreatorKey), 200) // idempotent
	wantError(t, h.do("PUT", base+"/pixel", `{"x":1,"y":1,"color":"#000000"}`), 409, msgArchivedWrites)
	wantError(t, h.do("PUT", base+"/pixels", `{"pixels":[{"x":1,"y":1,"color":"#000000"}]}`), 409, msgArchivedWrites)
	wantError(t, h.do("POST", base+"/canvas/reset", "", HeaderCreatorKey, c.CreatorKey), 409, msgArchivedWrites)
	wantError(t, h.do("PATCH", base, `{"name":"Again"}`, HeaderCreatorKey, c.CreatorKey), 409, msgArchived)
	wantStatus(t, h.do("GET", base+"/canvas", ""), 200)
	if m := decode(t, h.do("GET", base, "")); m["archived"] != true {
		t.Errorf("GET archived: %v", m)
	}
	if got := counterValue(t, h.metrics.PixelsRejected.WithLabelValues("archived")); got != 2 {
		t.Errorf("PixelsRejected{archived} = %v, want 2", got)
	}
}

func TestOperatorGuessesOnCanvasesAreLimited(t *testing.T) {
	h := newCanvasHarness(t, func(o *Options) {
		o.ResetAttempts = membudget.New(domain.RateRule{PerSecond: 1.0 / 60, Burst: 2}, o.Clock)
	})
	c := h.create(`{"name":"Mine"}`)
	for range 2 {
		wantError(t, h.do("DELETE", "/api/canvases/"+c.Slug, "", "X-Operator-Token", "guess"), 403, msgNotCreator)
	}
	resp := h.do("DELETE", "/api/canvases/"+c.Slug, "", "X-Operator-Token", "s3cret")
	wantError(t, resp, 429, msgRateLimited)
	if resp.Header.Peek("Retry-After") == nil {
		t.Error("no Retry-After")
	}
	// The creator key costs no attempt.
	wantStatus(t, h.do("DELETE", "/api/canvases/"+c.Slug, "", HeaderCreatorKey, c.CreatorKey), 200)
}

// failingDir is a directory whose every call fails as told.
type failingDir struct {
	ports.Canvases
	err error
}

func (d failingDir) Get(context.Context, domain.Slug) (domain.CanvasInfo, error) {
	return domain.CanvasInfo{}, d.err
}
func (d failingDir) List(context.Context, ports.ListQuery) ([]domain.CanvasInfo, error) {
	return nil, d.err
}
func (d failingDir) Create(context.Context, domain.CanvasSpec, ports.CanvasLimits) (domain.CanvasInfo, ports.CanvasSecrets, error) {
	return domain.CanvasInfo{}, ports.CanvasSecrets{}, d.err
}

func TestDirectoryDown(t *testing.T) {
	h := newCanvasHarness(t, func(o *Options) {
		o.Canvases = failingDir{err: fmt.Errorf("dial: %w", ports.ErrUnavailable)}
	})
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/api/canvases", ""}, {"POST", "/api/canvases", `{"name":"a"}`}, {"GET", "/api/canvases/art", ""},
		{"GET", "/api/canvases/art/canvas", ""}, {"PUT", "/api/canvases/art/pixel", `{"x":0,"y":0,"color":"#000000"}`},
	} {
		resp := h.do(tc.method, tc.path, tc.body)
		wantError(t, resp, 503, msgUnavailable)
		if string(resp.Header.Peek("Retry-After")) != "1" {
			t.Errorf("%s %s: no Retry-After", tc.method, tc.path)
		}
	}
	// Main does not need the directory.
	wantStatus(t, h.do("GET", "/api/canvas", ""), 200)
	wantStatus(t, h.do("GET", "/api/canvases/main/canvas", ""), 200)
}

func TestCanvasesCORS(t *testing.T) {
	h := newCanvasHarness(t, nil)
	resp := h.do("OPTIONS", "/api/canvases/art", "", "Origin", "https://a.example", "Access-Control-Request-Method", "PATCH")
	wantStatus(t, resp, 204)
	if got := string(resp.Header.Peek("Access-Control-Allow-Methods")); !strings.Contains(got, "PATCH") || !strings.Contains(got, "DELETE") {
		t.Errorf("methods %q", got)
	}
	if got := string(resp.Header.Peek("Access-Control-Allow-Headers")); !strings.Contains(got, HeaderCreatorKey) || !strings.Contains(got, HeaderCanvasInvite) {
		t.Errorf("headers %q", got)
	}
}

func TestWithoutADirectoryOnlyMain(t *testing.T) {
	h := newHarness(t, size5x4, nil)
	wantError(t, h.do("GET", "/api/canvases", ""), 404, "Not found")
	wantError(t, h.do("GET", "/api/canvases/main/canvas", ""), 404, "Not found")
}
