// Package clientip tells who a client is, for every per-client limit (the
// REST request rate, the shared pixel budget, connection caps): the peer's
// address, or, behind a trusted proxy, the client that proxy names in
// X-Forwarded-For; and the key a client is limited as (an IPv6 client is
// its /64). The REST API and the WebSocket upgrade use the same Resolver,
// so a client is the same client on both.
package clientip

import (
	"net/netip"
	"strings"
)

// Resolver reads client addresses given the proxies it trusts.
type Resolver struct {
	// Proxies are the proxies (an ingress, a load balancer) whose
	// X-Forwarded-For is believed. Without them, behind a proxy every client
	// would share the proxy's address; from anyone else the header is
	// ignored, since a client could otherwise pick a fresh address per
	// request.
	Proxies []netip.Prefix
}

// Addr is the client's address: the peer, or, when the peer is a trusted
// proxy, the nearest address in X-Forwarded-For that is not itself a
// trusted proxy. Each proxy appends the address it received the request
// from, so the rightmost entries are the ones our own proxies wrote;
// everything left of the first untrusted one may be forged by the client and
// is ignored.
func (r Resolver) Addr(peer netip.Addr, forwardedFor [][]byte) netip.Addr {
	peer = peer.Unmap()
	if !r.Trusted(peer) {
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
			if !r.Trusted(client) {
				return client
			}
		}
	}
	return client
}

// Key is the client's key for limits: Key(Addr(peer, forwardedFor)).
func (r Resolver) Key(peer netip.Addr, forwardedFor [][]byte) string {
	return Key(r.Addr(peer, forwardedFor))
}

// Trusted reports whether a is one of the trusted proxies.
func (r Resolver) Trusted(a netip.Addr) bool {
	for _, p := range r.Proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
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

// Key is what a client is limited as. An IPv6 host is usually given a whole
// /64 and can pick any address in it, so the /64 is the client; an IPv4
// address is one client.
func Key(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
