package netguard

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// serve accepts on a guarded loopback listener and keeps what it accepts;
// it returns the listener, the address, and the accepted connections.
func serve(t *testing.T, o Options) (*Listener, string, func() []net.Conn) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Log = slog.New(slog.DiscardHandler)
	l := Wrap(raw, o)
	var mu sync.Mutex
	var got []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range got {
			_ = c.Close()
		}
	})
	return l, raw.Addr().String(), func() []net.Conn {
		mu.Lock()
		defer mu.Unlock()
		return append([]net.Conn(nil), got...)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// refusedByServer reports whether the server closed c: a read ends in EOF
// or a reset instead of waiting.
func refusedByServer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func TestCaps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Options
		dials   int
		admit   int
		reasons string
	}{
		{name: "total", o: Options{Max: 3}, dials: 5, admit: 3, reasons: ReasonTotal},
		{name: "per address", o: Options{PerIP: 2}, dials: 4, admit: 2, reasons: ReasonPerIP},
		{name: "a proxy is capped only in total", o: Options{Max: 4, PerIP: 1, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
			dials: 6, admit: 4, reasons: ReasonTotal},
		{name: "no caps", o: Options{}, dials: 20, admit: 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			refused := map[string]int{}
			tc.o.Refused = func(r string) { mu.Lock(); refused[r]++; mu.Unlock() }
			l, addr, accepted := serve(t, tc.o)
			var conns []net.Conn
			for range tc.admit {
				conns = append(conns, dial(t, addr))
			}
			waitfor.True(t, 5*time.Second, fmt.Sprintf("%d connections accepted", tc.admit), func() bool { return len(accepted()) == tc.admit })
			for range tc.dials - tc.admit {
				if c := dial(t, addr); !refusedByServer(c) {
					t.Fatal("a connection over the cap was kept open")
				}
			}
			mu.Lock()
			if n := refused[tc.reasons]; tc.reasons != "" && n != tc.dials-tc.admit {
				t.Errorf("refused %v, want %d for %s", refused, tc.dials-tc.admit, tc.reasons)
			}
			mu.Unlock()
			if l.Open() != tc.admit {
				t.Fatalf("open = %d, want %d", l.Open(), tc.admit)
			}
			// The connections that were in keep working.
			for i, c := range conns {
				srv := accepted()[i]
				if _, err := c.Write([]byte("x")); err != nil {
					t.Fatal(err)
				}
				if _, err := io.ReadFull(srv, make([]byte, 1)); err != nil {
					t.Fatalf("an admitted connection stopped working: %v", err)
				}
			}
			// A closed connection gives its place back, once however often
			// it is closed.
			if tc.admit > 0 && tc.reasons != "" {
				srv := accepted()[0]
				_ = srv.Close()
				_ = srv.Close()
				if l.Open() != tc.admit-1 {
					t.Fatalf("open after a close = %d", l.Open())
				}
				dial(t, addr)
				waitfor.True(t, 5*time.Second, "the freed place taken again", func() bool { return len(accepted()) == tc.admit+1 })
			}
		})
	}
}

// flaky fails Accept with err n times, then hands out conn.
type flaky struct {
	net.Listener
	mu    sync.Mutex
	n     int
	err   error
	calls int
	conn  net.Conn
}

func (f *flaky) Accept() (net.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.n > 0 {
		f.n--
		return nil, f.err
	}
	return f.conn, nil
}

func TestOutOfDescriptorsIsRetried(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	tcp := &tcpConn{Conn: a}
	f := &flaky{n: 4, err: &net.OpError{Op: "accept", Err: syscall.EMFILE}, conn: tcp}
	l := Wrap(f, Options{Max: 10, Log: slog.New(slog.DiscardHandler)})
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept gave up on %v: %v", f.err, err)
	}
	if f.calls != 5 || l.Open() != 1 {
		t.Fatalf("calls %d, open %d", f.calls, l.Open())
	}
	_ = c.Close()
}

func TestPermanentErrorEndsAccept(t *testing.T) {
	bad := errors.New("listener broken")
	l := Wrap(&flaky{n: 1, err: bad}, Options{Log: slog.New(slog.DiscardHandler)})
	if _, err := l.Accept(); !errors.Is(err, bad) {
		t.Fatalf("Accept = %v, want %v", err, bad)
	}
}

func TestCloseEndsTheRetries(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{Listener: raw, n: 1 << 30, err: &net.OpError{Op: "accept", Err: syscall.ENFILE}}
	l := Wrap(f, Options{Log: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	waitfor.True(t, 5*time.Second, "accept retried", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.calls > 2 })
	_ = l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept kept retrying after Close")
	}
}

// tcpConn gives a pipe a TCP remote address.
type tcpConn struct{ net.Conn }

func (tcpConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1} }

func TestIPv6IsCountedBy64(t *testing.T) {
	l := Wrap(nil, Options{})
	a, _ := l.key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::1")})
	b, _ := l.key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::9")})
	c, _ := l.key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1")})
	v4, _ := l.key(&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7")})
	if a != b || a == c || v4 != netip.MustParsePrefix("192.0.2.7/32") {
		t.Fatalf("keys %v %v %v %v", a, b, c, v4)
	}
}

func TestDefaultMax(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		want  int
	}{
		{0, 0}, {1 << 40, 0}, {100, 50}, {1024, 922}, {20000, 18000}, {1 << 20, 943719},
	} {
		if got := DefaultMax(tc.limit); got != tc.want {
			t.Errorf("DefaultMax(%d) = %d, want %d", tc.limit, got, tc.want)
		}
	}
}
