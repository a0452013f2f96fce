package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// createCanvas creates a public canvas through the api and returns its slug.
func createCanvas(t *testing.T, api *testbin.Process, name string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "width": 64, "height": 64})
	resp, err := http.Post(api.URL("/api/canvases"), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Slug string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/canvases %s: %d %v", name, resp.StatusCode, err)
	}
	return out.Slug
}

// drawTwoCanvases draws `each` pixels on canvas a (through a1) and canvas
// b (through b2) at the same time; a1 and a2 watch a, b1 and b2 watch b,
// each pair on two gateways. Every client must see exactly its canvas's
// events, seqs 1..each in order, nothing of the other canvas.
func drawTwoCanvases(t *testing.T, gw1, gw2 *testbin.Process, a, b string, each int) []*wsclient.Client {
	t.Helper()
	a1, a2 := dial(t, gw1.WS("/ws?canvas="+a), "A1"), dial(t, gw2.WS("/ws?canvas="+a), "A2")
	b1, b2 := dial(t, gw1.WS("/ws?canvas="+b), "B1"), dial(t, gw2.WS("/ws?canvas="+b), "B2")
	// Each canvas's presence counts its own two, on both gateways.
	for _, c := range []*wsclient.Client{a1, a2, b1, b2} {
		waitFor(t, c, 10*time.Second, func(u wsclient.UserList) bool { return len(u.Users) == 2 })
	}
	var wg sync.WaitGroup
	for _, w := range []struct {
		c     *wsclient.Client
		color string
	}{{a1, "#FF0000"}, {b2, "#0000FF"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := w.c.PlacePixel(i%64, i/64, w.color, "w"+strconv.Itoa(i)); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(10 * time.Millisecond) // 30 fit in the default burst (40)
			}
		}()
	}
	wg.Wait()
	for _, w := range []struct {
		c     *wsclient.Client
		name  string
		color string
	}{{a1, "A1", "#FF0000"}, {a2, "A2", "#FF0000"}, {b1, "B1", "#0000FF"}, {b2, "B2", "#0000FF"}} {
		for i := 1; i <= each; i++ {
			p := waitFor(t, w.c, 10*time.Second, func(wsclient.PixelUpdated) bool { return true })
			if p.Seq != uint64(i) || !strings.EqualFold(p.Color, w.color) {
				t.Fatalf("%s: event %d is seq %d colour %s, want seq %d colour %s", w.name, i, p.Seq, p.Color, i, w.color)
			}
		}
	}
	// Nothing more arrives: the other canvas's events never do.
	time.Sleep(500 * time.Millisecond)
	for _, c := range []*wsclient.Client{a1, a2, b1, b2} {
		for {
			select {
			case m := <-c.Messages():
				if p, is := m.(wsclient.PixelUpdated); is {
					t.Fatalf("an extra event arrived: %+v", p)
				}
				continue
			default:
			}
			break
		}
	}
	return []*wsclient.Client{a1, a2, b1, b2}
}

// numsub is how many subscribers each channel has on r.
func numsub(t *testing.T, r *goredis.Client, channels ...string) map[string]int64 {
	t.Helper()
	n, err := r.PubSubNumSub(context.Background(), channels...).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCanvasesThroughTwoGateways: two gateways and the api on one Redis.
// Two canvases are drawn on at once, each watched through both gateways:
// every client sees its canvas's events only, in order, none missing. A
// gateway subscribes to a canvas's channels when its first client of it
// arrives and unsubscribes after its last one left (observed with PUBSUB
// NUMSUB), and the lobby's online count follows presence.
func TestCanvasesThroughTwoGateways(t *testing.T) {
	r := redistest.Start(t)
	rc := r.Client(t)
	env := []string{"REDIS_URL=redis://" + r.Addr() + "/0"}
	gwBin := testbin.Build(t, "./apps/gateway")
	gw1, gw2 := testbin.Start(t, gwBin, env...), testbin.Start(t, gwBin, env...)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), env...)
	a, b := createCanvas(t, api, "Canvas A"), createCanvas(t, api, "Canvas B")
	chA, chB := "pixel-updates:"+a, "pixel-updates:"+b
	if n := numsub(t, rc, chA, chB, "pixel-updates"); n[chA] != 0 || n[chB] != 0 || n["pixel-updates"] != 2 {
		t.Fatalf("before any client of a canvas: %v", n)
	}

	clients := drawTwoCanvases(t, gw1, gw2, a, b, 30)
	if n := numsub(t, rc, chA, chB, "user-events:"+a, "cursor-events:"+b); n[chA] != 2 || n[chB] != 2 || n["user-events:"+a] != 2 || n["cursor-events:"+b] != 2 {
		t.Fatalf("both gateways serve both canvases: %v", n)
	}
	var list struct {
		Canvases []struct {
			Slug   string
			Online int
		}
	}
	getJSON(t, api.URL("/api/canvases"), &list)
	for _, c := range list.Canvases {
		if c.Online != 2 {
			t.Errorf("lobby: %s has %d online, want 2", c.Slug, c.Online)
		}
	}

	// Only gw1 keeps a client of canvas a; gw2's subscription to it goes
	// once the grace has passed, the others stay.
	c := dial(t, gw1.WS("/ws?canvas="+a), "Stays")
	waitFor(t, c, 10*time.Second, func(wsclient.Connected) bool { return true })
	for _, p := range []*testbin.Process{gw1, gw2} {
		var h struct{ Connections int }
		getJSON(t, p.URL("/health"), &h)
		t.Logf("%s: %d connections", p.URL(""), h.Connections)
	}
	for _, old := range clients {
		_ = old.Close()
	}
	start := time.Now()
	waitfor.True(t, 30*time.Second, "gateway 2 unsubscribed from both canvases, gateway 1 from b", func() bool {
		n := numsub(t, rc, chA, chB)
		return n[chA] == 1 && n[chB] == 0
	})
	t.Logf("subscriptions followed the clients %s after they left", time.Since(start).Round(100*time.Millisecond))
	chans, err := rc.PubSubChannels(context.Background(), "*"+a+"*").Result()
	if err != nil || len(chans) != 3 {
		t.Errorf("PUBSUB CHANNELS *%s*: %v %v, want its three channels (gateway 1's)", a, chans, err)
	}
	// A newcomer on gw2 brings its subscription back, and it sees the
	// others' pixels.
	d := dial(t, gw2.WS("/ws?canvas="+a+"&since=30"), "Back")
	waitFor(t, d, 10*time.Second, func(wsclient.Connected) bool { return true })
	if n := numsub(t, rc, chA); n[chA] != 2 {
		t.Fatalf("after a new client on gateway 2: %v", n)
	}
	if err := c.PlacePixel(5, 5, "#00FF00", "late"); err != nil {
		t.Fatal(err)
	}
	if p := waitFor(t, d, 10*time.Second, func(wsclient.PixelUpdated) bool { return true }); p.Seq != 31 {
		t.Fatalf("after resubscribing: %+v", p)
	}
}

// TestCanvasesOnRedisClusterShards: the same on a Redis Cluster of three
// nodes, with the two canvases' keys on different shards.
func TestCanvasesOnRedisClusterShards(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	cc := c.Client(t)
	seeds := []string{"REDIS_CLUSTER=true", "REDIS_URL=" + c.URL()}
	gwBin := testbin.Build(t, "./apps/gateway")
	gw1, gw2 := testbin.Start(t, gwBin, seeds...), testbin.Start(t, gwBin, seeds...)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), seeds...)

	// Two names whose canvases hash to slots on different nodes.
	ctx := context.Background()
	nodeOf := func(slug string) string {
		node, err := cc.MasterForKey(ctx, "{canvas:"+slug+"}:seq")
		if err != nil {
			t.Fatal(err)
		}
		return node.Options().Addr
	}
	var names []string
	nodes := map[string]bool{}
	for i := 0; len(names) < 2 && i < 100; i++ {
		name := fmt.Sprintf("Shard %d", i)
		if n := nodeOf(string(domain.SlugFromName(name))); !nodes[n] {
			nodes[n] = true
			names = append(names, name)
		}
	}
	a, b := createCanvas(t, api, names[0]), createCanvas(t, api, names[1])
	if nodeOf(a) == nodeOf(b) {
		t.Fatalf("%s and %s on the same node", a, b)
	}
	drawTwoCanvases(t, gw1, gw2, a, b, 30)
}
