package wsclient

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

func newResilient(t *testing.T, f *fakeServer, o ResilientOptions) *Resilient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	r, err := NewResilient(ctx, f.wsURL(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func sameCanvas(t *testing.T, got, want domain.Snapshot) {
	t.Helper()
	if got.Size != want.Size || got.Seq != want.Seq || !bytes.Equal(got.RGB, want.RGB) {
		t.Fatalf("canvas differs: got seq %d size %v, want seq %d size %v (pixels equal: %v)",
			got.Seq, got.Size, want.Seq, want.Size, bytes.Equal(got.RGB, want.RGB))
	}
}

func waitSeq(t *testing.T, r *Resilient, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := r.WaitSeq(ctx, seq); err != nil {
		t.Fatal(err)
	}
}

func TestResilientStartsFromHistoryAndResumesAfterDrops(t *testing.T) {
	f := newFakeServer(t, 6, 5)
	for i := range 4 {
		f.place(domain.Pixel{X: i, Y: 1, Color: 0x00AA00}, "early", nil, "")
	}
	var seen atomic.Int64
	r := newResilient(t, f, ResilientOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond,
		OnMessage: func(Message) { seen.Add(1) }})
	sameCanvas(t, r.Snapshot(), f.snapshot()) // synced from history when NewResilient returns

	for round := range 3 {
		code := websocket.CloseServiceRestart
		if round == 1 {
			code = 0 // no close frame
		}
		f.drop(code)
		// Writes while the client is away, including a reset, must all be
		// replayed on resume.
		for i := range 5 {
			f.place(domain.Pixel{X: i, Y: round, Color: domain.Color(0x101010 * (i + 1))}, "other", nil, "")
		}
		if round == 2 {
			f.reset()
			f.place(domain.Pixel{X: 5, Y: 4, Color: 0xFF00FF}, "other", nil, "")
		}
		waitSeq(t, r, f.snapshot().Seq)
		// Live traffic after the resume.
		last := f.place(domain.Pixel{X: 0, Y: 4, Color: 0x0000FF}, "other", nil, "")
		waitSeq(t, r, last)
		sameCanvas(t, r.Snapshot(), f.snapshot())
	}

	st := r.Stats()
	if len(st.Reconnects) != 3 || st.Gaps != 0 || st.Duplicates != 0 || st.Reloads != 0 || len(st.Problems) != 0 {
		t.Fatalf("stats %+v", st)
	}
	wantCodes := []int{websocket.CloseServiceRestart, websocket.CloseAbnormalClosure, websocket.CloseServiceRestart}
	wantReplay := []int{5, 5, 7}
	for i, rc := range st.Reconnects {
		if rc.CloseCode != wantCodes[i] || rc.Replayed != wantReplay[i] || !rc.Recovered || rc.Reloaded || rc.Attempts < 1 {
			t.Errorf("reconnect %d: %+v", i, rc)
		}
		if rc.ResumedAfter < 20*time.Millisecond || rc.FirstEventAfter < rc.ResumedAfter {
			t.Errorf("reconnect %d: resumed after %v, first event after %v", i, rc.ResumedAfter, rc.FirstEventAfter)
		}
	}
	if seen.Load() == 0 {
		t.Fatal("OnMessage never called")
	}
	c := r.Client()
	if c == nil {
		t.Fatal("not connected at the end")
	}
	want := r.Seq() + 1
	if err := r.PlacePixel(1, 1, "#FFFF00", "mine"); err != nil {
		t.Fatal(err)
	}
	waitSeq(t, r, want)
	if f.snapshot().At(1, 1) != 0xFFFF00 {
		t.Fatal("write through Resilient did not land")
	}
}

func TestResilientReloadsWhenHistoryIsGone(t *testing.T) {
	f := newFakeServer(t, 4, 4)
	for i := range 6 {
		f.place(domain.Pixel{X: i % 4, Y: i / 4, Color: 0x111111}, "", nil, "")
	}
	f.trimHistory(2) // seq 1..4 are gone: even the first dial must reload
	r := newResilient(t, f, ResilientOptions{APIURL: f.apiURL(), MinBackoff: 10 * time.Millisecond})
	sameCanvas(t, r.Snapshot(), f.snapshot())
	if st := r.Stats(); st.Reloads != 1 || len(st.Problems) != 0 {
		t.Fatalf("first sync: %+v", st)
	}

	f.drop(websocket.CloseServiceRestart)
	for i := range 6 {
		f.place(domain.Pixel{X: i % 4, Y: 3, Color: 0x222222}, "", nil, "")
	}
	f.trimHistory(1)
	waitSeq(t, r, f.snapshot().Seq)
	last := f.place(domain.Pixel{X: 3, Y: 3, Color: 0x333333}, "", nil, "")
	waitSeq(t, r, last)
	sameCanvas(t, r.Snapshot(), f.snapshot())
	st := r.Stats()
	if st.Reloads != 2 || st.Gaps != 0 || len(st.Reconnects) != 1 || !st.Reconnects[0].Reloaded || st.Reconnects[0].Recovered {
		t.Fatalf("stats %+v", st)
	}
}

// A server whose store lost its last writes says resumed(recovered=false)
// at a seq below ours: the client must take the snapshot as it now is and
// accept the seqs the server reuses, not count them as duplicates.
func TestResilientFollowsAStoreThatWentBack(t *testing.T) {
	f := newFakeServer(t, 4, 4)
	r := newResilient(t, f, ResilientOptions{APIURL: f.apiURL()})
	for i := range 5 {
		f.place(domain.Pixel{X: i % 4, Y: i / 4, Color: 0x111111}, "", nil, "")
	}
	waitSeq(t, r, 5)
	f.rollback(2)
	// The reload sees the store at seq 2.
	waitfor.True(t, waitLimit, "a reload after the rollback", func() bool { return r.Stats().Reloads > 0 })
	for i := range 4 {
		f.place(domain.Pixel{X: i, Y: 3, Color: 0x222222}, "", nil, "")
	}
	waitSeq(t, r, 6)
	sameCanvas(t, r.Snapshot(), f.snapshot())
	if st := r.Stats(); st.Reloads != 1 || st.Duplicates != 0 || st.Gaps != 0 || len(st.Problems) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestResilientWithoutAPIRecordsTheHole(t *testing.T) {
	f := newFakeServer(t, 4, 4)
	for range 3 {
		f.place(domain.Pixel{Color: 1}, "", nil, "")
	}
	f.trimHistory(1)
	r := newResilient(t, f, ResilientOptions{})
	if st := r.Stats(); len(st.Problems) != 1 || r.Seq() != 3 {
		t.Fatalf("seq %d stats %+v", r.Seq(), st)
	}
}

func TestResilientKeepsRedialling(t *testing.T) {
	f := newFakeServer(t, 4, 4)
	r := newResilient(t, f, ResilientOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Options: Options{HandshakeTimeout: 300 * time.Millisecond}})
	f.mu.Lock()
	f.silent = true // upgrades succeed, connected never comes: every dial fails
	f.mu.Unlock()
	before := f.upgrades()
	f.drop(websocket.CloseServiceRestart)
	// Each dial upgrades, then times out waiting for connected; the third
	// upgrade means two dials have failed and the client is still at it.
	waitfor.True(t, waitLimit, "three dials while the server is silent", func() bool { return f.upgrades() >= before+3 })
	if err := r.PlacePixel(0, 0, "#000000", ""); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("write while down: %v", err)
	}
	f.mu.Lock()
	f.silent = false
	f.mu.Unlock()
	f.drop(websocket.CloseGoingAway) // the silent connections
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := r.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); len(st.Reconnects) != 1 || st.Reconnects[0].Attempts < 2 {
		t.Fatalf("stats %+v", st)
	}
	start := time.Now()
	_ = r.Close()
	if time.Since(start) > 2*time.Second {
		t.Fatal("Close was slow")
	}
	// The server sees the close once its reader gets the close frame.
	waitfor.True(t, waitLimit, "no connection left open after Close", func() bool { return f.connCount() == 0 })
}
