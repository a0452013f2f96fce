package measure

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantilesAreClose(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h Histogram
	var sh Sharded
	var vals []time.Duration
	for i := range 100000 {
		// Log-uniform from 1 µs to ~10 s, like latencies.
		d := time.Duration(math.Exp(rng.Float64()*math.Log(1e7))) * time.Microsecond
		vals = append(vals, d)
		h.Record(d)
		sh.Record(uint64(i), d)
	}
	slices.Sort(vals)
	merged := sh.Merged()
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99, 0.999} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		for _, got := range []time.Duration{h.Quantile(q), merged.Quantile(q)} {
			if rel := math.Abs(float64(got-exact)) / float64(exact); rel > 0.02 {
				t.Errorf("q%.3f: got %v, exact %v (%.1f%% off)", q, got, exact, 100*rel)
			}
		}
	}
	if h.Count() != 100000 || merged.Count() != 100000 || h.Max() != vals[len(vals)-1].Truncate(time.Microsecond) {
		t.Errorf("count %d / %d, max %v, want %v", h.Count(), merged.Count(), h.Max(), vals[len(vals)-1])
	}
	for b := range histBuckets {
		lo, hi := histBounds(b)
		if lo > hi || histBucket(lo) != b || histBucket(hi) != b {
			t.Fatalf("bucket %d: [%d,%d] maps to %d,%d", b, lo, hi, histBucket(lo), histBucket(hi))
		}
	}
}

func TestHistogramEdges(t *testing.T) {
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Count() != 0 || empty.Mean() != 0 {
		t.Error("empty histogram")
	}
	var small Histogram
	small.Record(-time.Second) // clock skew counts as zero, never as a huge value
	small.Record(100 * time.Microsecond)
	if small.Quantile(0.5) != 0 || small.Quantile(1) != 100*time.Microsecond || small.Mean() != 50*time.Microsecond {
		t.Errorf("small values: p50 %s p100 %s mean %s", small.Quantile(0.5), small.Quantile(1), small.Mean())
	}
}

func TestFormatCounts(t *testing.T) {
	if got := FormatCounts(map[string]int{}, ", "); got != "none" {
		t.Errorf("empty = %q", got)
	}
	if got := FormatCounts(map[string]uint64{"rate_limited": 3, "bad_pixel": 1}, " "); got != "bad_pixel=1 rate_limited=3" {
		t.Errorf("got %q", got)
	}
}
