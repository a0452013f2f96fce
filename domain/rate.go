package domain

import "time"

// RateRule is a token bucket's refill rate and capacity.
type RateRule struct {
	PerSecond float64
	Burst     int
}

// Default rules. Twenty pixels a second is faster than anybody clicks and
// drags through distinct pixels; the burst of 40 lets a quick stroke land
// whole. Cursor messages are cheaper but far more frequent (pointermove).
var (
	DefaultPixelRate  = RateRule{PerSecond: 20, Burst: 40}
	DefaultCursorRate = RateRule{PerSecond: 30, Burst: 60}
)

// TokenBucket limits one connection. It is not safe for concurrent use: each
// connection's reader owns its buckets.
type TokenBucket struct {
	rule   RateRule
	tokens float64
	last   time.Time
}

// NewTokenBucket starts full at now.
func NewTokenBucket(rule RateRule, now time.Time) *TokenBucket {
	return &TokenBucket{rule: rule, tokens: float64(rule.Burst), last: now}
}

// Allow takes one token if one is available at now.
func (b *TokenBucket) Allow(now time.Time) bool {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens += elapsed.Seconds() * b.rule.PerSecond
		if max := float64(b.rule.Burst); b.tokens > max {
			b.tokens = max
		}
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}
