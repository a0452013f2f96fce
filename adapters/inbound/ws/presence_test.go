package ws

// Presence on the wire: pixel.v2 clients are sent changes and keep an
// exact list; v1 clients still get stats and user_list, bounded; and what
// presence costs a client with 2,000 users, one of them renaming 100 times
// a second.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

func TestEncodePresenceChange(t *testing.T) {
	v := domain.PresenceView{ActiveUsers: 5, Users: []string{"Al", "Bo", "Bo"}}
	got := string(encodePresenceChange(true, v, domain.PresenceDiff{Joined: domain.CountNames(v.Users)}))
	want := `{"type":"presence","reset":true,"activeUsers":5,"named":3,"joined":[["Al",1],["Bo",2]],"left":[]}`
	if got != want {
		t.Errorf("reset = %s\nwant    %s", got, want)
	}
	got = string(encodePresenceChange(false, v, domain.PresenceDiff{Left: []domain.NameCount{{Name: `"x"\`, Count: 1}}}))
	want = `{"type":"presence","activeUsers":5,"named":3,"joined":[],"left":[["\"x\"\\",1]]}`
	if got != want {
		t.Errorf("change = %s\nwant     %s", got, want)
	}
}

// presenceMsg is a v2 presence message as a client reads it.
type presenceMsg struct {
	Type        string  `json:"type"`
	Reset       bool    `json:"reset"`
	ActiveUsers int     `json:"activeUsers"`
	Named       int     `json:"named"`
	Joined      [][]any `json:"joined"`
	Left        [][]any `json:"left"`
}

// roster is what a v2 client knows of presence, built from presence
// messages only.
type roster struct {
	have   bool
	counts map[string]int
	active int
	named  int
}

func (r *roster) apply(t *testing.T, m map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(m)
	var p presenceMsg
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("presence message %s: %v", raw, err)
	}
	if p.Reset {
		r.have, r.counts = true, map[string]int{}
	}
	if !r.have {
		t.Fatalf("a change before the whole list: %s", raw)
	}
	var d domain.PresenceDiff
	for _, l := range []struct {
		src [][]any
		dst *[]domain.NameCount
	}{{p.Joined, &d.Joined}, {p.Left, &d.Left}} {
		for _, e := range l.src {
			*l.dst = append(*l.dst, domain.NameCount{Name: e[0].(string), Count: int(e[1].(float64))})
		}
	}
	d.ApplyTo(r.counts)
	r.active, r.named = p.ActiveUsers, p.Named
	n := 0
	for _, c := range r.counts {
		n += c
	}
	if n != p.Named {
		t.Fatalf("after %s the client has %d names, the server says %d", raw, n, p.Named)
	}
}

// list is the roster as user_list would give it: sorted, repeated.
func (r *roster) list() []string {
	out := []string{}
	for _, n := range slices.Sorted(maps.Keys(r.counts)) {
		for i := 0; i < r.counts[n]; i++ {
			out = append(out, n)
		}
	}
	return out
}

func TestV2ClientKeepsAnExactListAndV1ClientsGetStatsAndUserList(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	v2 := h.dial("", "pixel.v2")
	v1 := h.dial("")
	var r roster

	// check waits until the v2 client's roster and the v1 client's pair
	// both show want (names, sorted) and active connections.
	check := func(step string, active int, want []string) {
		t.Helper()
		sort.Strings(want)
		deadline := time.After(10 * time.Second)
		for !r.have || r.active != active || !slices.Equal(r.list(), want) {
			select {
			case m := <-v2.msgs:
				switch m["type"] {
				case "presence":
					r.apply(t, m)
				case "stats", "user_list":
					t.Fatalf("%s: a v2 client was sent %v", step, m["type"])
				}
			case <-deadline:
				t.Fatalf("%s: v2 client has %v (%d active), want %v (%d active)", step, r.list(), r.active, want, active)
			}
		}
		v1.waitFor("user_list", func(m map[string]any) bool {
			got := []string{}
			for _, u := range m["users"].([]any) {
				got = append(got, u.(string))
			}
			return slices.Equal(got, want)
		})
	}
	check("two anonymous observers", 2, []string{})

	a, b, c := h.dial(""), h.dial("", "pixel.v2"), h.dial("")
	a.send(map[string]any{"type": "set_username", "username": "Alice"})
	b.send(map[string]any{"type": "set_username", "username": "Bob"})
	c.send(map[string]any{"type": "set_username", "username": "Alice"})
	check("three join, two named alike", 5, []string{"Alice", "Alice", "Bob"})

	c.send(map[string]any{"type": "set_username", "username": "Cleo"})
	check("one Alice renames", 5, []string{"Alice", "Bob", "Cleo"})

	b.send(map[string]any{"type": "set_username", "username": ""})
	check("Bob goes anonymous", 5, []string{"Alice", "Cleo"})

	_ = a.conn.Close()
	check("Alice leaves", 4, []string{"Cleo"})

	// A newcomer gets the whole list at once, first thing after connected.
	d := h.dial("", "pixel.v2")
	var first map[string]any
	select {
	case first = <-d.msgs:
	case <-time.After(5 * time.Second):
		t.Fatal("no message after connected")
	}
	if first["type"] != "presence" || first["reset"] != true {
		t.Fatalf("newcomer's first message after connected = %v", first)
	}
	var r2 roster
	r2.apply(t, first)
	if !slices.Equal(r2.list(), []string{"Cleo"}) {
		t.Errorf("newcomer's list = %v", r2.list())
	}
	for i := 0; i < 20; i++ {
		c.send(map[string]any{"type": "set_username", "username": "Cleo" + strconv.Itoa(i)})
	}
	check("renames in a burst", 5, []string{"Cleo19"})
}

// TestPresenceCostPerClient measures what presence costs each client with
// 2,000 named users while one of them renames 100 times a second, and
// asserts the bound the design promises: a v2 presence message carries only
// what changed, so its size does not grow with the number of users, and a
// v1 client's list is capped and slowed down. (Under -race or -short it
// runs 300 users: the race detector allows 8,128 goroutines.)
//
//	go test ./adapters/inbound/ws -run PresenceCostPerClient -count=1 -v
func TestPresenceCostPerClient(t *testing.T) {
	users := 2000
	if raceEnabled || testing.Short() {
		users = 300
	}
	const v1Clients = 10
	window := 5 * time.Second
	// A high pixel rate raises the per-connection message budget with it,
	// so the renamer's 100 messages a second are never near it.
	h := newHarness(t, harnessOptions{pixelRate: domain.RateRule{PerSecond: 1000, Burst: 1000}})

	type counter struct {
		bytes, frames       atomic.Int64
		presence, userLists atomic.Int64
		maxPresence         atomic.Int64 // largest v2 presence frame
		maxListNames        atomic.Int64
		named               atomic.Int64 // the last named count a v2 client was told
		v2                  bool
	}
	counters := make([]*counter, users)
	conns := make([]*websocket.Conn, users)
	var wg sync.WaitGroup
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
		wg.Wait()
	}()
	presenceKey, listKey, namedKey := []byte(`"type":"presence"`), []byte(`"type":"user_list"`), []byte(`"named":`)
	for i := range users {
		v2 := i >= v1Clients
		d := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 256, HandshakeTimeout: 10 * time.Second}
		if v2 {
			d.Subprotocols = []string{subprotocolV2}
		}
		c, _, err := dialWS(d, h.url)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns[i] = c
		k := &counter{v2: v2}
		counters[i] = k
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				k.bytes.Add(int64(len(data)))
				k.frames.Add(1)
				if v2 && bytes.Contains(data, presenceKey) {
					k.presence.Add(1)
					if int64(len(data)) > k.maxPresence.Load() {
						k.maxPresence.Store(int64(len(data)))
					}
					if at := bytes.LastIndex(data, namedKey); at >= 0 {
						rest := data[at+len(namedKey):]
						n, _ := strconv.Atoi(string(rest[:bytes.IndexByte(rest, ',')]))
						k.named.Store(int64(n))
					}
				}
				if !v2 && bytes.Contains(data, listKey) {
					k.userLists.Add(1)
					var m struct{ Users []string }
					if err := json.Unmarshal(data, &m); err == nil && int64(len(m.Users)) > k.maxListNames.Load() {
						k.maxListNames.Store(int64(len(m.Users)))
					}
				}
			}
		}()
		msg, _ := json.Marshal(map[string]any{"type": "set_username", "username": fmt.Sprintf("user%04d", i)})
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatal(err)
		}
	}
	// Every v2 client has been told of everybody, and the connect burst's
	// presence traffic is over.
	waitfor.True(t, 60*time.Second, "every v2 client told of every name", func() bool {
		for _, k := range counters {
			if k.v2 && k.named.Load() != int64(users) {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * presenceMinInterval)

	start := make([]int64, users)
	for i, k := range counters {
		start[i] = k.bytes.Load()
		k.presence.Store(0)
		k.userLists.Store(0)
		k.maxPresence.Store(0)
	}
	renamer := conns[users-1]
	began := time.Now()
	for n := 0; time.Since(began) < window; n++ {
		msg, _ := json.Marshal(map[string]any{"type": "set_username", "username": "renamer" + strconv.Itoa(n)})
		if err := renamer.WriteMessage(websocket.TextMessage, msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(began.Add(time.Duration(n+1) * 10 * time.Millisecond)))
	}
	time.Sleep(2 * presenceMinInterval) // the last change arrives
	elapsed := time.Since(began).Seconds()

	var v2Bytes, v1Bytes, v2Msgs, v1Lists, maxMsg, maxNames int64
	for i, k := range counters {
		b := k.bytes.Load() - start[i]
		if k.v2 {
			v2Bytes += b
			v2Msgs += k.presence.Load()
			maxMsg = max(maxMsg, k.maxPresence.Load())
		} else {
			v1Bytes += b
			v1Lists = max(v1Lists, k.userLists.Load())
			maxNames = max(maxNames, k.maxListNames.Load())
		}
	}
	v2PerClient := float64(v2Bytes) / float64(users-v1Clients) / elapsed
	v1PerClient := float64(v1Bytes) / v1Clients / elapsed
	oldStats, oldList := encodePresence(h.hub.View(), 1795316057229)
	t.Logf("%d users, one renaming 100/s for %.1fs: v2 %.0f B/s per client (%.1f presence messages/s, largest %d B, total %.2f MB/s); "+
		"v1 %.0f B/s per client (%d user_list, at most %d names); the old full pair was %d B at up to 4/s (%.0f B/s per client)",
		users, elapsed, v2PerClient, float64(v2Msgs)/float64(users-v1Clients)/elapsed, maxMsg, float64(v2Bytes)/elapsed/1e6,
		v1PerClient, v1Lists, maxNames, len(oldStats)+len(oldList), 4*float64(len(oldStats)+len(oldList)))

	// The design's bounds. A v2 presence message carries the totals and
	// the names that changed: here one left and one joined, at most 20
	// runes each (4 bytes a rune, 6 if JSON-escaped), whatever the number
	// of users.
	const v2MessageBound = 100 + 2*(20*6+16)
	if maxMsg == 0 || maxMsg > v2MessageBound {
		t.Errorf("largest v2 presence frame %d B, want 1..%d B whatever the number of users", maxMsg, v2MessageBound)
	}
	// At most one message per presenceMinInterval, so bytes per second
	// are bounded by the same constant.
	if limit := v2MessageBound * (float64(time.Second)/float64(presenceMinInterval) + 1); v2PerClient > limit {
		t.Errorf("v2 presence costs %.0f B/s per client, over the design's %.0f", v2PerClient, limit)
	}
	if maxNames > v1UserListCap {
		t.Errorf("a v1 user_list carried %d names, the cap is %d", maxNames, v1UserListCap)
	}
	if limit := int64(window/v1SlowInterval) + 2; users > v1SmallList && v1Lists > limit {
		t.Errorf("a v1 client got %d user_lists in %v, want at most %d (one per %v)", v1Lists, window, limit, v1SlowInterval)
	}
	if !strings.HasPrefix(string(oldList), `{"type":"user_list"`) {
		t.Fatal("encodePresence no longer the old pair")
	}
}
