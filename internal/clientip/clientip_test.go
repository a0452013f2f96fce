package clientip

import (
	"net/netip"
	"testing"
)

func bytesOf(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func TestAddr(t *testing.T) {
	r := Resolver{Proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	for _, tc := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.1", nil, "203.0.113.1"},
		{"203.0.113.1", []string{"192.0.2.1"}, "203.0.113.1"}, // untrusted peer: header ignored
		{"10.1.2.3", nil, "10.1.2.3"},                         // a trusted peer with no header is the client
		{"10.1.2.3", []string{"192.0.2.1"}, "192.0.2.1"},
		{"10.1.2.3", []string{"192.0.2.9, 192.0.2.1, 10.0.0.5"}, "192.0.2.1"}, // two of our proxies
		{"10.1.2.3", []string{"192.0.2.9", "192.0.2.1"}, "192.0.2.1"},         // repeated header lines
		{"10.1.2.3", []string{"10.0.0.9, 10.0.0.8"}, "10.0.0.9"},              // all ours: the leftmost
		{"10.1.2.3", []string{"nonsense, 192.0.2.1"}, "192.0.2.1"},
		{"10.1.2.3", []string{"192.0.2.1, nonsense"}, "10.1.2.3"}, // our proxy never writes garbage
		{"10.1.2.3", []string{"2001:db8::1"}, "2001:db8::1"},
		{"fd00::1", []string{"::ffff:192.0.2.1"}, "192.0.2.1"},
		{"10.1.2.3", []string{"192.0.2.1:4711"}, "192.0.2.1"},         // a proxy that writes the port
		{"10.1.2.3", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},   // the same for IPv6
		{"10.1.2.3", []string{"192.0.2.1, , 10.0.0.5,"}, "192.0.2.1"}, // empty entries say nothing
		{"10.1.2.3", []string{"192.0.2.1, unknown"}, "10.1.2.3"},      // an unknown client: the proxy
		{"10.1.2.3", []string{"192.0.2.1", ""}, "192.0.2.1"},          // an empty header line
	} {
		got := r.Addr(netip.MustParseAddr(tc.peer), bytesOf(tc.xff))
		if got.String() != tc.want {
			t.Errorf("Addr(%s, %q) = %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}

func TestIPv6ClientsAreOneSlash64(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"192.0.2.1", "192.0.2.2", false},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.2", false},
		{"::ffff:192.0.2.1", "192.0.2.1", true},
	} {
		if got := Key(netip.MustParseAddr(tc.a)) == Key(netip.MustParseAddr(tc.b)); got != tc.same {
			t.Errorf("%s and %s are one client: %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
