// Package measure holds what the load tool and the end-to-end suites use to
// report figures: a latency histogram with bounded relative error, a
// sharded variant that thousands of goroutines can record into without
// contending, a stable rendering of counts by key, and the CPU time of
// this process and of the machine.
package measure

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"
)

// Histogram counts durations in microseconds with bounded relative error:
// exact below 128 µs, then 64 buckets per power of two (under 1.6 % error),
// up to 2^40 µs. A fixed array makes merging and reading percentiles cheap
// and keeps memory independent of the number of samples, which long runs
// need. It is not safe for concurrent use; see Sharded.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	sum    uint64
	max    uint64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits // exact range, and twice the buckets per octave
	histMaxExp  = 40 - histSubBits + 1
	histBuckets = histSub + histMaxExp*(histSub/2)
	histMaxUS   = 1<<40 - 1
)

func histBucket(us uint64) int {
	if us < histSub {
		return int(us)
	}
	e := bits.Len64(us) - histSubBits // ≥ 1
	m := us >> e                      // in [64, 128)
	return histSub + (e-1)*(histSub/2) + int(m-histSub/2)
}

// histBounds is the range of values that land in bucket b.
func histBounds(b int) (lo, hi uint64) {
	if b < histSub {
		return uint64(b), uint64(b)
	}
	e := (b-histSub)/(histSub/2) + 1
	m := uint64((b-histSub)%(histSub/2) + histSub/2)
	return m << e, (m+1)<<e - 1
}

// Record adds one duration; a negative one (clock trouble) counts as zero,
// never as a huge value.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	us = min(us, histMaxUS)
	h.counts[histBucket(us)]++
	h.n++
	h.sum += us
	h.max = max(h.max, us)
}

// Merge adds every sample of o.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample, to the microsecond.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean is the average sample (0 with no samples).
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/h.n) * time.Microsecond
}

// Quantile is the value at quantile q (0..1): the middle of the bucket
// holding that rank, never above the largest value seen.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := max(uint64(math.Ceil(q*float64(h.n))), 1)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := histBounds(b)
			return time.Duration(min((lo+hi)/2, h.max)) * time.Microsecond
		}
	}
	return h.Max()
}

// Sharded lets thousands of goroutines record without contending on one
// lock: each records into the shard its key picks (a connection number).
type Sharded struct {
	shards [64]struct {
		mu sync.Mutex
		h  Histogram
		_  [40]byte // keep neighbouring locks off one cache line
	}
}

// Record adds d to the shard of key.
func (s *Sharded) Record(key uint64, d time.Duration) {
	sh := &s.shards[key%uint64(len(s.shards))]
	sh.mu.Lock()
	sh.h.Record(d)
	sh.mu.Unlock()
}

// Merged is every shard added up, as of now.
func (s *Sharded) Merged() *Histogram {
	var out Histogram
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		out.Merge(&sh.h)
		sh.mu.Unlock()
	}
	return &out
}

// FormatCounts renders counts as "key=n" in key order, joined by sep, or
// "none" for no counts.
func FormatCounts[V int | uint64](m map[string]V, sep string) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, sep)
}
