package lograte

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFirstThenOnePerInterval(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	l := New(10*time.Second, c.now)
	if ok, n := l.Allow(); !ok || n != 0 {
		t.Fatalf("first occurrence: Allow = %v, %d; want true, 0", ok, n)
	}
	for i := range 99 {
		c.advance(50 * time.Millisecond) // 4.95 s in all
		if ok, _ := l.Allow(); ok {
			t.Fatalf("occurrence %d within the interval was allowed", i+2)
		}
	}
	c.advance(5050 * time.Millisecond) // exactly 10 s after the first
	if ok, n := l.Allow(); !ok || n != 99 {
		t.Fatalf("first occurrence after the interval: Allow = %v, %d; want true, 99", ok, n)
	}
	if ok, _ := l.Allow(); ok {
		t.Fatal("the interval restarts at the last logged line")
	}
	if n := l.Reset(); n != 1 {
		t.Fatalf("Reset = %d, want the 1 occurrence left out", n)
	}
	if ok, n := l.Allow(); !ok || n != 0 {
		t.Fatalf("first occurrence after Reset: Allow = %v, %d; want true, 0", ok, n)
	}
}

func TestLogAddsTheSuppressedCount(t *testing.T) {
	c := &fakeClock{t: time.Unix(1000, 0)}
	l := New(time.Second, c.now)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	for range 500 {
		l.Log(log, slog.LevelError, "write failed", "err", "no space left on device")
		c.advance(time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 || strings.Contains(lines[0], "suppressed") {
		t.Fatalf("500 occurrences within 0.5 s logged %d lines: %q; want 1 without a count", len(lines), lines)
	}
	c.advance(time.Second)
	if !l.Log(log, slog.LevelError, "write failed") {
		t.Fatal("an occurrence after the interval was not logged")
	}
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "suppressed=499") {
		t.Fatalf("second line = %q, want suppressed=499", lines[len(lines)-1])
	}
}

func TestConcurrentUse(t *testing.T) {
	l := New(time.Hour, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	logged := 0
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if ok, _ := l.Allow(); ok {
					mu.Lock()
					logged++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if logged != 1 {
		t.Fatalf("8000 concurrent occurrences logged %d times, want 1", logged)
	}
	if n := l.Reset(); n != 7999 {
		t.Fatalf("Reset = %d, want 7999", n)
	}
}
