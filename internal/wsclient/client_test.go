package wsclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

const waitLimit = 5 * time.Second

func dial(t *testing.T, url string, o Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	c, err := Dial(ctx, url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		<-c.Done()
	})
	return c
}

// next returns the next message that is not presence or cursor chatter
// (unless that is what the test waits for).
func next(t *testing.T, c *Client, skip ...string) Message {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				t.Fatal("channel closed")
			}
			skipped := false
			for _, s := range skip {
				skipped = skipped || m.Type() == s
			}
			if !skipped {
				return m
			}
		case <-timeout:
			t.Fatal("no message within", waitLimit)
		}
	}
}

func nextOf[T Message](t *testing.T, c *Client, skip ...string) T {
	t.Helper()
	m := next(t, c, skip...)
	v, ok := m.(T)
	if !ok {
		var want T
		t.Fatalf("got %#v, want a %T", m, want)
	}
	return v
}

func TestDialWaitsForConnectedAndSetsUsername(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	f.place(domain.Pixel{X: 1, Y: 1, Color: 0xFF0000}, "", nil, "")
	c := dial(t, f.wsURL(), Options{Username: "Alice"})
	if c.ClientID() != "c_1" || c.ConnectedSeq() != 1 || c.Width() != 8 || c.Height() != 4 || c.Subprotocol() != "" {
		t.Fatalf("id %q seq %d size %dx%d proto %q", c.ClientID(), c.ConnectedSeq(), c.Width(), c.Height(), c.Subprotocol())
	}
	if got := nextOf[Connected](t, c); got.ClientID != "c_1" || got.Seq != 1 {
		t.Fatalf("first message %#v", got)
	}
	nextOf[Stats](t, c)
	if ul := nextOf[UserList](t, c); !reflect.DeepEqual(ul.Users, []string{"Alice"}) {
		t.Fatalf("set_username did not reach the server: %v", ul.Users)
	}
}

func TestDialDefaultsTheSizeForV1Servers(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	f.greeting = []byte(`{"type":"connected","message":"Connected to Cloud Pixel Playground","clientId":"c_old"}`)
	c := dial(t, f.wsURL(), Options{})
	if c.Width() != 50 || c.Height() != 50 || c.ConnectedSeq() != 0 || c.ClientID() != "c_old" {
		t.Fatalf("size %dx%d seq %d", c.Width(), c.Height(), c.ConnectedSeq())
	}
}

func TestDialRefusesAServerThatDoesNotGreet(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	f.greeting = []byte(`{"type":"stats","activeUsers":1,"timestamp":1}`)
	ctx := context.Background()
	if _, err := Dial(ctx, f.wsURL(), Options{}); err == nil || !strings.Contains(err.Error(), `"stats", not connected`) {
		t.Fatalf("err = %v", err)
	}
	f.greeting, f.silent = nil, true
	start := time.Now()
	_, err := Dial(ctx, f.wsURL(), Options{HandshakeTimeout: 200 * time.Millisecond})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("silent server: err %v after %v", err, time.Since(start))
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := Dial(cctx, f.wsURL(), Options{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled context: err %v", err)
	}
	if _, err := Dial(ctx, "ftp://example/ws", Options{}); err == nil {
		t.Fatal("ftp URL accepted")
	}
	if _, err := Dial(ctx, f.srv.URL+"/nope", Options{}); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Fatalf("404: err %v", err)
	}
}

func TestUpgradeURL(t *testing.T) {
	cases := []struct {
		in   string
		o    Options
		want string
	}{
		{"ws://h:1/ws", Options{}, "ws://h:1/ws"},
		{"http://h:1/ws", Options{}, "ws://h:1/ws"},
		{"https://h/", Options{}, "wss://h/"},
		{"ws://h/ws?room=a", Options{Since: 7}, "ws://h/ws?room=a&since=7"},
		{"ws://h/ws", Options{Resume: true}, "ws://h/ws?since=0"},
	}
	for _, c := range cases {
		if got, err := upgradeURL(c.in, c.o); err != nil || got != c.want {
			t.Errorf("%s %+v: %q %v, want %q", c.in, c.o, got, err, c.want)
		}
	}
}

func TestWritesAndReplies(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	a := dial(t, f.wsURL(), Options{})
	b := dial(t, f.wsURL(), Options{})
	nextOf[Connected](t, a)
	nextOf[Connected](t, b)

	if err := a.PlacePixel(2, 3, "#00ff00", "w1"); err != nil {
		t.Fatal(err)
	}
	mine := nextOf[PixelUpdated](t, a)
	theirs := nextOf[PixelUpdated](t, b)
	if mine.ID != "w1" || theirs.ID != "" || mine.Seq != 1 || theirs.Seq != 1 || theirs.X != 2 || theirs.Y != 3 || theirs.Color != "#00FF00" {
		t.Fatalf("mine %#v theirs %#v", mine, theirs)
	}
	if mine.Timestamp < float64(time.Now().Add(-time.Minute).UnixMilli()) {
		t.Fatalf("timestamp %v is not epoch ms", mine.Timestamp)
	}

	if err := a.PlacePixel(99, 0, "#00ff00", "w2"); err != nil {
		t.Fatal(err)
	}
	if e := nextOf[Error](t, a); e.Code != "bad_pixel" || e.ID != "w2" || e.Message != "Invalid pixel data" {
		t.Fatalf("error %#v", e)
	}
	if err := a.WriteRaw([]byte("{nope")); err != nil {
		t.Fatal(err)
	}
	if e := nextOf[Error](t, a); e.Code != "bad_json" {
		t.Fatalf("error %#v", e)
	}
	if err := a.Ping(); err != nil {
		t.Fatal(err)
	}
	nextOf[Pong](t, a)

	if err := a.Cursor(1.5, 2); err != nil {
		t.Fatal(err)
	}
	cur := nextOf[Cursors](t, b)
	if len(cur.Cursors) != 1 || cur.Cursors[0].ClientID != a.ClientID() || cur.Cursors[0].X != 1.5 {
		t.Fatalf("cursors %#v", cur)
	}
	if err := a.CursorLeave(); err != nil {
		t.Fatal(err)
	}
	if cur := nextOf[Cursors](t, b); !reflect.DeepEqual(cur.Gone, []string{a.ClientID()}) {
		t.Fatalf("cursor leave %#v", cur)
	}

	seq := f.reset()
	if r := nextOf[CanvasReset](t, b, "cursors"); r.Seq != seq {
		t.Fatalf("reset %#v", r)
	}
}

func TestResumeFromSince(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	for i := range 5 {
		f.place(domain.Pixel{X: i, Color: domain.Color(i)}, "", nil, "")
	}
	c := dial(t, f.wsURL(), Options{Since: 3})
	nextOf[Connected](t, c)
	if p := nextOf[PixelUpdated](t, c); p.Seq != 4 {
		t.Fatalf("replay starts at %d", p.Seq)
	}
	if p := nextOf[PixelUpdated](t, c); p.Seq != 5 {
		t.Fatalf("replay continues at %d", p.Seq)
	}
	if r := nextOf[Resumed](t, c); r != (Resumed{Seq: 5, Recovered: true}) {
		t.Fatalf("resumed %#v", r)
	}

	// The message form of resume, from 0, on an open connection.
	if err := c.Resume(0); err != nil {
		t.Fatal(err)
	}
	for want := uint64(1); want <= 5; want++ {
		if p := nextOf[PixelUpdated](t, c); p.Seq != want {
			t.Fatalf("replay from 0: got seq %d, want %d", p.Seq, want)
		}
	}
	nextOf[Resumed](t, c)
}

func TestV2UnpacksBatches(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	for i := range 3 {
		f.place(domain.Pixel{X: i, Color: 0xABCDEF}, "bob", nil, "")
	}
	// The fake batches connected, the replay and resumed into one frame,
	// which Dial must take apart.
	c := dial(t, f.wsURL(), Options{V2: true, Resume: true})
	if c.Subprotocol() != SubprotocolV2 || c.ConnectedSeq() != 3 {
		t.Fatalf("proto %q seq %d", c.Subprotocol(), c.ConnectedSeq())
	}
	nextOf[Connected](t, c)
	for want := uint64(1); want <= 3; want++ {
		if p := nextOf[PixelUpdated](t, c); p.Seq != want || p.Username != "bob" {
			t.Fatalf("got %#v, want seq %d", p, want)
		}
	}
	nextOf[Resumed](t, c)
	f.presence() // stats + user_list, batched
	nextOf[Stats](t, c)
	nextOf[UserList](t, c)
}

func TestCloseCodes(t *testing.T) {
	f := newFakeServer(t, 8, 4)

	restart := dial(t, f.wsURL(), Options{})
	f.drop(websocket.CloseServiceRestart)
	<-restart.Done()
	if got := restart.Closed(); got.Code != websocket.CloseServiceRestart {
		t.Fatalf("closed %#v", got)
	}
	// The channel ends with Closed, then closes.
	var last Message
	for m := range restart.Messages() {
		last = m
	}
	if cl, ok := last.(Closed); !ok || cl.Code != websocket.CloseServiceRestart {
		t.Fatalf("last message %#v", last)
	}
	if err := restart.PlacePixel(0, 0, "#000000", ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}

	abrupt := dial(t, f.wsURL(), Options{})
	f.drop(0)
	if got := abrupt.Closed(); got.Code != websocket.CloseAbnormalClosure {
		t.Fatalf("abrupt: %#v", got)
	}

	mine := dial(t, f.wsURL(), Options{})
	if err := mine.Close(); err != nil {
		t.Fatal(err)
	}
	if got := mine.Closed(); got.Code != websocket.CloseNormalClosure {
		t.Fatalf("own close: %#v", got)
	}
	if err := mine.Close(); err != nil {
		t.Fatal("second Close:", err)
	}

	aborted := dial(t, f.wsURL(), Options{})
	aborted.Abort()
	if got := aborted.Closed(); got.Code != websocket.CloseAbnormalClosure {
		t.Fatalf("abort: %#v", got)
	}
}

func TestReadTimeoutAndProtocolPings(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	quiet := dial(t, f.wsURL(), Options{ReadTimeout: 300 * time.Millisecond})
	start := time.Now()
	got := quiet.Closed()
	var ne net.Error
	if got.Code != websocket.CloseAbnormalClosure || !errors.As(got.Err, &ne) || !ne.Timeout() {
		t.Fatalf("closed %#v", got)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timed out after %v", d)
	}

	// Protocol pings are answered and keep the connection alive past the
	// read timeout.
	pinged := dial(t, f.wsURL(), Options{ReadTimeout: 300 * time.Millisecond})
	f.mu.Lock()
	var conn *fakeConn
	for c := range f.conns {
		conn = c
	}
	f.mu.Unlock()
	// The pauses are the scenario, not a wait: eight pings 100 ms apart
	// span 800 ms, well past the 300 ms read timeout, and no other frame
	// arrives in that time.
	for range 8 {
		if err := conn.ws.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-pinged.Done():
		t.Fatalf("closed despite pings: %#v", pinged.Closed())
	default:
	}
	waitfor.True(t, waitLimit, "a pong for each of 8 pings", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.pongs >= 8
	})
}

func TestFullChannelDropsInsteadOfBlocking(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	c := dial(t, f.wsURL(), Options{Buffer: 4})
	for i := range 20 {
		f.place(domain.Pixel{X: i % 8, Color: 1}, "", nil, "")
	}
	// Nobody reads; the reader must keep going and account for the rest.
	waitfor.True(t, waitLimit, "17 messages dropped", func() bool { return c.Dropped() >= 17 })
	if c.Dropped() != 17 { // connected + 3 events fit in 4 slots
		t.Fatalf("dropped %d, want 17", c.Dropped())
	}
	f.drop(websocket.CloseGoingAway)
	var got []Message
	for m := range c.Messages() {
		got = append(got, m)
	}
	if len(got) != 5 || got[4].Type() != "closed" {
		t.Fatalf("delivered %d messages, last %#v", len(got), got[len(got)-1])
	}
}

func TestConcurrentWritesAreSerialized(t *testing.T) {
	f := newFakeServer(t, 8, 4)
	var seen int
	done := make(chan struct{})
	c := dial(t, f.wsURL(), Options{Handler: func(m Message) {
		if _, ok := m.(PixelUpdated); ok {
			seen++
			if seen == 200 {
				close(done)
			}
		}
	}})
	if c.Messages() != nil {
		t.Fatal("a Handler client has a channel")
	}
	errs := make(chan error, 200)
	for g := range 20 {
		go func() {
			for i := range 10 {
				errs <- c.PlacePixel(g%8, i%4, "#123456", strconv.Itoa(g*10+i))
			}
		}()
	}
	for range 200 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatalf("saw %d of 200 echoes", seen)
	}
}

func TestFetchSnapshot(t *testing.T) {
	f := newFakeServer(t, 3, 2)
	f.place(domain.Pixel{X: 2, Y: 1, Color: 0x123456}, "", nil, "")
	ctx := context.Background()
	s, err := FetchSnapshot(ctx, nil, f.apiURL()+"/")
	if err != nil {
		t.Fatal(err)
	}
	if s.Seq != 1 || s.Size != (domain.Size{Width: 3, Height: 2}) || s.At(2, 1) != 0x123456 || s.At(0, 0) != domain.White {
		t.Fatalf("snapshot %+v", s)
	}
	bad := []func(http.ResponseWriter){
		func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) },
		func(w http.ResponseWriter) { w.Header().Set("X-Canvas-Width", "x") },
		func(w http.ResponseWriter) {
			w.Header().Set("X-Canvas-Width", "2")
			w.Header().Set("X-Canvas-Height", "1")
			w.Header().Set("X-Canvas-Seq", "4")
			_, _ = w.Write([]byte{1, 2, 3})
		},
		func(w http.ResponseWriter) {
			w.Header().Set("X-Canvas-Width", "99999")
			w.Header().Set("X-Canvas-Height", "1")
			w.Header().Set("X-Canvas-Seq", "4")
		},
	}
	for i, h := range bad {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { h(w) }))
		if _, err := FetchSnapshot(ctx, nil, srv.URL); err == nil {
			t.Errorf("bad response %d accepted", i)
		}
		srv.Close()
	}
}
