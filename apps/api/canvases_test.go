package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

// TestCanvasesOnRedis: two api replicas on one Redis share the canvases:
// one creates, the other serves its pixels and lists it, a rotated invite
// stops working on both at once, the creation budget is shared, and the
// main canvas sees nothing of it.
func TestCanvasesOnRedis(t *testing.T) {
	r := redistest.Start(t)
	bin := testbin.Build(t, "./apps/api")
	env := []string{"REDIS_URL=redis://" + r.Addr() + "/0", "CANVASES_PER_IP_PER_DAY=3"}
	a := testbin.Start(t, bin, env...)
	b := testbin.Start(t, bin, env...)

	c := testbin.ExpectJSON(t, 201, "POST", a.URL("/api/canvases"), `{"name":"Shared","width":300,"height":200}`)
	if c["slug"] != "shared" || c["width"] != 300.0 {
		t.Fatalf("created %v", c)
	}
	testbin.ExpectJSON(t, 200, "PUT", a.URL("/api/canvases/shared/pixel"), `{"x":299,"y":199,"color":"#0a0b0c"}`)
	if m := testbin.ExpectJSON(t, 200, "GET", b.URL("/api/canvases/shared/pixel/299/199"), ""); m["color"] != "#0A0B0C" || m["seq"] != 1.0 {
		t.Fatalf("the other replica reads %v", m)
	}
	items, _ := testbin.ExpectJSON(t, 200, "GET", b.URL("/api/canvases?q=sha"), "")["canvases"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["slug"] != "shared" {
		t.Fatalf("list on the other replica: %v", items)
	}

	p := testbin.ExpectJSON(t, 201, "POST", b.URL("/api/canvases"), `{"name":"Private","width":4,"height":4,"private":true}`)
	old, key := p["invite"].(string), p["creatorKey"].(string)
	testbin.ExpectJSON(t, 200, "GET", a.URL("/api/canvases/private/canvas?invite="+old), "")
	fresh := testbin.ExpectJSON(t, 200, "POST", a.URL("/api/canvases/private/invite"), "", "X-Creator-Key", key)["invite"].(string)
	for _, p := range []*testbin.Process{a, b} {
		testbin.ExpectJSON(t, 404, "GET", p.URL("/api/canvases/private/canvas?invite="+old), "")
		testbin.ExpectJSON(t, 200, "GET", p.URL("/api/canvases/private/canvas?invite="+fresh), "")
	}

	// The budget is the address's on every replica: 3 a day.
	testbin.ExpectJSON(t, 201, "POST", b.URL("/api/canvases"), `{"name":"Third"}`)
	if code, m := testbin.CallJSON(t, "POST", a.URL("/api/canvases"), `{"name":"Fourth"}`); code != 429 {
		t.Fatalf("fourth canvas of the day on another replica: %d %v", code, m)
	}
	// ... apart from its pixel budget (IP_PIXEL_RATE, burst 1000), also
	// kept in Redis by address: sharing a bucket, this batch would find it
	// empty.
	var batch []string
	for x := range 50 {
		batch = append(batch, `{"x":`+strconv.Itoa(x)+`,"y":1,"color":"#ffffff"}`)
	}
	testbin.ExpectJSON(t, 200, "PUT", a.URL("/api/pixels"), `{"pixels":[`+strings.Join(batch, ",")+`]}`)

	m := testbin.ExpectJSON(t, 200, "GET", a.URL("/api/canvas"), "")
	if m["seq"] != 50.0 || m["width"] != 50.0 {
		t.Fatalf("main: seq %v width %v", m["seq"], m["width"])
	}
}
