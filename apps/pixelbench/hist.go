package main

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// histogram counts durations in microseconds with bounded relative error:
// exact below 128 µs, then 64 buckets per power of two (under 1.6 % error),
// up to 2^40 µs. A fixed array makes merging shards and reading percentiles
// cheap and keeps memory independent of the number of samples.
type histogram struct {
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

func (h *histogram) record(d time.Duration) {
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

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile is the value at quantile q (0..1): the middle of the bucket
// holding that rank, never above the largest value seen.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := histBounds(b)
			return time.Duration(min((lo+hi)/2, h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

// summary is what the results report for one histogram.
func (h *histogram) summary() LatencySummary {
	s := LatencySummary{Count: h.n}
	if h.n == 0 {
		return s
	}
	s.MeanMs = float64(h.sum) / float64(h.n) / 1000
	s.P50Ms = ms(h.quantile(0.50))
	s.P95Ms = ms(h.quantile(0.95))
	s.P99Ms = ms(h.quantile(0.99))
	s.MaxMs = float64(h.max) / 1000
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shardedHistogram lets thousands of reader goroutines record without
// contending on one lock: each client records into the shard of its
// connection number.
type shardedHistogram struct {
	shards [64]struct {
		mu sync.Mutex
		h  histogram
		_  [40]byte // keep neighbouring locks off one cache line
	}
}

func (s *shardedHistogram) record(shard uint64, d time.Duration) {
	sh := &s.shards[shard%uint64(len(s.shards))]
	sh.mu.Lock()
	sh.h.record(d)
	sh.mu.Unlock()
}

func (s *shardedHistogram) merged() *histogram {
	var out histogram
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		out.merge(&sh.h)
		sh.mu.Unlock()
	}
	return &out
}
