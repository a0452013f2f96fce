package ws

// This file is the Origin check on the upgrade. A browser sends Origin on
// every WebSocket upgrade and lets any page open a WebSocket anywhere, so
// without the check any third-party page could make its visitors draw.
// Scripts and bots send no Origin (or any they like): the check is not
// against them, and a request without Origin is allowed.

import (
	"net"
	"net/url"
	"strings"
)

// OriginPolicy says which pages may open a connection.
type OriginPolicy struct {
	any      bool
	sameHost bool
	allowed  map[string]bool // normalised origins
}

// NewOriginPolicy allows the origins listed ("*" among them allows any
// page) and, with sameHost, a page whose hostname is the request's Host's
// hostname, whatever its scheme and port: the page the gateway serves itself
// (the playground, or an Ingress with every app on one host), and the split
// deployment's page on :3000 talking to a gateway on :3002 of the same host.
// Entries that are not origins (no scheme or no host) are ignored; ws and
// wss count as http and https, so a WebSocket URL names its page's origin.
func NewOriginPolicy(allowed []string, sameHost bool) *OriginPolicy {
	p := &OriginPolicy{sameHost: sameHost, allowed: map[string]bool{}}
	for _, o := range allowed {
		if o = strings.TrimSpace(o); o == "*" {
			p.any = true
		} else if n, ok := normalizeOrigin(o); ok {
			p.allowed[n] = true
		}
	}
	return p
}

// Allows reports whether a request with this Origin and Host may upgrade.
// No Origin (not a browser) is allowed.
func (p *OriginPolicy) Allows(origin, host string) bool {
	if origin == "" || p.any {
		return true
	}
	n, ok := normalizeOrigin(origin)
	if !ok {
		return false // "null" (a sandboxed page, a file) and garbage
	}
	if p.allowed[n] {
		return true
	}
	return p.sameHost && hostname(n[strings.Index(n, "://")+3:]) == hostname(strings.ToLower(host))
}

// normalizeOrigin reduces an origin (or any URL) to scheme://host[:port]
// in lower case, without the scheme's default port.
func normalizeOrigin(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "ws":
		scheme = "http"
	case "wss":
		scheme = "https"
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		host = host[:len(host)-len(port)-1]
	}
	return scheme + "://" + host, true
}

// hostname is a host[:port]'s host, without an IPv6 literal's brackets.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}
