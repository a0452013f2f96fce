package provingground

import (
	"bufio"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// backendServer answers every connection with its name and then echoes,
// so a client can tell which backend the balancer chose.
func backendServer(t *testing.T, name string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write([]byte(name + "\n")); err != nil {
					return
				}
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln
}

// connectVia dials the balancer and returns the backend's name line.
func connectVia(t *testing.T, lb *LoadBalancer) (net.Conn, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", lb.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("no greeting through the balancer: %v", err)
	}
	return c, line[:len(line)-1]
}

func TestLoadBalancerRoundRobinAndFailover(t *testing.T) {
	a, b, c := backendServer(t, "a"), backendServer(t, "b"), backendServer(t, "c")
	lb, err := NewLoadBalancer(a.Addr().String(), b.Addr().String(), c.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()

	var got []string
	var conns []net.Conn
	for range 6 {
		conn, name := connectVia(t, lb)
		got = append(got, name)
		conns = append(conns, conn)
	}
	if want := []string{"a", "b", "c", "a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("backends in order %v, want %v", got, want)
	}
	waitfor.True(t, 2*time.Second, "two open connections per backend", func() bool { return slices.Equal(lb.Active(), []int{2, 2, 2}) })

	// Bytes pass through unchanged both ways.
	if _, err := conns[0].Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	_ = conns[0].SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 5)
	if _, err := conns[0].Read(buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("echo through the balancer = %q, %v", buf, err)
	}

	// A client that leaves frees its backend slot.
	_ = conns[0].Close()
	waitfor.True(t, 2*time.Second, "backend a down to one connection", func() bool { return lb.Active()[0] == 1 })

	// A backend that refuses is skipped: its turn goes to the next one.
	_ = b.Close()
	got = got[:0]
	for range 3 {
		_, name := connectVia(t, lb)
		got = append(got, name)
	}
	if want := []string{"a", "c", "c"}; !slices.Equal(got, want) {
		t.Fatalf("with b down, backends %v, want %v", got, want)
	}
	if r := lb.Routed(); r[1] != 2 {
		t.Fatalf("routed to b = %d, want the 2 from before it went down", r[1])
	}

	// Nobody left: the client is closed at once.
	_ = a.Close()
	_ = c.Close()
	conn, err := net.DialTimeout("tcp", lb.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := conn.Read(buf); err == nil {
		t.Fatalf("read %d bytes with every backend down", n)
	}
	waitfor.True(t, 2*time.Second, "one refused connection", func() bool { return lb.Refused() == 1 })

	// Close drops the connections still proxied.
	if err := lb.Close(); err != nil {
		t.Fatal(err)
	}
	_ = conns[1].SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conns[1].Read(buf); err == nil {
		t.Fatal("a proxied connection survived Close")
	}
}

func TestLoadBalancerNeedsBackends(t *testing.T) {
	if _, err := NewLoadBalancer(); err == nil {
		t.Fatal("a load balancer without backends was created")
	}
}
