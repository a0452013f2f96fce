// Package netguard guards a server's accepting socket, so that running out
// of connections or file descriptors never takes the process down and one
// client address cannot take every connection:
//
//   - an accept error the kernel will get over (no file descriptors left,
//     a connection aborted before it was accepted) is retried with a growing
//     pause instead of ending the server, as net/http does; fasthttp treats
//     "too many open files" as permanent and returns from Serve;
//   - connections are capped in total (below the descriptor limit, so the
//     process keeps descriptors for its store, its Redis connections and its
//     logs) and per client address (IPv6 by /64); a connection over a cap is
//     closed as soon as it is accepted, which costs the others nothing.
//
// The per-address cap cannot see through a proxy: peers in Exempt (the
// ingress, a local reverse proxy) are only counted in the total.
package netguard

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Reasons a connection was refused, for the caller's metric.
const (
	ReasonTotal = "max_connections"
	ReasonPerIP = "ip_max_connections"
)

// Options configures a Listener.
type Options struct {
	Max    int            // open connections at most; 0: no cap
	PerIP  int            // open connections per client address at most; 0: no cap
	Exempt []netip.Prefix // peers not capped per address (proxies)
	Log    *slog.Logger   // nil: slog.Default()
	// Refused, if set, is told each refused connection's reason.
	Refused func(reason string)
}

// Listener is a net.Listener with the guards above.
type Listener struct {
	net.Listener
	o Options

	mu     sync.Mutex
	total  int
	perIP  map[netip.Prefix]int
	closed chan struct{}
	once   sync.Once

	lastLog time.Time // accept-error logging, at most one line per logEvery
	muted   int       // accept errors since the last line
}

// Pauses after a temporary accept error: the first is short so a brief
// shortage costs little, the longest bounds how late the server notices that
// descriptors are free again.
const (
	minPause = 5 * time.Millisecond
	maxPause = time.Second
	logEvery = 10 * time.Second
)

// Wrap guards ln.
func Wrap(ln net.Listener, o Options) *Listener {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Listener{Listener: ln, o: o, perIP: map[netip.Prefix]int{}, closed: make(chan struct{})}
}

// Accept returns the next connection within the caps. It returns an error
// only when the listener is closed or broken for good.
func (l *Listener) Accept() (net.Conn, error) {
	pause := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !temporary(err) {
				return nil, err
			}
			pause = min(max(2*pause, minPause), maxPause)
			l.logAcceptError(err, pause)
			select {
			case <-time.After(pause):
				continue
			case <-l.closed:
				return nil, net.ErrClosed
			}
		}
		pause = 0
		if g, ok := l.admit(c); ok {
			return g, nil
		}
	}
}

// Close stops accepting; connections already accepted stay open.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// Max is the total cap (0: none).
func (l *Listener) Max() int { return l.o.Max }

// Open is the number of connections accepted and not yet closed.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func (l *Listener) admit(c net.Conn) (net.Conn, bool) {
	key, perIP := l.key(c.RemoteAddr())
	reason := ""
	l.mu.Lock()
	switch {
	case l.o.Max > 0 && l.total >= l.o.Max:
		reason = ReasonTotal
	case perIP && l.o.PerIP > 0 && l.perIP[key] >= l.o.PerIP:
		reason = ReasonPerIP
	default:
		l.total++
		if perIP {
			l.perIP[key]++
		}
	}
	l.mu.Unlock()
	if reason != "" {
		// Counted before the close, so that whoever sees the connection
		// end also sees it counted.
		if l.o.Refused != nil {
			l.o.Refused(reason)
		}
		_ = c.Close()
		return nil, false
	}
	return &conn{Conn: c, l: l, key: key, perIP: perIP}, true
}

func (l *Listener) release(key netip.Prefix, perIP bool) {
	l.mu.Lock()
	l.total--
	if perIP {
		if l.perIP[key]--; l.perIP[key] <= 0 {
			delete(l.perIP, key)
		}
	}
	l.mu.Unlock()
}

// key is the address a connection is counted under: the IPv4 address, or
// the IPv6 /64 (one household or one server's range), and whether it is
// counted per address at all.
func (l *Listener) key(addr net.Addr) (netip.Prefix, bool) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	for _, p := range l.o.Exempt {
		if p.Contains(ip) {
			return netip.Prefix{}, false
		}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// logAcceptError logs the first accept error and then at most one line per
// logEvery, with how many came in between: a server out of descriptors
// fails thousands of accepts a minute.
func (l *Listener) logAcceptError(err error, pause time.Duration) {
	now := time.Now()
	if now.Sub(l.lastLog) < logEvery {
		l.muted++
		return
	}
	l.o.Log.Warn("accepting connections failed; retrying", "err", err, "pause", pause, "failures_since_last_report", l.muted)
	l.lastLog, l.muted = now, 0
}

// temporary reports whether an accept error passes by itself: descriptors
// run out and come back, and a peer may abort before its connection is
// accepted.
func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// conn releases its place once, on the first Close.
type conn struct {
	net.Conn
	l     *Listener
	key   netip.Prefix
	perIP bool
	once  sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key, c.perIP) })
	return err
}
