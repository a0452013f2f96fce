package provingground

import (
	"math"
	"testing"
	"time"
)

// The suites' verdicts rest on these helpers, so they are checked on their
// own, without Docker.

func TestLatencyHistogramQuantiles(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 10_000; i++ {
		h.add(time.Duration(i) * 10 * time.Microsecond) // 10 µs .. 100 ms, uniform
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}} {
		got := h.quantile(c.q)
		if rel := math.Abs(float64(got-c.want)) / float64(c.want); rel > 1.0/64 {
			t.Errorf("p%.0f = %s, want %s within 1/64", 100*c.q, got, c.want)
		}
	}
	if h.maxValue() != 100*time.Millisecond || h.count() != 10_000 {
		t.Errorf("max %s count %d", h.maxValue(), h.count())
	}
	var small latencyHist
	small.add(-time.Second) // clock trouble counts as zero, never as a huge value
	small.add(100 * time.Microsecond)
	if small.quantile(0.5) != 0 || small.quantile(1) != 100*time.Microsecond {
		t.Errorf("small values: p50 %s p100 %s", small.quantile(0.5), small.quantile(1))
	}
	for us := uint64(0); us < 1<<30; us = us*3/2 + 1 {
		b := histBucket(us)
		if v := histValue(b); math.Abs(float64(v)-float64(us)) > float64(us)/64+1 {
			t.Fatalf("%d µs lands in bucket %d, whose value is %d", us, b, v)
		}
	}
}

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
