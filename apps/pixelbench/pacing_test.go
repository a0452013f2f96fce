package main

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestSendLoopKeepsItsSchedule runs a slot's pacing on synctest's clock: a
// write is due every interval from first until end, and one that cannot be
// made (no connection yet) is counted as skipped rather than retried.
func TestSendLoopKeepsItsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBench(Config{})
		start := time.Now()
		b.sendLoop(t.Context(), &slot{}, start.Add(50*time.Millisecond), start.Add(time.Second), 100*time.Millisecond)
		// Due at 50, 150, ..., 950 ms.
		if got := b.skipped.Load(); got != 10 || b.sent.Load() != 0 {
			t.Fatalf("skipped %d, sent %d; want 10 skipped", got, b.sent.Load())
		}
		if took := time.Since(start); took != 950*time.Millisecond {
			t.Fatalf("returned after %v, want at the last due write (950ms)", took)
		}
	})
}

// TestSendLoopStartingAtTheEndSendsNothing: a slot whose offset falls at or
// after the end of the steady phase has no write due.
func TestSendLoopStartingAtTheEndSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBench(Config{})
		start := time.Now()
		end := start.Add(time.Second)
		b.sendLoop(t.Context(), &slot{}, end, end, 100*time.Millisecond)
		if b.skipped.Load() != 0 || time.Since(start) != 0 {
			t.Fatalf("skipped %d and waited %v; want neither", b.skipped.Load(), time.Since(start))
		}
	})
}
