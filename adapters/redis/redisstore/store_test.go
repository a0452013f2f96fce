package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/storetest"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// fresh opens a store on the flushed shared Redis and returns the raw client
// too, for looking at the layout.
func fresh(t *testing.T, size domain.Size, history int) (*redisstore.Store, *redis.Client) {
	t.Helper()
	r := redistest.Shared(t)
	r.Flush(t)
	client := r.Client(t)
	s, err := redisstore.Open(context.Background(), client, redisstore.Options{Size: size, HistorySize: history})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, client
}

func write(x, y int, c domain.Color, user, writeID string) domain.Write {
	return domain.Write{Pixel: domain.Pixel{X: x, Y: y, Color: c}, Username: user,
		Origin: domain.Origin{GatewayID: "gw_1", ClientID: "c_1", WriteID: writeID}}
}

// TestPublishedAndStoredEventsAreBusmsgEncoding checks that the bytes the
// script builds are exactly busmsg.EncodeEvent's, for awkward usernames too,
// so every consumer decodes them with the one codec.
func TestPublishedAndStoredEventsAreBusmsgEncoding(t *testing.T) {
	ctx := context.Background()
	s, client := fresh(t, domain.Size{Width: 10, Height: 10}, 100)
	sub := client.Subscribe(ctx, ports.ChannelPixelUpdates)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}

	events, err := s.Place(ctx, []domain.Write{
		write(1, 2, 0xABCDEF, `quote" back\slash`, "w1"),
		write(9, 9, 0x000000, "日本:語 <b>", ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	reset, err := s.Reset(ctx, domain.Origin{WriteID: "op"})
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, reset)

	history, err := client.ZRange(ctx, redisstore.KeyHistory, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != len(events) {
		t.Fatalf("history holds %d entries, want %d", len(history), len(events))
	}
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if want := busmsg.EncodeEvent(e, head.Epoch); history[i] != string(want) {
			t.Errorf("history %s\nwant    %s", history[i], want)
		}
	}
	// One message per store call: the Place's two events, then the reset.
	for _, batch := range [][]domain.Event{events[:2], events[2:]} {
		want := busmsg.EncodeEvents(batch, head.Epoch)
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if msg.Payload != string(want) {
			t.Errorf("published %s\nwant      %s", msg.Payload, want)
		}
	}
}

func TestSeqsAndTimestamps(t *testing.T) {
	ctx := context.Background()
	s, client := fresh(t, domain.DefaultSize, 0)
	before := domain.TimestampOf(time.Now())
	var writes []domain.Write
	for i := range 20 {
		writes = append(writes, write(i, 0, domain.Color(i), "u", ""))
	}
	events, err := s.Place(ctx, writes)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if e.Seq != domain.Seq(i+1) {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
		if i > 0 && e.Time <= events[i-1].Time {
			t.Errorf("timestamps not increasing: %d then %d", events[i-1].Time, e.Time)
		}
		// Redis and this process share a clock here; a 16-digit timestamp
		// printed by Lua's tostring would be off by up to 100 µs or worse.
		if d := time.Duration(e.Time-before) * time.Microsecond; d < -time.Second || d > 5*time.Second {
			t.Errorf("timestamp %d is %v away from the clock", e.Time, d)
		}
	}

	// A clock that stepped back: the last timestamp is an hour ahead.
	ahead := events[len(events)-1].Time + domain.Timestamp(time.Hour/time.Microsecond)
	if err := client.Set(ctx, redisstore.KeyTS, strconv.FormatInt(int64(ahead), 10), 0).Err(); err != nil {
		t.Fatal(err)
	}
	next, err := s.Place(ctx, []domain.Write{write(0, 1, 1, "u", ""), write(0, 2, 1, "u", "")})
	if err != nil {
		t.Fatal(err)
	}
	if next[0].Time != ahead+1 || next[1].Time != ahead+2 {
		t.Errorf("after a clock step back got %d, %d; want %d, %d", next[0].Time, next[1].Time, ahead+1, ahead+2)
	}
	if latest, err := storetest.LatestSeq(ctx, s); err != nil || latest != 22 {
		t.Errorf("LatestSeq = %d, %v; want 22", latest, err)
	}
}

func TestRedisLayout(t *testing.T) {
	ctx := context.Background()
	s, client := fresh(t, domain.Size{Width: 4, Height: 3}, 10)
	events, err := s.Place(ctx, []domain.Write{write(1, 2, 0x102030, "a:b", "")})
	if err != nil {
		t.Fatal(err)
	}
	index := 2*4 + 1
	raw, err := client.GetRange(ctx, redisstore.KeyPixels, int64(3*index), int64(3*index+2)).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x10 ^ 0xFF, 0x20 ^ 0xFF, 0x30 ^ 0xFF}; !bytes.Equal(raw, want) {
		t.Errorf("stored bytes %x, want %x", raw, want)
	}
	meta, err := client.HGet(ctx, redisstore.KeyMeta, strconv.Itoa(index)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := "1:" + strconv.FormatInt(int64(events[0].Time), 10) + ":a:b"; meta != want {
		t.Errorf("meta %q, want %q", meta, want)
	}
	if size, _ := client.Get(ctx, redisstore.KeySize).Result(); size != "4x3" {
		t.Errorf("size key %q, want 4x3", size)
	}
	info, err := s.Pixel(ctx, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if info.Color != 0x102030 || info.Seq != 1 || info.Time != events[0].Time || info.Username != "a:b" {
		t.Errorf("Pixel = %+v", info)
	}
}

func TestSnapshotPadsWithWhite(t *testing.T) {
	ctx := context.Background()
	size := domain.Size{Width: 5, Height: 4}
	s, _ := fresh(t, size, 10)
	if _, err := s.Place(ctx, []domain.Write{write(0, 0, 0x000000, "u", ""), write(2, 1, 0xFF0000, "u", "")}); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Seq != 2 || snap.Size != size || len(snap.RGB) != 3*size.Pixels() {
		t.Fatalf("snapshot seq %d size %v len %d", snap.Seq, snap.Size, len(snap.RGB))
	}
	for y := range size.Height {
		for x := range size.Width {
			want := domain.White
			switch {
			case x == 0 && y == 0:
				want = 0
			case x == 2 && y == 1:
				want = 0xFF0000
			}
			if got := snap.At(x, y); got != want {
				t.Errorf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}

	if _, err := s.Reset(ctx, domain.Origin{}); err != nil {
		t.Fatal(err)
	}
	snap, err = s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap.RGB, domain.BlankSnapshot(size).RGB) || snap.Seq != 3 {
		t.Errorf("after reset: seq %d, all white %v", snap.Seq, bytes.Equal(snap.RGB, domain.BlankSnapshot(size).RGB))
	}
	if info, err := s.Pixel(ctx, 0, 0); err != nil || info.Color != domain.White || info.Seq != 0 || info.Username != "" {
		t.Errorf("pixel after reset = %+v, %v", info, err)
	}
}

func TestHistoryIsCappedAndSinceKnowsWhenItIsIncomplete(t *testing.T) {
	ctx := context.Background()
	s, client := fresh(t, domain.DefaultSize, 3)
	for i := range 5 {
		if _, err := s.Place(ctx, []domain.Write{write(i, 0, 1, "u", "")}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := client.ZCard(ctx, redisstore.KeyHistory).Result(); n != 3 {
		t.Errorf("history holds %d, want 3", n)
	}
	for _, tc := range []struct {
		after    domain.Seq
		limit    int
		seqs     []domain.Seq
		complete bool
	}{
		{2, 0, []domain.Seq{3, 4, 5}, true},
		{2, 2, []domain.Seq{3, 4}, true},
		{4, 0, []domain.Seq{5}, true},
		{5, 0, nil, true},
		{1, 0, []domain.Seq{3, 4, 5}, false}, // seq 2 was trimmed
		{0, 0, []domain.Seq{3, 4, 5}, false},
		{9, 0, nil, false}, // ahead of the store: it lost data
	} {
		head, err := s.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h, err := s.Since(ctx, tc.after, head.Epoch, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		events, complete := h.Events, h.Complete
		var seqs []domain.Seq
		for _, e := range events {
			seqs = append(seqs, e.Seq)
		}
		if complete != tc.complete || !equalSeqs(seqs, tc.seqs) {
			t.Errorf("Since(%d, %d) = %v complete=%v; want %v complete=%v", tc.after, tc.limit, seqs, complete, tc.seqs, tc.complete)
		}
	}
}

func equalSeqs(a, b []domain.Seq) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBadInputIsRefusedWithoutWriting(t *testing.T) {
	ctx := context.Background()
	s, _ := fresh(t, domain.Size{Width: 3, Height: 3}, 10)
	_, err := s.Place(ctx, []domain.Write{write(0, 0, 1, "u", ""), write(3, 0, 1, "u", "")})
	if !errors.Is(err, domain.ErrOutOfBounds) {
		t.Errorf("off-canvas write: %v, want ErrOutOfBounds", err)
	}
	if _, err := s.Place(ctx, []domain.Write{write(0, 0, 0x1000000, "u", "")}); !errors.Is(err, domain.ErrBadColor) {
		t.Errorf("colour out of range: %v, want ErrBadColor", err)
	}
	if seq, _ := storetest.LatestSeq(ctx, s); seq != 0 {
		t.Errorf("a refused batch stored something: seq %d", seq)
	}
	if _, err := s.Pixel(ctx, -1, 0); !errors.Is(err, domain.ErrOutOfBounds) {
		t.Errorf("Pixel(-1, 0): %v", err)
	}
	if events, err := s.Place(ctx, nil); err != nil || len(events) != 0 {
		t.Errorf("empty batch: %v, %v", events, err)
	}
}

func TestLargeBatchKeepsOrder(t *testing.T) {
	ctx := context.Background()
	size := domain.Size{Width: 100, Height: 100}
	s, _ := fresh(t, size, 0)
	writes := make([]domain.Write, 2500) // more than one script run
	for i := range writes {
		writes[i] = write(i%size.Width, i/size.Width, domain.Color(i), "u", "")
	}
	events, err := s.Place(ctx, writes)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if e.Seq != domain.Seq(i+1) || e.Pixel != writes[i].Pixel {
			t.Fatalf("event %d = seq %d pixel %+v", i, e.Seq, e.Pixel)
		}
	}
	history, complete, err := storetest.SinceCurrent(ctx, s, 0, 0)
	if err != nil || !complete || len(history) != len(writes) {
		t.Fatalf("Since(0) = %d events complete=%v err=%v", len(history), complete, err)
	}
}

func TestOpenChecksTheCanvasSize(t *testing.T) {
	ctx := context.Background()
	_, client := fresh(t, domain.Size{Width: 50, Height: 50}, 0)
	if _, err := redisstore.Open(ctx, client, redisstore.Options{Size: domain.Size{Width: 50, Height: 50}}); err != nil {
		t.Errorf("reopening with the same size: %v", err)
	}
	_, err := redisstore.Open(ctx, client, redisstore.Options{Size: domain.Size{Width: 100, Height: 50}})
	if !errors.Is(err, redisstore.ErrSizeMismatch) || !strings.Contains(err.Error(), "50x50") {
		t.Errorf("opening with another size: %v, want ErrSizeMismatch naming 50x50", err)
	}
	for _, bad := range []redisstore.Options{{Size: domain.Size{}}, {Size: domain.DefaultSize, HistorySize: -1}} {
		if _, err := redisstore.Open(ctx, client, bad); err == nil {
			t.Errorf("Open(%+v) succeeded", bad)
		}
	}
}

// TestOutage stops Redis under a store: calls must fail fast with
// ErrUnavailable, and once Redis is back the store carries on where it was.
func TestOutage(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	s, err := redisstore.Open(ctx, r.Client(t), redisstore.Options{Size: domain.DefaultSize, HistorySize: 100})
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Place(ctx, []domain.Write{write(3, 4, 0x00FF00, "alice", "")})
	if err != nil {
		t.Fatal(err)
	}

	r.Stop(t)
	for name, call := range map[string]func() error{
		"Place":    func() error { _, err := s.Place(ctx, []domain.Write{write(1, 1, 1, "u", "")}); return err },
		"Snapshot": func() error { _, err := s.Snapshot(ctx); return err },
		"Since":    func() error { _, _, err := storetest.SinceCurrent(ctx, s, 0, 0); return err },
		"Ping":     func() error { return s.Ping(ctx) },
	} {
		start := time.Now()
		err := call()
		if !errors.Is(err, ports.ErrUnavailable) {
			t.Errorf("%s during the outage: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v to fail", name, d)
		}
	}

	r.Start(t)
	// The pool may need a moment to notice Redis is back.
	var after []domain.Event
	waitfor.Until(t, 10*time.Second, func() error {
		after, err = s.Place(ctx, []domain.Write{write(5, 5, 0x0000FF, "bob", "")})
		if err != nil {
			return fmt.Errorf("s.Place after the restart: %w", err)
		}
		return nil
	})
	if after[0].Seq != before[0].Seq+1 {
		t.Errorf("seq after the restart = %d, want %d", after[0].Seq, before[0].Seq+1)
	}
	if info, err := s.Pixel(ctx, 3, 4); err != nil || info.Color != 0x00FF00 || info.Username != "alice" {
		t.Errorf("pixel written before the outage = %+v, %v", info, err)
	}
}

// TestAWriteRefusedDuringAFreezeIsNeverApplied: Redis frozen (paused, like
// SIGSTOP) while writes are sent. Each is answered unavailable when its call
// gives up; when Redis thaws it runs the scripts still waiting in their
// sockets, and before write deadlines it applied them: pixels the writers
// had been told were refused appeared on the canvas.
func TestAWriteRefusedDuringAFreezeIsNeverApplied(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	s, err := redisstore.Open(ctx, r.Client(t), redisstore.Options{Size: domain.DefaultSize, HistorySize: 100})
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Place(ctx, []domain.Write{write(0, 0, 0x00FF00, "alice", "")})
	if err != nil {
		t.Fatal(err)
	}

	r.Pause(t)
	const writers = 5
	errs := make(chan error, writers)
	for i := range writers {
		go func() {
			// A short deadline, as a client's write has: the call gives up
			// long before Redis thaws.
			wctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancel()
			_, err := s.Place(wctx, []domain.Write{write(10+i, 10, 0xFF0000, "frozen", "")})
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; !errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("a write during the freeze: %v, want unavailable", err)
		}
	}
	r.Unpause(t)

	// A write after the thaw is applied, after anything the frozen Redis
	// ran when it woke up.
	var after []domain.Event
	waitfor.Until(t, 10*time.Second, func() error {
		after, err = s.Place(ctx, []domain.Write{write(1, 1, 0x0000FF, "bob", "")})
		return err
	})
	if after[0].Seq != before[0].Seq+1 {
		t.Errorf("seq after the thaw = %d, want %d: writes answered unavailable were applied", after[0].Seq, before[0].Seq+1)
	}
	for i := range writers {
		if info, err := s.Pixel(ctx, 10+i, 10); err != nil || info.Seq != 0 {
			t.Errorf("pixel (%d,10), refused during the freeze, is on the canvas: %+v, %v", 10+i, info, err)
		}
	}
}

// TestSeqsAndTimestampsAcrossCarries: the place script returns only the
// first write's seq and timestamp and Place derives the others, so the
// text the script wrote for every write (history, metadata) must say
// exactly the numbers Place returned, also where a batch crosses round
// numbers (a batch of 12 writes after values just below 1,000, 100,000
// and so on; the timestamps continue from one set ahead of Redis's clock).
func TestSeqsAndTimestampsAcrossCarries(t *testing.T) {
	ctx := context.Background()
	future := domain.TimestampOf(time.Now().Add(time.Hour)) // ahead of Redis's clock: the script continues from it
	for _, c := range []struct {
		name   string
		seq    domain.Seq
		tsMod  int64 // the last timestamp is the first after future that leaves this remainder
		tsBase int64
	}{
		{"small seqs", 0, 995, 1000},
		{"seq 999 to 1000", 990, 995, 1000},
		{"seq 99,999 to 100,000", 99_995, 99_995, 100_000},
		{"seq 1,999,999 to 2,000,000", 1_999_993, 999_999, 1_000_000},
		{"no carry", 123_456, 100, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, client := fresh(t, domain.Size{Width: 16, Height: 16}, 100)
			last := (int64(future)/c.tsBase)*c.tsBase + c.tsMod
			if err := client.Set(ctx, redisstore.KeySeq, c.seq, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := client.Set(ctx, redisstore.KeyTS, last, 0).Err(); err != nil {
				t.Fatal(err)
			}
			var writes []domain.Write
			for i := range 12 {
				writes = append(writes, write(i, 1, domain.Color(i), "u", fmt.Sprint("w", i)))
			}
			events, err := s.Place(ctx, writes)
			if err != nil {
				t.Fatal(err)
			}
			history, err := client.ZRange(ctx, redisstore.KeyHistory, 0, -1).Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(history) != len(events) {
				t.Fatalf("history holds %d entries, want %d", len(history), len(events))
			}
			for i, e := range events {
				if want := c.seq + domain.Seq(i) + 1; e.Seq != want {
					t.Errorf("write %d: seq %d, want %d", i, e.Seq, want)
				}
				if want := domain.Timestamp(last + int64(i) + 1); e.Time != want {
					t.Errorf("write %d: ts %d, want %d", i, e.Time, want)
				}
				stored, _, err := busmsg.DecodeEvent([]byte(history[i]))
				if err != nil || stored.Seq != e.Seq || stored.Time != e.Time {
					t.Errorf("write %d: history says seq %d ts %d (%v), Place returned %d %d: %s", i, stored.Seq, stored.Time, err, e.Seq, e.Time, history[i])
				}
				info, err := s.Pixel(ctx, i, 1)
				if err != nil || info.Seq != e.Seq || info.Time != e.Time {
					t.Errorf("write %d: metadata says seq %d ts %d (%v), Place returned %d %d", i, info.Seq, info.Time, err, e.Seq, e.Time)
				}
			}
		})
	}
}
