package domain

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNewSize(t *testing.T) {
	for _, tc := range []struct {
		w, h int
		ok   bool
	}{{50, 50, true}, {1, 1, true}, {2048, 2048, true}, {MaxSide, MaxSide, true}, {0, 50, false}, {50, -1, false}, {MaxSide + 1, 1, false}} {
		_, err := NewSize(tc.w, tc.h)
		if (err == nil) != tc.ok {
			t.Errorf("NewSize(%d, %d) err = %v, want ok=%v", tc.w, tc.h, err, tc.ok)
		}
	}
}

func TestParseColor(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Color
		ok   bool
	}{
		{"#FF0000", 0xFF0000, true},
		{"#ff0000", 0xFF0000, true},
		{"#aBcDeF", 0xABCDEF, true},
		{"#000000", 0, true},
		{"#FFFFFF", White, true},
		{"FF0000", 0, false},
		{"#F00", 0, false},
		{"#FF00000", 0, false},
		{"#GG0000", 0, false},
		{" #FF0000", 0, false},
		{"red", 0, false},
		{"", 0, false},
		{"#ff00zz", 0, false},
	} {
		got, err := ParseColor(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseColor(%q) = %06X, %v; want %06X ok=%v", tc.in, uint32(got), err, uint32(tc.want), tc.ok)
		}
	}
	if s := Color(0xabcdef).String(); s != "#ABCDEF" {
		t.Errorf("String = %q, want upper case #ABCDEF", s)
	}
	if s := Color(0x0000ff).String(); s != "#0000FF" {
		t.Errorf("String = %q, want zero padded", s)
	}
}

func FuzzParseColor(f *testing.F) {
	for _, s := range []string{"#FF0000", "#abcdef", "#xyzxyz", "", "#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseColor(s)
		if err != nil {
			return
		}
		if c > White {
			t.Fatalf("colour %X out of range", uint32(c))
		}
		if !strings.EqualFold(c.String(), s) {
			t.Fatalf("round trip %q -> %q", s, c.String())
		}
	})
}

func TestNormalizeUsername(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"  Alice  ", "Alice"},
		{"", ""},
		{"   ", ""},
		{"Bo\x00b\n", "Bob"},
		{"a\u202eb", "ab"}, // right-to-left override would reorder other names
		{strings.Repeat("x", 100), strings.Repeat("x", 20)},
		{strings.Repeat("é", 30), strings.Repeat("é", 20)},
		{"<script>alert(1)</script>", "<script>alert(1)</sc"},
		{"日本語の名前", "日本語の名前"},
		{"abc\xffdef", "abcdef"},
		{strings.Repeat("a", 19) + " b", strings.Repeat("a", 19)},
	} {
		if got := NormalizeUsername(tc.in); got != tc.want {
			t.Errorf("NormalizeUsername(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if DisplayName("") != Anonymous || DisplayName("Al") != "Al" {
		t.Error("DisplayName")
	}
}

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"Alice", " x ", "\x00\x01", strings.Repeat("ü", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeUsername(s)
		if !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxUsernameRunes || strings.TrimSpace(n) != n {
			t.Fatalf("NormalizeUsername(%q) = %q", s, n)
		}
		if NormalizeUsername(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, NormalizeUsername(n))
		}
	})
}

func TestCoordinateAndCheck(t *testing.T) {
	size := DefaultSize
	for _, tc := range []struct {
		x, y float64
		err  error
	}{
		{0, 0, nil}, {49, 49, nil}, {50, 0, ErrOutOfBounds}, {-1, 0, ErrOutOfBounds},
		{2.5, 3, ErrNotInteger}, {math.NaN(), 0, ErrNotInteger}, {math.Inf(1), 0, ErrNotInteger}, {1e300, 0, ErrOutOfBounds},
	} {
		x, err := Coordinate(tc.x)
		if err == nil {
			var y int
			y, err = Coordinate(tc.y)
			if err == nil {
				err = size.Check(Pixel{X: x, Y: y, Color: White})
			}
		}
		if err != tc.err {
			t.Errorf("(%v,%v): err = %v, want %v", tc.x, tc.y, err, tc.err)
		}
	}
}

func TestNextTimestampNeverRepeatsOrDecreases(t *testing.T) {
	prev := Timestamp(1000)
	for _, now := range []Timestamp{2000, 2000, 1500, 2002, 0} {
		next := NextTimestamp(prev, now)
		if next <= prev {
			t.Fatalf("NextTimestamp(%d, %d) = %d, not after prev", prev, now, next)
		}
		prev = next
	}
	if got := NextTimestamp(10, 500); got != 500 {
		t.Errorf("a clock that moved forward is used as is, got %d", got)
	}
}

func TestCanvasLastWriteWinsInAnyOrder(t *testing.T) {
	size := Size{Width: 4, Height: 4}
	events := []Event{
		{Kind: PixelPlaced, Seq: 1, Pixel: Pixel{X: 1, Y: 1, Color: 0x111111}},
		{Kind: PixelPlaced, Seq: 2, Pixel: Pixel{X: 1, Y: 1, Color: 0x222222}},
		{Kind: PixelPlaced, Seq: 3, Pixel: Pixel{X: 2, Y: 2, Color: 0x333333}},
		{Kind: CanvasReset, Seq: 4},
		{Kind: PixelPlaced, Seq: 5, Pixel: Pixel{X: 0, Y: 0, Color: 0x555555}},
		{Kind: PixelPlaced, Seq: 6, Pixel: Pixel{X: 1, Y: 1, Color: 0x666666}},
	}
	inOrder := NewCanvas(size)
	for _, e := range events {
		inOrder.Apply(e)
	}
	reversed := NewCanvas(size)
	for i := len(events) - 1; i >= 0; i-- {
		reversed.Apply(events[i])
		reversed.Apply(events[i]) // twice: duplicates are harmless
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			if a, b := inOrder.At(x, y), reversed.At(x, y); a != b {
				t.Errorf("(%d,%d): in order %s, reversed %s", x, y, a, b)
			}
		}
	}
	want := map[[2]int]Color{{0, 0}: 0x555555, {1, 1}: 0x666666, {2, 2}: White}
	for p, c := range want {
		if got := inOrder.At(p[0], p[1]); got != c {
			t.Errorf("At%v = %s, want %s", p, got, c)
		}
	}
	if inOrder.Seq() != 6 || reversed.Seq() != 6 {
		t.Errorf("Seq = %d, %d, want 6", inOrder.Seq(), reversed.Seq())
	}
	snap := inOrder.Snapshot()
	again := CanvasFromSnapshot(snap)
	again.Apply(Event{Kind: PixelPlaced, Seq: 5, Pixel: Pixel{X: 3, Y: 3, Color: 0}})
	if again.At(3, 3) != White {
		t.Error("an event older than the snapshot must not change it")
	}
	again.Apply(Event{Kind: PixelPlaced, Seq: 7, Pixel: Pixel{X: 3, Y: 3, Color: 0}})
	if again.At(3, 3) != 0 {
		t.Error("a newer event must change the snapshot")
	}
}

func TestMergePresence(t *testing.T) {
	v := MergePresence([]GatewayPresence{
		{GatewayID: "a", Connections: 3, Users: []string{"Zed", "Al"}},
		{GatewayID: "b", Connections: 2, Users: []string{"Al"}},
	})
	if v.ActiveUsers != 5 || strings.Join(v.Users, ",") != "Al,Al,Zed" {
		t.Errorf("view = %+v", v)
	}
	if empty := MergePresence(nil); empty.ActiveUsers != 0 || empty.Users == nil || len(empty.Users) != 0 {
		t.Errorf("empty view = %#v", empty)
	}
	if !v.Equal(MergePresence([]GatewayPresence{{Connections: 5, Users: []string{"Al", "Zed", "Al"}}})) {
		t.Error("equal views compare unequal")
	}
}

func TestTakeTokens(t *testing.T) {
	rule := RateRule{PerSecond: 10, Burst: 5}
	for _, tc := range []struct {
		name    string
		tokens  float64
		elapsed time.Duration
		n       int
		left    float64
		ok      bool
		wait    time.Duration
	}{
		{"enough", 5, 0, 3, 2, true, 0},
		{"all or none", 2, 0, 3, 2, false, 100 * time.Millisecond},
		{"refilled first", 2, 100 * time.Millisecond, 3, 0, true, 0},
		{"refill stops at the burst", 0, time.Hour, 5, 0, true, 0},
		{"a clock stepping back refills nothing", 1, -time.Hour, 1, 0, true, 0},
		{"more than the burst never", 5, time.Hour, 6, 5, false, Forever},
		{"zero is always granted", 0, 0, 0, 0, true, 0},
	} {
		left, ok, wait := TakeTokens(rule, tc.tokens, tc.elapsed, tc.n)
		if ok != tc.ok || wait != tc.wait || left < tc.left-1e-9 || left > tc.left+1e-9 {
			t.Errorf("%s: left %v ok %v wait %v, want %v %v %v", tc.name, left, ok, wait, tc.left, tc.ok, tc.wait)
		}
	}
}

func TestTokenBucket(t *testing.T) {
	start := time.Unix(0, 0)
	b := NewTokenBucket(RateRule{PerSecond: 10, Burst: 3}, start)
	for i := 0; i < 3; i++ {
		if !b.Allow(start) {
			t.Fatalf("burst token %d refused", i)
		}
	}
	if b.Allow(start) {
		t.Fatal("a fourth token at once must be refused")
	}
	if b.Allow(start.Add(50 * time.Millisecond)) {
		t.Fatal("half a token is not a token")
	}
	if !b.Allow(start.Add(100 * time.Millisecond)) {
		t.Fatal("one token refills in 100ms at 10/s")
	}
	later, tokens := start.Add(time.Hour), 0
	for tokens <= 3 && b.Allow(later) {
		tokens++
	}
	if tokens != 3 {
		t.Fatalf("an hour later %d tokens at once, want the burst of 3: refill must cap at the burst", tokens)
	}
	if b.Allow(start) {
		t.Fatal("a clock going backwards must not mint tokens")
	}
}

func TestCursorBoardRestoresWhatFailedToGoOut(t *testing.T) {
	b := NewCursorBoard()
	b.Move(Cursor{ClientID: "a", X: 1})
	b.Move(Cursor{ClientID: "b", X: 2})
	b.Leave("c")
	b.Leave("d")
	moved, gone := b.Flush()
	// Meanwhile: a moved again, d came back.
	b.Move(Cursor{ClientID: "a", X: 9})
	b.Move(Cursor{ClientID: "d", X: 4})
	b.Restore(moved, gone)
	moved, gone = b.Flush()
	if len(moved) != 3 || moved[0].X != 9 || moved[1].ClientID != "b" || moved[2].ClientID != "d" ||
		len(gone) != 1 || gone[0] != "c" {
		t.Fatalf("after restore: moved %+v gone %v; want a at 9, b, d, and c gone", moved, gone)
	}
}

func TestCursorBoardCoalesces(t *testing.T) {
	b := NewCursorBoard()
	if !b.Empty() {
		t.Fatal("new board not empty")
	}
	b.Move(Cursor{ClientID: "b", X: 1, Y: 1})
	b.Move(Cursor{ClientID: "a", X: 1, Y: 1})
	b.Move(Cursor{ClientID: "b", X: 5, Y: 6})
	b.Leave("c")
	moved, gone := b.Flush()
	if len(moved) != 2 || moved[0].ClientID != "a" || moved[1].X != 5 || len(gone) != 1 || gone[0] != "c" {
		t.Fatalf("moved %+v gone %v", moved, gone)
	}
	if !b.Empty() {
		t.Fatal("flush must clear")
	}
	b.Move(Cursor{ClientID: "a"})
	b.Leave("a")
	moved, gone = b.Flush()
	if len(moved) != 0 || len(gone) != 1 {
		t.Fatalf("leave after move: moved %+v gone %v", moved, gone)
	}
	size := DefaultSize
	for _, p := range [][2]float64{{-1, 0}, {0, 51}, {math.NaN(), 1}, {math.Inf(1), 1}} {
		if size.CheckCursor(p[0], p[1]) == nil {
			t.Errorf("cursor %v accepted", p)
		}
	}
	if size.CheckCursor(12.5, 3) != nil {
		t.Error("fractional cursor refused")
	}
}
