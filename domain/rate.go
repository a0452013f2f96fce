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
	ok, _ := b.Take(now, 1)
	return ok
}

// Take takes n tokens at now, all or none. When they are not there it
// returns how long until they will be; a request larger than the burst can
// never be granted, and waits Forever.
func (b *TokenBucket) Take(now time.Time, n int) (bool, time.Duration) {
	var ok bool
	var wait time.Duration
	b.tokens, ok, wait = TakeTokens(b.rule, b.tokens, now.Sub(b.last), n)
	if now.After(b.last) {
		b.last = now
	}
	return ok, wait
}

// Forever is the wait for a request no bucket of its rule can ever grant.
const Forever = time.Duration(1<<63 - 1)

// TakeTokens is the token bucket's arithmetic, the one definition every
// bucket uses (in memory here; the shared per-IP budget in Redis runs the
// same steps in a script, see adapters/redis/redisbudget): refill for
// elapsed (never past the burst; a negative elapsed, a clock that stepped
// back, refills nothing), then take n if there are n.
func TakeTokens(rule RateRule, tokens float64, elapsed time.Duration, n int) (left float64, ok bool, wait time.Duration) {
	if elapsed > 0 {
		tokens = min(tokens+elapsed.Seconds()*rule.PerSecond, float64(rule.Burst))
	}
	need := float64(n)
	if tokens >= need {
		return tokens - need, true, 0
	}
	if n > rule.Burst || rule.PerSecond <= 0 {
		return tokens, false, Forever
	}
	return tokens, false, time.Duration((need - tokens) / rule.PerSecond * float64(time.Second))
}
