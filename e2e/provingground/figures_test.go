package provingground

import (
	"testing"
	"time"
)

// The suites' verdicts rest on these helpers, so they are checked on their
// own, without Docker.

func TestSeqTracker(t *testing.T) {
	var s seqTracker
	s.start(10)
	for _, seq := range []uint64{9, 11, 12, 15, 15, 13, 10, 16} {
		s.see(seq)
	}
	if s.inOrder != 4 || s.missing != 2 || s.outOfOrder != 2 || s.beforeStart != 2 || s.last() != 16 || s.clean() {
		t.Fatalf("%v, last %d", &s, s.last())
	}
	var ok seqTracker
	ok.start(0)
	ok.see(1)
	if !ok.clean() {
		t.Fatalf("a clean stream judged unclean: %v", &ok)
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3}
	if percentile(ds, 0.5) != 3 || percentile(ds, 0.99) != 5 || percentile(ds, 0) != 1 || percentile(nil, 0.5) != 0 {
		t.Fatalf("percentiles of 1..5 wrong: %v", ds)
	}
}

func TestWriteNumbering(t *testing.T) {
	for _, n := range []int{1, 2499, 2500, 123_456, maxWriteNumber} {
		got, ok := writeOf(writeColor(n))
		if !ok || got != n {
			t.Fatalf("write %d → %s → %d, %v", n, writeColor(n), got, ok)
		}
		if x, y := writePixel(n, chaosRegion); y*canvasWidth+x != n%chaosRegion {
			t.Fatalf("write %d → pixel (%d,%d)", n, x, y)
		}
	}
}
