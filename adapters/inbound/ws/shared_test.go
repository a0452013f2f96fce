package ws

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

// The shared stream's boundaries, on the registry without sockets: who gets
// the shared bytes, who gets its own frames, and that every connection
// still receives every event once, in order.

func testConn(id string, v2 bool) *Conn {
	return &Conn{id: id, v2: v2, out: newSendQueue(maxQueuedFrames, maxQueuedBytes), done: make(chan struct{})}
}

func testEvents(from, to domain.Seq, sender string) []domain.Event {
	var out []domain.Event
	for s := from; s <= to; s++ {
		e := domain.Event{Kind: domain.PixelPlaced, Seq: s, Time: domain.Timestamp(1000 + s), Pixel: domain.Pixel{X: int(s), Color: 0xFF0000}}
		if sender != "" {
			e.Origin = domain.Origin{GatewayID: "gw_test", ClientID: sender, WriteID: "w" + strconv.Itoa(int(s))}
		}
		out = append(out, e)
	}
	return out
}

// received is what a connection's writer would write now: every entry,
// whether it was the shared bytes of a flush (shared), and the messages
// the client decodes from it.
type received struct {
	shared [][]byte // the framed entries, as queued (a shared flush has the same backing array for everybody)
	msgs   []map[string]any
}

func drainConn(t *testing.T, c *Conn) received {
	t.Helper()
	var r received
	entries := c.out.take()
	for _, e := range entries {
		if e.framed {
			r.shared = append(r.shared, e.msg)
		}
	}
	buf, _ := appendFrames(nil, entries, c.v2)
	for _, f := range readFrames(t, buf) {
		var m map[string]any
		if err := json.Unmarshal(f, &m); err != nil {
			t.Fatalf("frame %s: %v", f, err)
		}
		if m["type"] == "batch" {
			for _, e := range m["events"].([]any) {
				r.msgs = append(r.msgs, e.(map[string]any))
			}
			continue
		}
		r.msgs = append(r.msgs, m)
	}
	return r
}

// seqs lists the seqs of the canvas events received.
func (r received) seqs() []int {
	var out []int
	for _, m := range r.msgs {
		if m["type"] == "pixel_updated" {
			out = append(out, int(m["seq"].(float64)))
		}
	}
	return out
}

func seqRange(from, to int) []int {
	var out []int
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func addMember(r *registry, c *Conn, lastSeq domain.Seq, catchingUp bool) *member {
	m := &member{conn: c, lastSeq: lastSeq, catchingUp: catchingUp}
	r.members[c] = m
	r.byID[c.id] = c
	return m
}

func sameBytes(a, b []byte) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

func TestLiveConnectionsShareOneEncodingPerProtocol(t *testing.T) {
	r := newRegistry()
	v1a, v1b, v2a, v2b := testConn("a", false), testConn("b", false), testConn("c", true), testConn("d", true)
	for _, c := range []*Conn{v1a, v1b, v2a, v2b} {
		addMember(r, c, 0, false)
	}
	if n := r.deliverEvents(testEvents(1, 5, ""), "gw_test"); n != 20 {
		t.Fatalf("deliveries = %d, want 4 connections × 5 events", n)
	}
	got := map[*Conn]received{}
	for _, c := range []*Conn{v1a, v1b, v2a, v2b} {
		got[c] = drainConn(t, c)
		if s := got[c].seqs(); !slices.Equal(s, seqRange(1, 5)) {
			t.Fatalf("%s received seqs %v, want 1..5", c.id, s)
		}
		if len(got[c].shared) != 1 {
			t.Fatalf("%s got %d shared entries, want the flush", c.id, len(got[c].shared))
		}
	}
	if !sameBytes(got[v1a].shared[0], got[v1b].shared[0]) || !sameBytes(got[v2a].shared[0], got[v2b].shared[0]) {
		t.Fatal("connections of one protocol were not given the same bytes")
	}
	if sameBytes(got[v1a].shared[0], got[v2a].shared[0]) {
		t.Fatal("v1 and v2 connections share a framing")
	}
}

// The sender of an event in a flush gets its own frames (its echo carries
// the write id), and the next flush without its writes is shared again.
func TestSenderGetsItsEchoThenRejoinsTheSharedStream(t *testing.T) {
	r := newRegistry()
	sender, other := testConn("s", true), testConn("o", true)
	addMember(r, sender, 0, false)
	addMember(r, other, 0, false)
	r.deliverEvents(testEvents(1, 3, "s"), "gw_test")
	s, o := drainConn(t, sender), drainConn(t, other)
	if len(s.shared) != 1 || len(o.shared) != 1 || sameBytes(s.shared[0], o.shared[0]) {
		t.Fatalf("framed entries: sender %d, other %d (want 1 each, not the same bytes)", len(s.shared), len(o.shared))
	}
	if !slices.Equal(s.seqs(), seqRange(1, 3)) || !slices.Equal(o.seqs(), seqRange(1, 3)) {
		t.Fatalf("seqs: sender %v, other %v", s.seqs(), o.seqs())
	}
	for _, m := range s.msgs {
		if m["id"] == nil {
			t.Fatalf("the sender's event has no write id: %v", m)
		}
	}
	for _, m := range o.msgs {
		if m["id"] != nil {
			t.Fatalf("another client's event carries the write id: %v", m)
		}
	}
	r.deliverEvents(testEvents(4, 6, ""), "gw_test")
	s, o = drainConn(t, sender), drainConn(t, other)
	if len(s.shared) != 1 || !sameBytes(s.shared[0], o.shared[0]) {
		t.Fatal("the sender did not rejoin the shared stream")
	}
	if !slices.Equal(s.seqs(), seqRange(4, 6)) {
		t.Fatalf("sender's seqs after rejoining: %v", s.seqs())
	}
}

// A connection told a seq inside a flush (it registered while the store
// was ahead of this gateway) gets only the events after it, as its own
// frames, and joins the shared stream at the next flush.
func TestConnectionAheadOfTheFlushJoinsAtTheNext(t *testing.T) {
	r := newRegistry()
	live, ahead := testConn("l", false), testConn("a", false)
	addMember(r, live, 0, false)
	addMember(r, ahead, 3, false)
	r.deliverEvents(testEvents(1, 5, ""), "gw_test")
	l, a := drainConn(t, live), drainConn(t, ahead)
	if !slices.Equal(a.seqs(), seqRange(4, 5)) || len(a.shared) != 1 || sameBytes(a.shared[0], l.shared[0]) {
		t.Fatalf("ahead connection got %v (%d framed entries), want its own 4, 5", a.seqs(), len(a.shared))
	}
	if !slices.Equal(l.seqs(), seqRange(1, 5)) {
		t.Fatalf("live connection got %v", l.seqs())
	}
	// Entirely covered by what it was told: nothing, not even shared bytes.
	far := testConn("f", false)
	addMember(r, far, 9, false)
	r.deliverEvents(testEvents(6, 9, ""), "gw_test")
	if f := drainConn(t, far); len(f.msgs) != 0 {
		t.Fatalf("connection told seq 9 received %v", f.seqs())
	}
	drainConn(t, live)
	drainConn(t, ahead)
	r.deliverEvents(testEvents(10, 11, ""), "gw_test")
	l, a, f := drainConn(t, live), drainConn(t, ahead), drainConn(t, far)
	if len(l.shared) != 1 || len(a.shared) != 1 || len(f.shared) != 1 || !sameBytes(l.shared[0], a.shared[0]) || !sameBytes(l.shared[0], f.shared[0]) {
		t.Fatal("connections did not join the shared stream at the next flush")
	}
	if !slices.Equal(f.seqs(), seqRange(10, 11)) {
		t.Fatalf("joined connection got %v", f.seqs())
	}
}

// A resuming connection receives nothing shared while its history is
// read; its replay, `resumed` and backlog are its own frames; the flush
// after that is shared, with no event missing or twice across the boundary.
func TestResumingConnectionJoinsTheSharedStreamAfterItsBacklog(t *testing.T) {
	r := newRegistry()
	live, resuming := testConn("l", true), testConn("r", true)
	addMember(r, live, 0, false)
	addMember(r, resuming, 2, true) // told 2, resuming from since=0
	r.deliverEvents(testEvents(3, 4, ""), "gw_test")
	if got := drainConn(t, resuming); len(got.msgs) != 0 {
		t.Fatalf("a connection catching up was sent %v", got.msgs)
	}
	// Its history, read meanwhile: 1..3 (4 arrived live into its backlog).
	r.finishCatchUp(resuming, 0, testEvents(1, 3, ""), true, r.timeline())
	r.deliverEvents(testEvents(5, 6, ""), "gw_test")
	got := drainConn(t, resuming)
	if !slices.Equal(got.seqs(), seqRange(1, 6)) {
		t.Fatalf("resuming connection received seqs %v, want 1..6 once each", got.seqs())
	}
	if len(got.shared) != 1 {
		t.Fatalf("shared entries after the catch-up: %d, want 1 (the flush of 5, 6)", len(got.shared))
	}
	types := []string{}
	for _, m := range got.msgs {
		types = append(types, m["type"].(string))
	}
	if want := []string{"pixel_updated", "pixel_updated", "pixel_updated", "resumed", "pixel_updated", "pixel_updated", "pixel_updated"}; !slices.Equal(types, want) {
		t.Fatalf("messages %v, want %v", types, want)
	}
	l := drainConn(t, live)
	if !sameBytes(l.shared[len(l.shared)-1], got.shared[0]) {
		t.Fatal("the resumed connection's flush is not the live connections' bytes")
	}
}
