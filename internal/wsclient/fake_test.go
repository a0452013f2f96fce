package wsclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
)

// fakeServer speaks enough of the protocol to exercise the client: it
// sequences writes, echoes ids to the sender, replays history on resume
// (and refuses when the history was trimmed), batches for pixel.v2 clients,
// serves /api/canvas/raw, and lets a test drop every connection.
type fakeServer struct {
	t    *testing.T
	srv  *httptest.Server
	size domain.Size

	mu       sync.Mutex
	seq      uint64
	ts       domain.Timestamp
	history  []fakeEvent // oldest first
	canvas   *domain.Canvas
	conns    map[*fakeConn]bool
	nextID   int
	pongs    int
	silent   bool   // accept upgrades but never send connected
	greeting []byte // replaces connected when set
}

type fakeEvent struct {
	seq   uint64
	frame []byte // without id
	event domain.Event
}

type fakeConn struct {
	ws       *websocket.Conn
	id       string
	v2       bool
	username string
	wmu      sync.Mutex
}

func (c *fakeConn) send(frames ...[]byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if c.v2 && len(frames) > 1 {
		_ = c.ws.WriteMessage(websocket.TextMessage, batch(frames))
		return
	}
	for _, f := range frames {
		_ = c.ws.WriteMessage(websocket.TextMessage, f)
	}
}

func batch(frames [][]byte) []byte {
	return []byte(`{"type":"batch","events":[` + string(joinFrames(frames)) + `]}`)
}

func joinFrames(frames [][]byte) []byte {
	parts := make([]string, len(frames))
	for i, f := range frames {
		parts[i] = string(f)
	}
	return []byte(strings.Join(parts, ","))
}

func newFakeServer(t *testing.T, w, h int) *fakeServer {
	t.Helper()
	size, err := domain.NewSize(w, h)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, size: size, canvas: domain.NewCanvas(size), conns: map[*fakeConn]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", f.upgrade)
	mux.HandleFunc("/api/canvas/raw", f.raw)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.drop(websocket.CloseGoingAway)
		f.srv.Close()
	})
	return f
}

func (f *fakeServer) wsURL() string  { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/ws" }
func (f *fakeServer) apiURL() string { return f.srv.URL }

var upgrader = websocket.Upgrader{Subprotocols: []string{SubprotocolV2}}

func (f *fakeServer) upgrade(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetPongHandler(func(string) error {
		f.mu.Lock()
		f.pongs++
		f.mu.Unlock()
		return nil
	})
	f.mu.Lock()
	f.nextID++
	c := &fakeConn{ws: ws, id: "c_" + strconv.Itoa(f.nextID), v2: ws.Subprotocol() == SubprotocolV2}
	if f.silent {
		f.conns[c] = true
		f.mu.Unlock()
		f.readLoop(c)
		return
	}
	greeting := f.greeting
	if greeting == nil {
		greeting = mustMarshal(map[string]any{"type": "connected", "message": "Connected to Cloud Pixel Playground",
			"clientId": c.id, "seq": f.seq, "width": f.size.Width, "height": f.size.Height})
	}
	frames := [][]byte{greeting}
	if raw := r.URL.Query().Get("since"); raw != "" {
		since, _ := strconv.ParseUint(raw, 10, 64)
		frames = append(frames, f.replayLocked(since)...)
	}
	f.conns[c] = true
	c.send(frames...) // under f.mu, so no live event can overtake the replay
	f.mu.Unlock()
	f.readLoop(c)
}

// replayLocked is every event after since and resumed, or resumed with
// recovered=false when the history no longer reaches back to since.
func (f *fakeServer) replayLocked(since uint64) [][]byte {
	if len(f.history) > 0 && f.history[0].seq > since+1 || since > f.seq {
		return [][]byte{mustMarshal(map[string]any{"type": "resumed", "seq": f.seq, "recovered": false})}
	}
	var out [][]byte
	for _, e := range f.history {
		if e.seq > since {
			out = append(out, e.frame)
		}
	}
	return append(out, mustMarshal(map[string]any{"type": "resumed", "seq": f.seq, "recovered": true}))
}

func (f *fakeServer) readLoop(c *fakeConn) {
	defer func() {
		f.mu.Lock()
		delete(f.conns, c)
		f.mu.Unlock()
		_ = c.ws.Close()
	}()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		f.handle(c, data)
	}
}

func (f *fakeServer) handle(c *fakeConn, data []byte) {
	var m struct {
		Type     string   `json:"type"`
		X        *float64 `json:"x"`
		Y        float64  `json:"y"`
		Color    string   `json:"color"`
		ID       string   `json:"id"`
		Username string   `json:"username"`
		Since    uint64   `json:"since"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		c.send(mustMarshal(map[string]any{"type": "error", "message": "Invalid message format", "code": "bad_json"}))
		return
	}
	switch m.Type {
	case "pixel_update":
		color, err := domain.ParseColor(m.Color)
		if m.X == nil || err != nil || !f.size.Contains(int(*m.X), int(m.Y)) {
			c.send(mustMarshal(map[string]any{"type": "error", "message": "Invalid pixel data", "code": "bad_pixel", "id": m.ID}))
			return
		}
		f.place(domain.Pixel{X: int(*m.X), Y: int(m.Y), Color: color}, c.username, c, m.ID)
	case "set_username":
		f.mu.Lock()
		c.username = m.Username
		f.mu.Unlock()
		f.presence()
	case "cursor":
		if m.X == nil {
			f.broadcast(mustMarshal(map[string]any{"type": "cursors", "cursors": []any{}, "gone": []string{c.id}}))
			return
		}
		f.broadcast(mustMarshal(map[string]any{"type": "cursors", "gone": []string{},
			"cursors": []any{map[string]any{"clientId": c.id, "username": c.username, "x": *m.X, "y": m.Y}}}))
	case "ping":
		c.send([]byte(`{"type":"pong","timestamp":1795316057524}`))
	case "resume":
		f.mu.Lock()
		frames := f.replayLocked(m.Since)
		c.send(frames...)
		f.mu.Unlock()
	}
}

// place sequences a write and sends it to everybody; only from gets the id.
func (f *fakeServer) place(p domain.Pixel, username string, from *fakeConn, id string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.ts = domain.NextTimestamp(f.ts, domain.TimestampOf(time.Now()))
	e := domain.Event{Kind: domain.PixelPlaced, Seq: f.seq, Time: f.ts, Pixel: p, Username: username}
	f.canvas.Apply(e)
	frame := mustMarshal(map[string]any{"type": "pixel_updated", "x": p.X, "y": p.Y, "color": p.Color.String(),
		"username": domain.DisplayName(username), "timestamp": float64(f.ts) / 1000, "seq": f.seq})
	f.history = append(f.history, fakeEvent{seq: f.seq, frame: frame, event: e})
	for c := range f.conns {
		if c == from && id != "" {
			c.send(append(frame[:len(frame)-1:len(frame)-1], []byte(`,"id":`+strconv.Quote(id)+`}`)...))
			continue
		}
		c.send(frame)
	}
	return f.seq
}

func (f *fakeServer) reset() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.ts = domain.NextTimestamp(f.ts, domain.TimestampOf(time.Now()))
	e := domain.Event{Kind: domain.CanvasReset, Seq: f.seq, Time: f.ts}
	f.canvas.Apply(e)
	frame := mustMarshal(map[string]any{"type": "canvas_reset", "seq": f.seq, "timestamp": float64(f.ts) / 1000})
	f.history = append(f.history, fakeEvent{seq: f.seq, frame: frame, event: e})
	for c := range f.conns {
		c.send(frame)
	}
	return f.seq
}

// rollback makes the server forget every event after seq, as a store that
// lost its last writes, and tells every client so the way the gateway
// does: resumed with recovered=false at seq. Later writes reuse the seqs.
func (f *fakeServer) rollback(seq uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canvas = domain.NewCanvas(f.size)
	kept := f.history[:0]
	for _, e := range f.history {
		if e.seq <= seq {
			f.canvas.Apply(e.event)
			kept = append(kept, e)
		}
	}
	f.history, f.seq = kept, seq
	frame := mustMarshal(map[string]any{"type": "resumed", "seq": seq, "recovered": false})
	for c := range f.conns {
		c.send(frame)
	}
}

// trimHistory keeps only the last n events, so older resumes fail.
func (f *fakeServer) trimHistory(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.history) > n {
		f.history = append([]fakeEvent(nil), f.history[len(f.history)-n:]...)
	}
}

func (f *fakeServer) presence() {
	f.mu.Lock()
	var names []string
	for c := range f.conns {
		if c.username != "" {
			names = append(names, c.username)
		}
	}
	n := len(f.conns)
	f.mu.Unlock()
	f.broadcast(mustMarshal(map[string]any{"type": "stats", "activeUsers": n, "timestamp": 1795316057229}),
		mustMarshal(map[string]any{"type": "user_list", "users": names, "timestamp": 1795316057229}))
}

func (f *fakeServer) broadcast(frames ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.send(frames...)
	}
}

// drop closes every connection with a close frame carrying code, or
// without any close frame when code is 0.
func (f *fakeServer) drop(code int) {
	f.mu.Lock()
	conns := make([]*fakeConn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
		delete(f.conns, c)
	}
	f.mu.Unlock()
	for _, c := range conns {
		if code != 0 {
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, "bye"), time.Now().Add(time.Second))
		}
		_ = c.ws.Close()
	}
}

// upgrades is how many WebSocket upgrades the server has accepted: one per
// dial, even a dial that then fails for want of a connected message.
func (f *fakeServer) upgrades() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nextID
}

func (f *fakeServer) connCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func (f *fakeServer) snapshot() domain.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.canvas.Snapshot()
}

func (f *fakeServer) raw(w http.ResponseWriter, _ *http.Request) {
	s := f.snapshot()
	w.Header().Set("X-Canvas-Width", strconv.Itoa(s.Size.Width))
	w.Header().Set("X-Canvas-Height", strconv.Itoa(s.Size.Height))
	w.Header().Set("X-Canvas-Seq", strconv.FormatUint(s.Seq, 10))
	_, _ = w.Write(s.RGB)
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint("marshal in test: ", err))
	}
	return b
}
