package rest

import (
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
)

// maxTrackedIPs bounds the limiter's memory. Past it, idle entries are
// swept; if all are live the table starts afresh, which at worst gives a
// flood from this many addresses one extra burst each.
const maxTrackedIPs = 100_000

// ipLimiter is one token bucket per client IP for write requests.
type ipLimiter struct {
	rule    domain.RateRule
	idle    time.Duration // after this long unused a bucket is full again
	proxies []netip.Prefix

	mu        sync.Mutex
	buckets   map[string]*ipBucket
	lastSweep time.Time
}

type ipBucket struct {
	tokens *domain.TokenBucket
	seen   time.Time
}

func newIPLimiter(rule domain.RateRule, proxies []netip.Prefix) *ipLimiter {
	refill := time.Duration(float64(rule.Burst) / rule.PerSecond * float64(time.Second))
	return &ipLimiter{rule: rule, idle: max(refill, time.Minute), proxies: proxies, buckets: map[string]*ipBucket{}}
}

// clientIP is the address a request's bucket is keyed by: the peer, or,
// when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not itself a trusted proxy. Each proxy appends
// the address it received the request from, so the rightmost entries are
// the ones our own proxies wrote; everything left of the first untrusted
// one may be forged by the client and is ignored.
func (l *ipLimiter) clientIP(peer netip.Addr, forwardedFor [][]byte) netip.Addr {
	peer = peer.Unmap()
	if !l.trusted(peer) {
		return peer
	}
	client := peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		hops := strings.Split(string(forwardedFor[i]), ",")
		for j := len(hops) - 1; j >= 0; j-- {
			hop := strings.TrimSpace(hops[j])
			if hop == "" {
				continue // "a,,b" or a trailing comma: nothing was said
			}
			a, ok := parseHop(hop)
			if !ok {
				return client // garbage or "unknown": stop at the last address we believe
			}
			client = a.Unmap()
			if !l.trusted(client) {
				return client
			}
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, or (as some
// proxies write it) an address with a port, "192.0.2.1:4711" or
// "[2001:db8::1]:4711".
func parseHop(hop string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(hop); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

// bucketKey is what a client is limited as. An IPv6 host is usually given
// a whole /64 and can pick any address in it, so the /64 is the client;
// an IPv4 address is one client.
func bucketKey(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (l *ipLimiter) trusted(a netip.Addr) bool {
	for _, p := range l.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// allowRequest takes a token from the bucket of the request's client.
func (l *ipLimiter) allowRequest(ctx *fasthttp.RequestCtx, now time.Time) bool {
	peer, _ := netip.AddrFromSlice(ctx.RemoteIP())
	return l.allow(bucketKey(l.clientIP(peer, ctx.Request.Header.PeekAll(fasthttp.HeaderXForwardedFor))), now)
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
