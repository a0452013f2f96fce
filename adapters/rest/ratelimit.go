package rest

import (
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// maxTrackedIPs bounds the limiter's memory. Past it, idle entries are
// swept; if all are live the table starts afresh, which at worst gives a
// flood from this many addresses one extra burst each.
const maxTrackedIPs = 100_000

// ipLimiter is one token bucket per client IP for write requests. Behind a
// proxy every client shares the proxy's address, so the app should only
// enable it where clients connect directly (or set a generous rule).
type ipLimiter struct {
	rule domain.RateRule
	idle time.Duration // after this long unused a bucket is full again

	mu        sync.Mutex
	buckets   map[string]*ipBucket
	lastSweep time.Time
}

type ipBucket struct {
	tokens *domain.TokenBucket
	seen   time.Time
}

func newIPLimiter(rule domain.RateRule) *ipLimiter {
	refill := time.Duration(float64(rule.Burst) / rule.PerSecond * float64(time.Second))
	return &ipLimiter{rule: rule, idle: max(refill, time.Minute), buckets: map[string]*ipBucket{}}
}

func (l *ipLimiter) allow(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > l.idle || len(l.buckets) >= maxTrackedIPs {
		l.sweep(now)
	}
	b, ok := l.buckets[ip]
	if !ok {
		b = &ipBucket{tokens: domain.NewTokenBucket(l.rule, now)}
		l.buckets[ip] = b
	}
	b.seen = now
	return b.tokens.Allow(now)
}

// sweep forgets buckets unused for l.idle: they have refilled, so a new
// bucket would behave the same.
func (l *ipLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for ip, b := range l.buckets {
		if now.Sub(b.seen) > l.idle {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) >= maxTrackedIPs {
		clear(l.buckets)
	}
}
