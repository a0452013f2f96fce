// Package membudget is the in-process ports.Budget of the all-in-one
// app: one token bucket per client key in a map, with idle buckets
// forgotten (a full bucket and a new one behave the same).
package membudget

import (
	"context"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// maxTracked bounds the memory. Past it, idle buckets are swept; if all are
// live the table starts afresh, which at worst gives a flood from this many
// addresses one extra burst each.
const maxTracked = 100_000

// Budget is the in-process budget.
type Budget struct {
	rule  domain.RateRule
	clock ports.Clock
	idle  time.Duration // after this long unused, a bucket is full again

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens *domain.TokenBucket
	seen   time.Time
}

var _ ports.Budget = (*Budget)(nil)

// New builds a budget with the rule, on the clock.
func New(rule domain.RateRule, clock ports.Clock) *Budget {
	refill := time.Minute
	if rule.PerSecond > 0 {
		refill = max(refill, time.Duration(float64(rule.Burst)/rule.PerSecond*float64(time.Second)))
	}
	return &Budget{rule: rule, clock: clock, idle: refill, buckets: map[string]*bucket{}}
}

// Take implements ports.Budget.
func (b *Budget) Take(_ context.Context, key string, n int) (bool, time.Duration, error) {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.lastSweep) > b.idle || len(b.buckets) >= maxTracked {
		b.sweep(now)
	}
	bk, ok := b.buckets[key]
	if !ok {
		bk = &bucket{tokens: domain.NewTokenBucket(b.rule, now)}
		b.buckets[key] = bk
	}
	bk.seen = now
	granted, wait := bk.tokens.Take(now, n)
	return granted, wait, nil
}

// sweep forgets buckets unused for b.idle: they have refilled, so a new
// bucket would behave the same.
func (b *Budget) sweep(now time.Time) {
	b.lastSweep = now
	for k, bk := range b.buckets {
		if now.Sub(bk.seen) > b.idle {
			delete(b.buckets, k)
		}
	}
	if len(b.buckets) >= maxTracked {
		clear(b.buckets)
	}
}
