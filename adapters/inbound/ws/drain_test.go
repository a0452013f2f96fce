package ws

import (
	"testing"
	"time"
)

func TestDrainWindow(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, tc := range []struct {
		name        string
		spread      time.Duration
		deadline    time.Duration // from now
		hasDeadline bool
		want        time.Duration
	}{
		{"no deadline: the spread", 3 * time.Second, 0, false, 3 * time.Second},
		{"a deadline far off: the spread", 3 * time.Second, 8 * time.Second, true, 3 * time.Second},
		{"a near deadline cuts it, less the margin", 3 * time.Second, 2500 * time.Millisecond, true, 1500 * time.Millisecond},
		{"a deadline inside the margin: at once", 3 * time.Second, 500 * time.Millisecond, true, 0},
		{"no spread asked: at once", 0, 8 * time.Second, true, 0},
	} {
		if got := drainWindow(tc.spread, now, now.Add(tc.deadline), tc.hasDeadline); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDrainDelaysAreEvenAndInsideTheWindow(t *testing.T) {
	const n, window = 1000, 3 * time.Second
	perSlot := map[int]int{} // closes per 100 ms
	prev := time.Duration(-1)
	for i := range n {
		d := drainDelay(i, n, window)
		if d < prev || d < 0 || d >= window {
			t.Fatalf("close %d at %v (previous %v): not increasing within [0, %v)", i, d, prev, window)
		}
		prev = d
		perSlot[int(d/(100*time.Millisecond))]++
	}
	for slot, closes := range perSlot {
		if closes > n/30+1 {
			t.Errorf("%d closes in the 100 ms from %v: want about %d", closes, time.Duration(slot)*100*time.Millisecond, n/30)
		}
	}
	if drainDelay(0, n, window) != 0 || drainDelay(5, 1, window) != 0 || drainDelay(3, 10, 0) != 0 {
		t.Error("the first close, a lone connection, or no window: not at once")
	}
}
