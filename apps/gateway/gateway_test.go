package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// waitFor reads c's messages until one of type T satisfies ok.
func waitFor[T wsclient.Message](t *testing.T, c *wsclient.Client, within time.Duration, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m := <-c.Messages():
			if v, is := m.(T); is && ok(v) {
				return v
			}
		case <-c.Done():
			t.Fatalf("connection closed while waiting: %+v", c.Closed())
		case <-deadline:
			var zero T
			t.Fatalf("no matching %s within %s", zero.Type(), within)
		}
	}
}

func dial(t *testing.T, url, name string) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, url, wsclient.Options{Username: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func getJSON(t *testing.T, url string, into any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// twoArtistsDraw connects Alice through one gateway and Bob through
// another, waits until each sees both names, and has each draw `each`
// pixels (Alice red on row aliceRow, Bob blue on row bobRow). It returns
// the seqs in the order both received them, having checked that the two
// orders are the same and skip nothing.
func twoArtistsDraw(t *testing.T, aliceURL, bobURL string, each, aliceRow, bobRow int) (alice, bob *wsclient.Client, seqs []uint64) {
	t.Helper()
	alice, bob = dial(t, aliceURL, "Alice"), dial(t, bobURL, "Bob")
	for _, c := range []*wsclient.Client{alice, bob} {
		waitFor(t, c, 10*time.Second, func(u wsclient.UserList) bool {
			return len(u.Users) == 2 && u.Users[0] == "Alice" && u.Users[1] == "Bob"
		})
	}
	for i := 0; i < each; i++ {
		if err := alice.PlacePixel(i%50, aliceRow, "#FF0000", "a"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		if err := bob.PlacePixel(i%50, bobRow, "#0000FF", "b"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		// Pacing, not waiting: spreads the two artists' writes out so that
		// they interleave. Up to 40 writes a connection fit in the default
		// pixel burst, so none is refused for its rate.
		time.Sleep(10 * time.Millisecond)
	}
	orders := make([][]uint64, 2)
	for k, c := range []*wsclient.Client{alice, bob} {
		for len(orders[k]) < 2*each {
			p := waitFor(t, c, 10*time.Second, func(wsclient.PixelUpdated) bool { return true })
			orders[k] = append(orders[k], p.Seq)
		}
	}
	for i := range orders[0] {
		if orders[0][i] != orders[1][i] || (i > 0 && orders[0][i] != orders[0][i-1]+1) {
			t.Fatalf("delivery orders differ or skip at %d: %v vs %v", i, orders[0], orders[1])
		}
	}
	return alice, bob, orders[0]
}

// TestGatewaysShareRedis: two gateway processes and the api on one Redis.
// Clients on different gateways receive each other's pixels, all of them,
// in the same seq order; presence counts both; a gateway killed with
// SIGKILL stops being counted within seconds.
func TestGatewaysShareRedis(t *testing.T) {
	r := redistest.Start(t)
	env := []string{"REDIS_URL=redis://" + r.Addr() + "/0"}
	gwBin := testbin.Build(t, "./apps/gateway")
	gw1, gw2 := testbin.Start(t, gwBin, env...), testbin.Start(t, gwBin, env...)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), env...)

	// Both draw on the same row: every pixel is contested.
	alice, _, seqs := twoArtistsDraw(t, gw1.WS("/ws"), gw2.WS("/"), 30, 0, 0)
	var canvas struct {
		Seq    uint64
		Pixels map[string]string
	}
	getJSON(t, api.URL("/api/canvas"), &canvas)
	if canvas.Seq != seqs[len(seqs)-1] {
		t.Fatalf("api snapshot seq %d, last delivered %d", canvas.Seq, seqs[len(seqs)-1])
	}
	var health struct {
		Redis       string
		Connections int
		Users       []string
	}
	getJSON(t, gw1.URL("/health"), &health)
	if health.Redis != "connected" || health.Connections != 1 || len(health.Users) != 1 || health.Users[0] != "Alice" {
		t.Fatalf("gateway 1 health = %+v", health)
	}

	gw2.Kill()
	start := time.Now()
	waitFor(t, alice, 20*time.Second, func(s wsclient.Stats) bool { return s.ActiveUsers == 1 })
	t.Logf("a SIGKILLed gateway stopped being counted after %s", time.Since(start).Round(100*time.Millisecond))
}

// TestGatewaysOnRedisCluster: gateways and the api with REDIS_CLUSTER=true
// on a Redis Cluster of three nodes, where {canvas} lives on the first node
// and {presence} on the last. One gateway knows only the middle node, which
// holds neither (a plain client would get MOVED for every canvas and
// presence command), the others are given every node as a seed. Pixels,
// presence and the snapshot behave as on a single Redis.
func TestGatewaysOnRedisCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	seeds := []string{"REDIS_CLUSTER=true", "REDIS_URL=" + c.URL()}
	middle := []string{"REDIS_CLUSTER=true", "REDIS_HOST=127.0.0.1", "REDIS_PORT=" + strconv.Itoa(c.Nodes[1].Port()), "LOG_LEVEL=info"}
	gwBin := testbin.Build(t, "./apps/gateway")
	gw1, gw2 := testbin.Start(t, gwBin, middle...), testbin.Start(t, gwBin, seeds...)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), seeds...)

	const each = 10
	_, _, seqs := twoArtistsDraw(t, gw1.WS("/ws"), gw2.WS("/ws"), each, 1, 2)
	if seqs[0] != 1 {
		t.Fatalf("the first pixel on an empty cluster has seq %d, want 1", seqs[0])
	}
	var canvas struct {
		Seq    uint64
		Pixels map[string]string
	}
	getJSON(t, api.URL("/api/canvas"), &canvas)
	if canvas.Seq != 2*each || !strings.EqualFold(canvas.Pixels["9,1"], "#FF0000") || !strings.EqualFold(canvas.Pixels["9,2"], "#0000FF") {
		t.Fatalf("api snapshot: seq %d, pixels %v", canvas.Seq, canvas.Pixels)
	}
	for _, p := range []*testbin.Process{gw1, gw2, api} {
		var health struct{ Redis string }
		getJSON(t, p.URL("/health"), &health)
		var ready map[string]any
		if code := getJSON(t, p.URL("/ready"), &ready); health.Redis != "connected" || code != http.StatusOK {
			t.Errorf("health %+v, /ready %d %v", health, code, ready)
		}
	}
	if !strings.Contains(gw1.Logs(), "cluster=true") {
		t.Errorf("the gateway does not say it uses a cluster client:\n%s", gw1.Logs())
	}
}

// TestRedisOutage: while Redis is down the gateway keeps its connections,
// answers writes with `unavailable`, reports it on /health and /ready, and
// recovers by itself when Redis returns, data intact.
func TestRedisOutage(t *testing.T) {
	r := redistest.Start(t)
	env := []string{"REDIS_URL=redis://" + r.Addr() + "/0"}
	gw := testbin.Start(t, testbin.Build(t, "./apps/gateway"), env...)
	c := dial(t, gw.WS("/ws"), "Carol")
	if err := c.PlacePixel(1, 1, "#123456", "before"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, 5*time.Second, func(p wsclient.PixelUpdated) bool { return p.ID == "before" })

	r.Stop(t)
	if err := c.PlacePixel(2, 2, "#654321", "during"); err != nil {
		t.Fatal(err)
	}
	e := waitFor(t, c, 15*time.Second, func(e wsclient.Error) bool { return e.ID == "during" })
	if e.Code != "unavailable" {
		t.Fatalf("error during outage = %+v", e)
	}
	var health struct{ Redis string }
	getJSON(t, gw.URL("/health"), &health)
	if health.Redis != "disconnected" {
		t.Fatalf("health during outage = %+v", health)
	}
	var ready map[string]any
	if code := getJSON(t, gw.URL("/ready"), &ready); code != http.StatusServiceUnavailable {
		t.Fatalf("/ready during outage = %d %v", code, ready)
	}
	if err := c.Ping(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, 5*time.Second, func(wsclient.Pong) bool { return true })

	r.Start(t)
	// Writes are tried once the gateway says Redis is back, one at a time,
	// each given a while to be answered; the first acknowledged must carry
	// on the seq from before the outage.
	attempt := 0
	waitfor.Until(t, 30*time.Second, func() error {
		getJSON(t, gw.URL("/health"), &health)
		if health.Redis != "connected" {
			return fmt.Errorf("gateway did not recover within 30s of Redis returning: health %+v", health)
		}
		id := "after" + strconv.Itoa(attempt)
		attempt++
		if err := c.PlacePixel(3, 3, "#ABCDEF", id); err != nil {
			t.Fatal(err)
		}
		answered := time.After(5 * time.Second)
		for {
			select {
			case m := <-c.Messages():
				switch v := m.(type) {
				case wsclient.PixelUpdated:
					if v.ID == id {
						if v.Seq != 2 { // the write before the outage survived it
							t.Fatalf("seq after outage = %d, want 2", v.Seq)
						}
						return nil
					}
				case wsclient.Error:
					if v.ID == id {
						return fmt.Errorf("gateway did not recover within 30s of Redis returning: write %s refused: %+v", id, v)
					}
				}
			case <-c.Done():
				t.Fatalf("connection closed during recovery: %+v", c.Closed())
			case <-answered:
				return fmt.Errorf("gateway did not recover within 30s of Redis returning: write %s unanswered", id)
			}
		}
	})
	getJSON(t, gw.URL("/health"), &health)
	if health.Redis != "connected" {
		t.Fatalf("health after recovery = %+v", health)
	}
}

// TestGatewayOnRedisClusterFailover: the claim of docs/architecture.md
// that a replica of the {canvas} shard, promoted when its master dies,
// keeps the canvas reachable. A gateway and the api run with
// REDIS_CLUSTER=true on three masters plus a replica of {canvas}'s master;
// an artist draws, the replica catches up, and the master is SIGKILLed.
// Within a bound the artist draws again and is acknowledged, the api's
// snapshot holds the pixels from before the kill and after, and the
// gateway reports Redis connected. Writes in between may only fail as
// `unavailable`.
func TestGatewayOnRedisClusterFailover(t *testing.T) {
	c := redistest.StartClusterWithReplica(t)
	env := []string{"REDIS_CLUSTER=true", "REDIS_URL=" + c.URL(), "LOG_LEVEL=info"}
	gw := testbin.Start(t, testbin.Build(t, "./apps/gateway"), env...)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), env...)
	alice := dial(t, gw.WS("/ws"), "Alice")

	const before, after = 10, 5
	const beforeRow, afterRow = 3, 4
	const beforeColor, afterColor = "#FF0000", "#00AA00"
	var lastBefore uint64
	for i := range before {
		id := "before" + strconv.Itoa(i)
		if err := alice.PlacePixel(i, beforeRow, beforeColor, id); err != nil {
			t.Fatal(err)
		}
		lastBefore = waitFor(t, alice, 10*time.Second, func(p wsclient.PixelUpdated) bool { return p.ID == id }).Seq
	}
	c.WaitReplicaCaughtUp(t, 10*time.Second)

	c.Nodes[0].Kill(t)
	killed := time.Now()

	// One write at a time, each given a while to be answered, until one is
	// acknowledged. A gateway may drop a connection it cannot serve; the
	// artist then comes back, as the browser client does.
	const recoverWithin = 45 * time.Second
	var first wsclient.PixelUpdated
	refused, attempt := 0, 0
	err := waitfor.Poll(recoverWithin, func() error {
		n := attempt
		attempt++
		id := "during" + strconv.Itoa(n)
		if err := alice.PlacePixel(n%50, 5, "#0000FF", id); err != nil {
			alice = dial(t, gw.WS("/ws"), "Alice")
			return err
		}
		answered := time.After(10 * time.Second)
		for {
			select {
			case m := <-alice.Messages():
				switch v := m.(type) {
				case wsclient.PixelUpdated:
					if v.ID == id {
						first = v
						return nil
					}
				case wsclient.Error:
					if v.ID == id {
						if v.Code != "unavailable" {
							t.Fatalf("a write during the failover was refused with %+v, want code unavailable", v)
						}
						refused++
						// Pacing, not waiting: refusals come back at once,
						// and retrying at once would exceed the pixel rate
						// (20/s), turning them into rate_limited.
						time.Sleep(250 * time.Millisecond)
						return fmt.Errorf("write %s refused as unavailable", id)
					}
				}
			case <-alice.Done():
				closed := alice.Closed()
				alice = dial(t, gw.WS("/ws"), "Alice")
				return fmt.Errorf("connection closed: %+v", closed)
			case <-answered:
				return fmt.Errorf("write %s unanswered", id)
			}
		}
	})
	if err != nil || time.Since(killed) > recoverWithin {
		t.Fatalf("no write acknowledged within %s of the master's death (%d refused as unavailable; last: %v)", recoverWithin, refused, err)
	}
	unavailable := time.Since(killed)
	t.Logf("writes were unavailable for %s after the master of {canvas} was killed (%d refused as unavailable meanwhile; cluster-node-timeout %s)",
		unavailable.Round(100*time.Millisecond), refused, redistest.FailoverNodeTimeout)
	// Writes acknowledged before the kill reached the replica, so the seq
	// carries on from them; a store that lost them would count again.
	if first.Seq <= lastBefore {
		t.Fatalf("the first write after the failover has seq %d, not after %d: acknowledged writes were lost", first.Seq, lastBefore)
	}
	c.WaitPromoted(t, 10*time.Second)

	lastAfter := first.Seq
	for i := range after {
		id := "after" + strconv.Itoa(i)
		if err := alice.PlacePixel(i, afterRow, afterColor, id); err != nil {
			t.Fatal(err)
		}
		p := waitFor(t, alice, 10*time.Second, func(p wsclient.PixelUpdated) bool { return p.ID == id })
		if p.Seq <= lastAfter {
			t.Fatalf("seq went back after the failover: %d after %d", p.Seq, lastAfter)
		}
		lastAfter = p.Seq
	}

	// The api's own cluster client must find the new master too.
	var canvas struct {
		Seq    uint64
		Pixels map[string]string
	}
	waitfor.Until(t, 30*time.Second, func() error {
		canvas.Pixels = nil
		if code := getJSON(t, api.URL("/api/canvas"), &canvas); code != http.StatusOK || canvas.Seq < lastAfter {
			return fmt.Errorf("GET /api/canvas after the failover: %d, seq %d (want >= %d)", code, canvas.Seq, lastAfter)
		}
		return nil
	})
	for _, want := range []struct {
		n, row int
		color  string
	}{{before, beforeRow, beforeColor}, {after, afterRow, afterColor}} {
		for x := range want.n {
			if got := canvas.Pixels[strconv.Itoa(x)+","+strconv.Itoa(want.row)]; !strings.EqualFold(got, want.color) {
				t.Errorf("pixel %d,%d is %q after the failover, want %s", x, want.row, got, want.color)
			}
		}
	}

	var health struct{ Redis string }
	waitfor.Until(t, 30*time.Second, func() error {
		if getJSON(t, gw.URL("/health"), &health); health.Redis != "connected" {
			return fmt.Errorf("gateway /health after the failover: %+v", health)
		}
		return nil
	})
}
