// Package storetest is the contract every ports.CanvasStore implementation
// passes. An implementation's _test file calls Run with a Factory; the suite
// checks everything ports/store.go promises: gap-free seqs (also under
// concurrent writers), increasing timestamps, what is stored and returned,
// snapshots, pixel info, resets, history with its trimming, and publication
// on the bus in seq order. RunStores is the contract of a
// ports.CanvasStores: many canvases side by side, isolated.
package storetest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Config is what a store under test is opened with.
type Config struct {
	Size        domain.Size
	HistorySize int
}

// Factory opens a fresh, empty store with cfg, plus the bus it publishes
// ChannelPixelUpdates on. Clean-up goes through t.Cleanup.
type Factory func(t *testing.T, cfg Config) (ports.CanvasStore, ports.Bus)

// timeout bounds every call and every wait for a published event; only a
// broken store makes the suite wait that long.
const timeout = 10 * time.Second

var small = Config{Size: domain.Size{Width: 8, Height: 6}, HistorySize: 1000}

// Run runs the whole contract.
func Run(t *testing.T, open Factory) {
	t.Run("Size", func(t *testing.T) { testSize(t, open) })
	t.Run("SeqStartsAtOneWithoutGaps", func(t *testing.T) { testSeq(t, open) })
	t.Run("EmptyPlaceTakesNoSeq", func(t *testing.T) { testEmptyPlace(t, open) })
	t.Run("TimestampsIncreaseWithSeq", func(t *testing.T) { testTimestamps(t, open) })
	t.Run("EventsRoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("BatchInWriteOrder", func(t *testing.T) { testBatchOrder(t, open) })
	t.Run("Snapshot", func(t *testing.T) { testSnapshot(t, open) })
	t.Run("PixelInfo", func(t *testing.T) { testPixel(t, open) })
	t.Run("Reset", func(t *testing.T) { testReset(t, open) })
	t.Run("Since", func(t *testing.T) { testSince(t, open) })
	t.Run("SinceAfterTrimming", func(t *testing.T) { testTrimmed(t, open) })
	t.Run("PublishedInSeqOrder", func(t *testing.T) { testPublication(t, open) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("SnapshotIsConsistentUnderWrites", func(t *testing.T) { testConsistentSnapshots(t, open) })
	t.Run("Large", func(t *testing.T) { testLarge(t, open) })
	t.Run("Ping", func(t *testing.T) { testPing(t, open) })
	t.Run("EpochStable", func(t *testing.T) { testEpochStable(t, open) })
	t.Run("SinceOnAnotherTimeline", func(t *testing.T) { testSinceEpochs(t, open) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

func write(x, y int, c domain.Color, user string, writeID string) domain.Write {
	return domain.Write{
		Pixel:    domain.Pixel{X: x, Y: y, Color: c},
		Username: user,
		Origin:   domain.Origin{GatewayID: "gw_test", ClientID: "c_" + user, WriteID: writeID},
	}
}

func place(t *testing.T, s ports.CanvasStore, writes ...domain.Write) []domain.Event {
	t.Helper()
	events, err := s.Place(ctx(t), writes)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	if len(events) != len(writes) {
		t.Fatalf("Place of %d writes returned %d events", len(writes), len(events))
	}
	return events
}

func reset(t *testing.T, s ports.CanvasStore, o domain.Origin) domain.Event {
	t.Helper()
	e, err := s.Reset(ctx(t), o)
	if err != nil {
		t.Fatalf("Reset: %v", err)
	}
	return e
}

func latest(t *testing.T, s ports.CanvasStore) domain.Seq {
	t.Helper()
	return head(t, s).Seq
}

func head(t *testing.T, s ports.CanvasStore) domain.Head {
	t.Helper()
	h, err := s.Head(ctx(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if h.Epoch == "" || len(h.Epoch) > domain.MaxEpochLen {
		t.Fatalf("Head = %+v: the epoch must be a non-empty string of at most %d bytes", h, domain.MaxEpochLen)
	}
	return h
}

func snapshot(t *testing.T, s ports.CanvasStore) domain.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(ctx(t))
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return snap
}

// since reads history as a caller on the store's current timeline does.
func since(t *testing.T, s ports.CanvasStore, after domain.Seq, limit int) ([]domain.Event, bool) {
	t.Helper()
	h := sinceOn(t, s, after, head(t, s).Epoch, limit)
	return h.Events, h.Complete
}

func sinceOn(t *testing.T, s ports.CanvasStore, after domain.Seq, epoch domain.Epoch, limit int) ports.History {
	t.Helper()
	h, err := s.Since(ctx(t), after, epoch, limit)
	if err != nil {
		t.Fatalf("Since(%d, %q, %d): %v", after, epoch, limit, err)
	}
	return h
}

func pixel(t *testing.T, s ports.CanvasStore, x, y int) domain.PixelInfo {
	t.Helper()
	p, err := s.Pixel(ctx(t), x, y)
	if err != nil {
		t.Fatalf("Pixel(%d, %d): %v", x, y, err)
	}
	return p
}

// seqs lists the events' seqs, for messages.
func seqs(events []domain.Event) []domain.Seq {
	out := make([]domain.Seq, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

// listen subscribes to the store's event channel and returns a function
// that waits for n more events (failing the test after timeout).
func listen(t *testing.T, bus ports.Bus) (next func(n int) []domain.Event) {
	t.Helper()
	nextOn := listenEpochs(t, bus)
	return func(n int) []domain.Event {
		t.Helper()
		events, _ := nextOn(n)
		return events
	}
}

// listenEpochs is listen that also returns the epoch each event was
// published with.
func listenEpochs(t *testing.T, bus ports.Bus) (next func(n int) ([]domain.Event, []domain.Epoch)) {
	t.Helper()
	subCtx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch := make(chan []byte, 100000)
	err := bus.Subscribe(subCtx, []string{ports.ChannelPixelUpdates}, func(m ports.Message) {
		if m.Channel != ports.ChannelPixelUpdates {
			t.Errorf("message on channel %q", m.Channel)
		}
		ch <- append([]byte(nil), m.Payload...)
	}, nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return func(n int) ([]domain.Event, []domain.Epoch) {
		t.Helper()
		out := make([]domain.Event, 0, n)
		epochs := make([]domain.Epoch, 0, n)
		deadline := time.After(timeout)
		for len(out) < n {
			select {
			case p := <-ch:
				batch, epoch, err := busmsg.DecodeEvents(p)
				if err != nil {
					t.Fatalf("published payload %q does not decode: %v", p, err)
				}
				for _, e := range batch {
					out = append(out, e)
					epochs = append(epochs, epoch)
				}
			case <-deadline:
				t.Fatalf("received %d of %d published events within %s", len(out), n, timeout)
			}
		}
		return out, epochs
	}
}

func testSize(t *testing.T, open Factory) {
	for _, size := range []domain.Size{{Width: 8, Height: 6}, {Width: 1, Height: 1}, {Width: 3, Height: 70}} {
		s, _ := open(t, Config{Size: size, HistorySize: 10})
		if got := s.Size(); got != size {
			t.Errorf("Size() = %v, want %v", got, size)
		}
	}
}

func testSeq(t *testing.T, open Factory) {
	s, _ := open(t, small)
	if got := latest(t, s); got != 0 {
		t.Fatalf("LatestSeq of a new store = %d, want 0", got)
	}
	var all []domain.Event
	all = append(all, place(t, s, write(0, 0, 0x111111, "a", "1"))...)
	all = append(all, place(t, s, write(1, 0, 0x222222, "b", "2"), write(2, 0, 0x333333, "b", "3"), write(3, 0, 0x444444, "b", "4"))...)
	all = append(all, reset(t, s, domain.Origin{}))
	all = append(all, place(t, s, write(0, 0, 0x555555, "c", "5"))...)
	for i, e := range all {
		if e.Seq != domain.Seq(i+1) {
			t.Fatalf("seqs = %v, want 1..%d without gaps", seqs(all), len(all))
		}
	}
	if got := latest(t, s); got != domain.Seq(len(all)) {
		t.Errorf("LatestSeq = %d, want %d", got, len(all))
	}
}

func testEmptyPlace(t *testing.T, open Factory) {
	s, _ := open(t, small)
	place(t, s, write(0, 0, 1, "a", ""))
	events, err := s.Place(ctx(t), nil)
	if err != nil || len(events) != 0 {
		t.Fatalf("Place(nil) = %v, %v; want no events, no error", events, err)
	}
	if got := latest(t, s); got != 1 {
		t.Errorf("LatestSeq after an empty Place = %d, want 1", got)
	}
	if e := place(t, s, write(0, 0, 2, "a", "")); e[0].Seq != 2 {
		t.Errorf("next seq after an empty Place = %d, want 2", e[0].Seq)
	}
}

func testTimestamps(t *testing.T, open Factory) {
	s, _ := open(t, small)
	before := time.Now()
	var all []domain.Event
	for i := 0; i < 50; i++ {
		// Batches and tight loops put many writes in one microsecond.
		all = append(all, place(t, s, write(i%8, 0, 1, "a", ""), write(i%8, 1, 2, "a", ""), write(i%8, 2, 3, "a", ""))...)
		if i%10 == 0 {
			all = append(all, reset(t, s, domain.Origin{}))
		}
	}
	after := time.Now()
	for i := 1; i < len(all); i++ {
		if all[i].Time <= all[i-1].Time {
			t.Fatalf("seq %d has ts %d, not after seq %d's %d", all[i].Seq, all[i].Time, all[i-1].Seq, all[i-1].Time)
		}
	}
	// The store's clock may be another machine's (Redis TIME), so allow
	// skew, but a timestamp must be a wall-clock time in microseconds.
	const skew = 5 * time.Minute
	first, last := all[0].Time.Time(), all[len(all)-1].Time.Time()
	if first.Before(before.Add(-skew)) || last.After(after.Add(skew)) {
		t.Errorf("timestamps span %v..%v, not near the wall clock %v..%v", first, last, before, after)
	}
}

func testRoundTrip(t *testing.T, open Factory) {
	s, _ := open(t, small)
	writes := []domain.Write{
		write(7, 5, 0xABCDEF, "Ünïcode </script> \"q\"", `nonce "with" \ quotes`),
		write(0, 0, 0x000000, "", ""), // anonymous, no nonce
		write(3, 2, domain.White, "white too", "w"),
		{Pixel: domain.Pixel{X: 1, Y: 1, Color: 0x010203}, Username: "rest", Origin: domain.Origin{}}, // REST: no gateway
	}
	events := place(t, s, writes...)
	for i, e := range events {
		w := writes[i]
		if e.Kind != domain.PixelPlaced || e.Pixel != w.Pixel || e.Username != w.Username || e.Origin != w.Origin {
			t.Errorf("event %d = %+v, want kind PixelPlaced with %+v", i, e, w)
		}
	}
	origin := domain.Origin{GatewayID: "gw_op", ClientID: "c_op", WriteID: "reset-1"}
	r := reset(t, s, origin)
	if r.Kind != domain.CanvasReset || r.Origin != origin || r.Username != "" || r.Pixel != (domain.Pixel{}) {
		t.Errorf("reset event = %+v, want kind CanvasReset with origin %+v only", r, origin)
	}
	kept, complete := since(t, s, 0, 0)
	if !complete || !reflect.DeepEqual(kept, append(events, r)) {
		t.Errorf("history = %+v (complete=%v), want exactly what Place and Reset returned: %+v", kept, complete, append(events, r))
	}
}

func testBatchOrder(t *testing.T, open Factory) {
	s, _ := open(t, small)
	// The same pixel three times: the last write of the batch must win.
	writes := []domain.Write{write(4, 4, 0x0000AA, "a", "1"), write(5, 5, 0x0000BB, "a", "2"), write(4, 4, 0x0000CC, "a", "3"), write(4, 4, 0x0000DD, "a", "4")}
	events := place(t, s, writes...)
	for i, e := range events {
		if e.Origin.WriteID != writes[i].Origin.WriteID || (i > 0 && e.Seq != events[i-1].Seq+1) {
			t.Fatalf("events %+v are not in write order with consecutive seqs", events)
		}
	}
	if got := pixel(t, s, 4, 4); got.Color != 0x0000DD || got.Seq != events[3].Seq {
		t.Errorf("Pixel(4,4) = %+v, want the batch's last write (colour #0000DD, seq %d)", got, events[3].Seq)
	}
}

func testSnapshot(t *testing.T, open Factory) {
	s, _ := open(t, small)
	blank := snapshot(t, s)
	if blank.Size != small.Size || blank.Seq != 0 || !bytes.Equal(blank.RGB, domain.BlankSnapshot(small.Size).RGB) {
		t.Fatalf("snapshot of a new store = size %v seq %d, %d bytes; want all white at seq 0", blank.Size, blank.Seq, len(blank.RGB))
	}
	painted := map[[2]int]domain.Color{{0, 0}: 0xFF0000, {7, 0}: 0x00FF00, {0, 5}: 0x0000FF, {7, 5}: 0x123456, {3, 3}: 0}
	for p, c := range painted {
		place(t, s, write(p[0], p[1], c, "a", ""))
	}
	place(t, s, write(3, 3, 0x654321, "b", "")) // overwritten
	painted[[2]int{3, 3}] = 0x654321
	snap := snapshot(t, s)
	if len(snap.RGB) != 3*small.Size.Pixels() {
		t.Fatalf("snapshot has %d bytes, want %d", len(snap.RGB), 3*small.Size.Pixels())
	}
	for y := 0; y < small.Size.Height; y++ {
		for x := 0; x < small.Size.Width; x++ {
			want, ok := painted[[2]int{x, y}]
			if !ok {
				want = domain.White
			}
			if got := snap.At(x, y); got != want {
				t.Errorf("snapshot (%d,%d) = %s, want %s", x, y, got, want)
			}
		}
	}
	if l := latest(t, s); snap.Seq != l || snap.Seq != 6 {
		t.Errorf("snapshot seq = %d, LatestSeq = %d, want both 6", snap.Seq, l)
	}
	snap.RGB[0] = 0x42 // the caller owns its copy
	if again := snapshot(t, s); again.At(0, 0) != 0xFF0000 {
		t.Errorf("changing a returned snapshot changed the store: (0,0) = %s", again.At(0, 0))
	}
}

func testPixel(t *testing.T, open Factory) {
	s, _ := open(t, small)
	never := pixel(t, s, 2, 3)
	if never != (domain.PixelInfo{Pixel: domain.Pixel{X: 2, Y: 3, Color: domain.White}}) {
		t.Errorf("never-painted pixel = %+v, want white with Seq 0 and nobody", never)
	}
	e := place(t, s, write(2, 3, 0xC0FFEE, "Painter", "p1"))[0]
	place(t, s, write(3, 2, 0x111111, "Other", "")) // a neighbour, with x and y swapped
	got := pixel(t, s, 2, 3)
	want := domain.PixelInfo{Pixel: domain.Pixel{X: 2, Y: 3, Color: 0xC0FFEE}, Seq: e.Seq, Time: e.Time, Username: "Painter"}
	if got != want {
		t.Errorf("Pixel(2,3) = %+v, want %+v", got, want)
	}
	anon := place(t, s, write(2, 3, 0x00000F, "", ""))[0]
	if got := pixel(t, s, 2, 3); got.Username != "" || got.Seq != anon.Seq || got.Color != 0x00000F {
		t.Errorf("after an anonymous write Pixel(2,3) = %+v, want the anonymous write at seq %d", got, anon.Seq)
	}
	for _, bad := range [][2]int{{-1, 0}, {0, -1}, {8, 0}, {0, 6}, {1 << 30, 1 << 30}} {
		if _, err := s.Pixel(ctx(t), bad[0], bad[1]); err == nil {
			t.Errorf("Pixel(%d, %d) outside the canvas returned no error", bad[0], bad[1])
		}
	}
}

func testReset(t *testing.T, open Factory) {
	s, bus := open(t, small)
	next := listen(t, bus)
	before := place(t, s, write(1, 1, 0x111111, "a", ""), write(2, 2, 0x222222, "b", ""))
	origin := domain.Origin{GatewayID: "", ClientID: "", WriteID: "op"}
	r := reset(t, s, origin)
	if r.Seq != before[1].Seq+1 || r.Kind != domain.CanvasReset {
		t.Fatalf("reset = %+v, want its own seq %d", r, before[1].Seq+1)
	}
	if got := latest(t, s); got != r.Seq {
		t.Errorf("LatestSeq after reset = %d, want %d", got, r.Seq)
	}
	snap := snapshot(t, s)
	if !bytes.Equal(snap.RGB, domain.BlankSnapshot(small.Size).RGB) || snap.Seq != r.Seq {
		t.Errorf("after reset the snapshot is not all white at seq %d (seq %d)", r.Seq, snap.Seq)
	}
	if got := pixel(t, s, 1, 1); got != (domain.PixelInfo{Pixel: domain.Pixel{X: 1, Y: 1, Color: domain.White}}) {
		t.Errorf("after reset Pixel(1,1) = %+v, want white with Seq 0 and nobody", got)
	}
	after := place(t, s, write(1, 1, 0x333333, "c", ""))[0]
	if got := pixel(t, s, 1, 1); got.Color != 0x333333 || got.Seq != after.Seq || got.Username != "c" {
		t.Errorf("a write after reset: Pixel(1,1) = %+v", got)
	}
	if got := pixel(t, s, 2, 2); got.Color != domain.White || got.Seq != 0 {
		t.Errorf("a pixel painted before reset only: Pixel(2,2) = %+v", got)
	}
	published := next(4)
	if !reflect.DeepEqual(published, append(before, r, after)) {
		t.Errorf("published %+v, want %+v", published, append(before, r, after))
	}
	history, complete := since(t, s, before[1].Seq, 0)
	if !complete || !reflect.DeepEqual(history, []domain.Event{r, after}) {
		t.Errorf("Since(%d) = %+v (complete=%v), want the reset and the write after it", before[1].Seq, history, complete)
	}
}

func testSince(t *testing.T, open Factory) {
	s, _ := open(t, small)
	if events, complete := since(t, s, 0, 0); len(events) != 0 || !complete {
		t.Errorf("Since(0) on a new store = %v, complete=%v; want nothing, complete", events, complete)
	}
	if _, complete := since(t, s, 1, 0); complete {
		t.Error("Since(1) on a new store is complete; the caller is ahead of the store and must resync")
	}
	var all []domain.Event
	for i := 0; i < 10; i++ {
		all = append(all, place(t, s, write(i%8, i%6, domain.Color(i), "u", fmt.Sprint(i)))...)
	}
	for _, tc := range []struct {
		after    domain.Seq
		limit    int
		from, to int // indexes into all
	}{
		{0, 0, 0, 10}, {3, 0, 3, 10}, {3, 2, 3, 5}, {0, 3, 0, 3}, {9, 0, 9, 10}, {9, 5, 9, 10}, {0, -1, 0, 10}, {7, 100, 7, 10},
	} {
		events, complete := since(t, s, tc.after, tc.limit)
		if !complete || !reflect.DeepEqual(events, all[tc.from:tc.to]) {
			t.Errorf("Since(%d, %d) = seqs %v complete=%v; want seqs %v complete", tc.after, tc.limit, seqs(events), complete, seqs(all[tc.from:tc.to]))
		}
	}
	if events, complete := since(t, s, 10, 0); len(events) != 0 || !complete {
		t.Errorf("Since(LatestSeq) = %v, complete=%v; want nothing, complete", seqs(events), complete)
	}
	if _, complete := since(t, s, 11, 0); complete {
		t.Error("Since(LatestSeq+1) is complete; after > LatestSeq means the caller must resync")
	}
	if _, complete := since(t, s, 1000, 0); complete {
		t.Error("Since(far ahead) is complete")
	}
}

func testTrimmed(t *testing.T, open Factory) {
	const kept = 5
	s, _ := open(t, Config{Size: small.Size, HistorySize: kept})
	var all []domain.Event
	for i := 0; i < 3*kept; i++ {
		all = append(all, place(t, s, write(i%8, 0, domain.Color(i), "u", ""))...)
	}
	all = append(all, reset(t, s, domain.Origin{WriteID: "r"}))
	last := domain.Seq(len(all))
	if _, complete := since(t, s, 0, 0); complete {
		t.Error("Since(0) is complete although history is capped far below the events written")
	}
	if _, complete := since(t, s, 2, 3); complete {
		t.Error("Since(2, limit 3) is complete although seq 3 was trimmed")
	}
	// A store keeps at least HistorySize events; whatever it answers as
	// complete must be exact.
	for after := domain.Seq(0); after <= last; after++ {
		events, complete := since(t, s, after, 0)
		if after >= last-kept && !complete {
			t.Errorf("Since(%d) is incomplete, but the last %d events must be kept", after, kept)
		}
		if complete && !reflect.DeepEqual(events, all[after:]) {
			t.Errorf("Since(%d) = seqs %v, complete; want seqs %v", after, seqs(events), seqs(all[after:]))
		}
	}
	events, complete := since(t, s, last-kept, 2)
	if !complete || !reflect.DeepEqual(events, all[last-kept:last-kept+2]) {
		t.Errorf("Since(%d, 2) = seqs %v complete=%v, want the two after it", last-kept, seqs(events), complete)
	}
}

func testPublication(t *testing.T, open Factory) {
	s, bus := open(t, small)
	next := listen(t, bus)
	var want []domain.Event
	for i := 0; i < 20; i++ {
		want = append(want, place(t, s, write(i%8, i%6, domain.Color(i*1000), fmt.Sprint("user", i%3), fmt.Sprint("w", i)))...)
		if i == 10 {
			want = append(want, reset(t, s, domain.Origin{GatewayID: "gw", ClientID: "c", WriteID: "reset"}))
		}
	}
	want = append(want, place(t, s, write(0, 0, 1, "x", "b1"), write(1, 0, 2, "x", "b2"), write(2, 0, 3, "x", "b3"))...)
	got := next(len(want))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("published events differ from the returned ones\n got seqs %v\nwant seqs %v", seqs(got), seqs(want))
	}
	// Nothing extra (one message per event).
	place(t, s, write(0, 0, 9, "x", "marker"))
	if extra := next(1); extra[0].Origin.WriteID != "marker" {
		t.Errorf("an extra message was published: %+v", extra[0])
	}
}

func testConcurrent(t *testing.T, open Factory) {
	s, bus := open(t, Config{Size: domain.Size{Width: 16, Height: 16}, HistorySize: 10000})
	next := listen(t, bus)
	const writers, rounds = 8, 40
	var mu sync.Mutex
	var all []domain.Event
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				batch := make([]domain.Write, 1+r%3)
				for i := range batch {
					batch[i] = write((w+i)%16, r%16, domain.Color(w<<16|r<<8|i), fmt.Sprint("writer", w), fmt.Sprint(w, "-", r, "-", i))
				}
				var events []domain.Event
				var err error
				if r == rounds/2 && w == 0 {
					var e domain.Event
					e, err = s.Reset(context.Background(), domain.Origin{WriteID: "mid-reset"})
					events = []domain.Event{e}
				} else {
					events, err = s.Place(context.Background(), batch)
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				for i := 1; i < len(events); i++ {
					if events[i].Seq != events[i-1].Seq+1 {
						t.Errorf("writer %d: one batch got seqs %v, not consecutive", w, seqs(events))
					}
				}
				mu.Lock()
				all = append(all, events...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	slices.SortFunc(all, func(a, b domain.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	for i, e := range all {
		if e.Seq != domain.Seq(i+1) {
			t.Fatalf("under concurrency the seqs are not 1..%d: position %d has seq %d", len(all), i, e.Seq)
		}
		if i > 0 && e.Time <= all[i-1].Time {
			t.Fatalf("seq %d has ts %d, not after the previous %d", e.Seq, e.Time, all[i-1].Time)
		}
	}
	if got := latest(t, s); got != domain.Seq(len(all)) {
		t.Errorf("LatestSeq = %d, want %d", got, len(all))
	}
	if got := next(len(all)); !reflect.DeepEqual(got, all) {
		t.Errorf("published events under concurrency are not the returned events in seq order")
	}
	history, complete := since(t, s, 0, 0)
	if !complete || !reflect.DeepEqual(history, all) {
		t.Errorf("history under concurrency is not the returned events in seq order")
	}
}

// testConsistentSnapshots takes snapshots while writers run: each must be
// exactly the state at its seq, which shows by replaying the history after
// it and arriving at the final state.
func testConsistentSnapshots(t *testing.T, open Factory) {
	size := domain.Size{Width: 10, Height: 10}
	s, _ := open(t, Config{Size: size, HistorySize: 10000})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 600; i++ {
			var err error
			if i%150 == 149 {
				_, err = s.Reset(context.Background(), domain.Origin{})
			} else {
				_, err = s.Place(context.Background(), []domain.Write{write(i%10, (i/10)%10, domain.Color(i*7919), "w", "")})
			}
			if err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
		}
	}()
	var snaps []domain.Snapshot
	for running := true; running && len(snaps) < 300; {
		select {
		case <-done:
			running = false
		default:
			snaps = append(snaps, snapshot(t, s))
		}
	}
	<-done
	final := snapshot(t, s)
	if final.Seq != latest(t, s) {
		t.Fatalf("quiet snapshot seq %d != LatestSeq %d", final.Seq, latest(t, s))
	}
	for _, snap := range snaps {
		canvas := domain.CanvasFromSnapshot(snap)
		events, complete := since(t, s, snap.Seq, 0)
		if !complete {
			t.Fatalf("Since(%d) incomplete with ample history", snap.Seq)
		}
		for _, e := range events {
			canvas.Apply(e)
		}
		if !bytes.Equal(canvas.Snapshot().RGB, final.RGB) {
			t.Fatalf("the snapshot at seq %d plus the history after it is not the final canvas: the snapshot was not one consistent read", snap.Seq)
		}
	}
}

func testLarge(t *testing.T, open Factory) {
	size := domain.Size{Width: 1000, Height: 1000}
	s, _ := open(t, Config{Size: size, HistorySize: 100})
	corner := place(t, s, write(999, 999, 0x0A0B0C, "far", ""), write(0, 999, 0x0D0E0F, "far", ""))
	snap := snapshot(t, s)
	if len(snap.RGB) != 3_000_000 || snap.Size != size {
		t.Fatalf("snapshot of 1000x1000 has %d bytes (size %v), want 3,000,000", len(snap.RGB), snap.Size)
	}
	if snap.At(999, 999) != 0x0A0B0C || snap.At(0, 999) != 0x0D0E0F || snap.At(999, 0) != domain.White {
		t.Errorf("corners = %s %s %s", snap.At(999, 999), snap.At(0, 999), snap.At(999, 0))
	}
	if got := pixel(t, s, 999, 999); got.Seq != corner[0].Seq || got.Username != "far" {
		t.Errorf("Pixel(999,999) = %+v", got)
	}
}

func testPing(t *testing.T, open Factory) {
	s, _ := open(t, small)
	if err := s.Ping(ctx(t)); err != nil {
		t.Errorf("Ping on a healthy store: %v", err)
	}
}

// LatestSeq is the store's head seq, for a backend's own tests that
// expect an error (an outage) rather than a failed test.
func LatestSeq(ctx context.Context, s ports.CanvasStore) (domain.Seq, error) {
	h, err := s.Head(ctx)
	return h.Seq, err
}

// SinceCurrent reads history as a caller on the store's current timeline
// does, returning the error, for a backend's own tests.
func SinceCurrent(ctx context.Context, s ports.CanvasStore, after domain.Seq, limit int) ([]domain.Event, bool, error) {
	h, err := s.Head(ctx)
	if err != nil {
		return nil, false, err
	}
	got, err := s.Since(ctx, after, h.Epoch, limit)
	return got.Events, got.Complete, err
}
