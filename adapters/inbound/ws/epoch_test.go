package ws

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
	"github.com/pixelplayground/pixelplayground/ports"
)

// serveSnapshots serves GET /api/canvas/raw from store, as the REST API
// does (size, seq and epoch in headers), for clients that reload.
func serveSnapshots(t *testing.T, store ports.CanvasStore) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/canvas/raw" {
			http.NotFound(w, r)
			return
		}
		snap, err := store.Snapshot(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Canvas-Width", strconv.Itoa(snap.Size.Width))
		w.Header().Set("X-Canvas-Height", strconv.Itoa(snap.Size.Height))
		w.Header().Set("X-Canvas-Seq", strconv.FormatUint(snap.Seq, 10))
		w.Header().Set("X-Canvas-Epoch", string(snap.Epoch))
		_, _ = w.Write(snap.RGB)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// returning is a client that was offline and comes back with what it had
// drawn: a canvas up to since, on the timeline epoch ("" for a client that
// knows nothing of epochs). It resumes as the page does: it applies what
// it is replayed, and reloads the snapshot when told recovered=false.
type returning struct {
	t      *testing.T
	api    string
	mu     sync.Mutex
	canvas *domain.Canvas
	seq    domain.Seq
	resume chan wsclient.Resumed
	last   wsclient.Resumed // the latest resumed
}

func (r *returning) handle(m wsclient.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch m := m.(type) {
	case wsclient.PixelUpdated:
		c, err := domain.ParseColor(m.Color)
		if err != nil {
			r.t.Errorf("bad colour in %+v", m)
			return
		}
		r.canvas.Apply(domain.Event{Kind: domain.PixelPlaced, Seq: m.Seq, Pixel: domain.Pixel{X: m.X, Y: m.Y, Color: c}})
		r.seq = max(r.seq, m.Seq)
	case wsclient.Resumed:
		if !m.Recovered {
			snap, err := wsclient.FetchSnapshot(context.Background(), nil, r.api)
			if err != nil {
				r.t.Errorf("reload: %v", err)
				return
			}
			r.canvas, r.seq = domain.CanvasFromSnapshot(snap), snap.Seq
		}
		r.last = m
		select {
		case r.resume <- m:
		default:
		}
	}
}

func (r *returning) board() (domain.Snapshot, domain.Seq, wsclient.Resumed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.canvas.Snapshot(), r.seq, r.last
}

// TestNoPhantomPixelsWhenTheStoreLosesItsLastEvents is the phantom-pixel
// case: the store publishes events (every client draws them), then loses
// them (here: the canvas is served from now on by a store that has only
// what came before, as after a failover to a replica that lagged), and
// hands their seqs to new events. Every client must end with exactly the
// store's canvas: those connected throughout, one that was offline during
// the change and resumes with ?since= from the lost timeline and its
// epoch, and an old client that resumes without an epoch. Before epochs,
// the returning client was replayed the new events after its since as if
// they followed what it had, and kept the lost pixels for good.
func TestNoPhantomPixelsWhenTheStoreLosesItsLastEvents(t *testing.T) {
	ss := &swappableStore{}
	h := newHarness(t, harnessOptions{syncInterval: 20 * time.Millisecond,
		wrap: func(s ports.CanvasStore) ports.CanvasStore { ss.CanvasStore = s; return ss }})
	api := serveSnapshots(t, ss)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	live := make([]*wsclient.Resilient, 2)
	for i := range live {
		r, err := wsclient.NewResilient(ctx, h.url, wsclient.ResilientOptions{APIURL: api, Options: wsclient.Options{V2: i == 1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		live[i] = r
	}
	offline, err := wsclient.NewResilient(ctx, h.url, wsclient.ResilientOptions{APIURL: api})
	if err != nil {
		t.Fatal(err)
	}

	// Both timelines share these: the store keeps them.
	kept := []domain.Write{}
	for i := range 5 {
		kept = append(kept, domain.Write{Pixel: domain.Pixel{X: i, Y: 0, Color: 0x112233}})
	}
	if _, err := ss.Place(ctx, kept); err != nil {
		t.Fatal(err)
	}
	// These are published and drawn, then lost: on row 9, which the new
	// timeline never paints, so a client that keeps them is told apart.
	lost := []domain.Write{}
	for i := range 4 {
		lost = append(lost, domain.Write{Pixel: domain.Pixel{X: i, Y: 9, Color: 0xBADBAD}})
	}
	if _, err := ss.Place(ctx, lost); err != nil {
		t.Fatal(err)
	}
	before, err := ss.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(live, offline) {
		if err := r.WaitSeq(ctx, before.Seq); err != nil {
			t.Fatal(err)
		}
	}
	// The returning clients: what the offline one had drawn, on its
	// timeline, and the same canvas for one that sends no epoch.
	drawn := offline.Snapshot()
	_ = offline.Close()
	if drawn.At(0, 9) != 0xBADBAD {
		t.Fatalf("the offline client never drew the lost events")
	}

	// The loss: from now on the canvas is served by a store that has only
	// the kept events, on its own timeline, which hands seqs 6.. out again.
	survivor, err := logstore.Open(logstore.Options{Size: domain.DefaultSize, Bus: h.bus, Clock: system.NewClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = survivor.Close() })
	if _, err := survivor.Place(ctx, kept); err != nil {
		t.Fatal(err)
	}
	ss.swap(survivor)
	for i := range 10 { // more than were lost, so the new seqs pass the returning client's since
		if _, err := ss.Place(ctx, []domain.Write{{Pixel: domain.Pixel{X: i, Y: 3, Color: domain.Color(0x00AA00 + i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := ss.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Epoch == before.Epoch || after.Seq <= before.Seq {
		t.Fatalf("head %+v after the loss, %+v before: the test needs a new timeline that passed the old one", after, before)
	}

	for name, epoch := range map[string]string{"with its epoch": string(before.Epoch), "without an epoch": ""} {
		r := &returning{t: t, api: api, canvas: domain.CanvasFromSnapshot(drawn), seq: before.Seq, resume: make(chan wsclient.Resumed, 1)}
		c, err := wsclient.Dial(ctx, h.url, wsclient.Options{Resume: true, Since: before.Seq, Epoch: epoch, Handler: r.handle})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		select {
		case m := <-r.resume:
			// On the gateway's timeline, which is the new one once the
			// gateway noticed it; until then the old one, and the gateway
			// says so again (recovered=false, the new epoch) when it does.
			if m.Recovered {
				t.Errorf("returning client %s: resumed %+v, want recovered=false", name, m)
			}
		case <-ctx.Done():
			t.Fatalf("returning client %s: no resumed", name)
		}
		waitfor.Until(t, 10*time.Second, func() error {
			board, seq, last := r.board()
			if last.Epoch != string(after.Epoch) {
				return fmt.Errorf("returning client %s: last told epoch %q, want %q", name, last.Epoch, after.Epoch)
			}
			return sameBoard(ctx, ss, board, seq)
		})
	}
	for i, r := range live {
		waitfor.Until(t, 10*time.Second, func() error {
			if err := sameBoard(ctx, ss, r.Snapshot(), r.Seq()); err != nil {
				return fmt.Errorf("live client %d: %w", i, err)
			}
			return nil
		})
		if s := r.Stats(); s.Reloads == 0 {
			t.Errorf("live client %d never reloaded: %+v", i, s)
		}
	}
}

// sameBoard compares a client's board, at seq, with the store's snapshot.
func sameBoard(ctx context.Context, store ports.CanvasStore, board domain.Snapshot, seq domain.Seq) error {
	snap, err := store.Snapshot(ctx)
	if err != nil {
		return err
	}
	if seq != snap.Seq {
		return fmt.Errorf("at seq %d, the store at %d", seq, snap.Seq)
	}
	if !bytes.Equal(board.RGB, snap.RGB) {
		for y := 0; y < snap.Size.Height; y++ {
			for x := 0; x < snap.Size.Width; x++ {
				if board.At(x, y) != snap.At(x, y) {
					return fmt.Errorf("pixel (%d,%d) is %s, the store's %s", x, y, board.At(x, y), snap.At(x, y))
				}
			}
		}
	}
	return nil
}

// TestBadEpochIsRefused: an epoch longer than domain.MaxEpochLen on the
// upgrade is a 400, and a resume whose epoch is not a short string is
// bad_json; the connection that sent it stays usable.
func TestBadEpochIsRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	long := strings.Repeat("e", domain.MaxEpochLen+1)
	// A real upgrade: a plain GET would be refused for want of one.
	conn, resp, err := websocket.DefaultDialer.Dial(h.url+"?since=1&epoch="+long, nil)
	if err == nil {
		_ = conn.Close()
		t.Fatalf("an upgrade with a %d-byte epoch was accepted", len(long))
	}
	if resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("upgrade with a %d-byte epoch: %v %v, want 400", len(long), resp, err)
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	h.dial("?since=0&epoch=" + long[1:]) // at the limit: accepted
	c := h.dial("")
	for i, epoch := range []any{7, long, []string{"e"}} {
		c.send(map[string]any{"type": "resume", "since": 0, "epoch": epoch})
		m := c.waitAny(func(m map[string]any) bool { return m["type"] == "error" || m["type"] == "resumed" })
		if m["type"] != "error" || m["code"] != "bad_json" {
			t.Errorf("resume %d with epoch %v: %v, want a bad_json error", i, epoch, m)
		}
	}
	c.send(map[string]any{"type": "resume", "since": 0, "epoch": nil})
	if m := c.waitAny(func(m map[string]any) bool { return m["type"] == "error" || m["type"] == "resumed" }); m["type"] != "resumed" {
		t.Errorf("a resume without an epoch after the refusals: %v, want resumed", m)
	}
}
