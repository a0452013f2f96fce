package metrics

import (
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestCanvasLabels(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var forgotten []string
	l := NewCanvasLabels(2, clock.Now, func(s string) { forgotten = append(forgotten, s) })
	for _, s := range []string{"", "main"} {
		if got := l.Label(s, 1000); got != MainCanvasLabel {
			t.Fatalf("Label(%q) = %q, want main", s, got)
		}
	}
	// Before any window has ended, nothing is named.
	write := func(slug string, n int) string { return l.Label(slug, n) }
	write("a", 10)
	write("b", 30)
	write("c", 20)
	if got := write("b", 1); got != OtherCanvasLabel {
		t.Fatalf("named before a window ended: %q", got)
	}
	clock.Advance(CanvasLabelWindow - time.Second)
	if got := write("b", 1); got != OtherCanvasLabel {
		t.Fatalf("named within the first window: %q", got)
	}
	clock.Advance(time.Second) // the window ends: b and c were the top two
	got := join(write("a", 100), write("b", 1), write("c", 1), write("d", 1))
	if got != "other b c other" {
		t.Fatalf("after the first window: %s", got)
	}
	// Within the window, a's burst changes nothing; at its end a is named.
	clock.Advance(CanvasLabelWindow / 2)
	if got := write("a", 1); got != OtherCanvasLabel {
		t.Fatalf("renamed within a window: %q", got)
	}
	clock.Advance(CanvasLabelWindow / 2)
	if got := join(write("a", 1), write("b", 1), write("c", 1)); got != "a b other" {
		t.Fatalf("after the second window: %s", got)
	}
	if got := join(forgotten...); got != "c" {
		t.Fatalf("forgotten %q, want c", got)
	}
	// A window without writes keeps the names.
	clock.Advance(CanvasLabelWindow)
	l.mu.Lock()
	l.rotate() // the window of a, b and c ends with no write after it
	l.since = clock.Now()
	l.mu.Unlock()
	clock.Advance(3 * CanvasLabelWindow)
	if got := join(write("a", 1), write("b", 1)); got != "a b" {
		t.Fatalf("after quiet windows: %s", got)
	}
}

func join(labels ...string) string { return strings.Join(labels, " ") }
