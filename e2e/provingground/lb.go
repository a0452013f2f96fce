package provingground

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Load balancer timing. A backend that does not accept within
// backendDialTimeout is skipped for this connection; a peer that does not
// take a chunk of data within writeTimeout is cut off, so one stuck peer
// never pins a proxy goroutine forever.
const (
	backendDialTimeout = time.Second
	writeTimeout       = 10 * time.Second
	copyBufferBytes    = 32 << 10
)

// LoadBalancer is a round-robin TCP proxy on a loopback port: each accepted
// connection goes to the next backend in turn, and to the one after that if
// the backend refuses, as a cloud TCP load balancer with health checks would
// route around a dead replica. Bytes are copied unchanged both ways, so
// WebSocket upgrades and frames pass through untouched.
type LoadBalancer struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint64
	active   []atomic.Int64
	routed   []atomic.Int64
	refused  atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewLoadBalancer listens on 127.0.0.1 on a free port and proxies to the
// backends (host:port each). Close stops it.
func NewLoadBalancer(backends ...string) (*LoadBalancer, error) {
	if len(backends) == 0 {
		return nil, errors.New("provingground: a load balancer needs at least one backend")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("provingground: load balancer listen: %w", err)
	}
	lb := &LoadBalancer{
		ln:       ln,
		backends: append([]string(nil), backends...),
		active:   make([]atomic.Int64, len(backends)),
		routed:   make([]atomic.Int64, len(backends)),
		conns:    map[net.Conn]struct{}{},
	}
	lb.wg.Add(1)
	go lb.accept()
	return lb, nil
}

// Addr is the host:port clients connect to.
func (lb *LoadBalancer) Addr() string { return lb.ln.Addr().String() }

// Active is the number of open proxied connections per backend, in the
// order the backends were given.
func (lb *LoadBalancer) Active() []int {
	out := make([]int, len(lb.active))
	for i := range lb.active {
		out[i] = int(lb.active[i].Load())
	}
	return out
}

// Routed is the number of connections sent to each backend so far.
func (lb *LoadBalancer) Routed() []int {
	out := make([]int, len(lb.routed))
	for i := range lb.routed {
		out[i] = int(lb.routed[i].Load())
	}
	return out
}

// Refused counts client connections closed at once because no backend
// accepted them.
func (lb *LoadBalancer) Refused() int { return int(lb.refused.Load()) }

// Close stops accepting, drops every proxied connection and waits for the
// proxy goroutines to end.
func (lb *LoadBalancer) Close() error {
	err := lb.ln.Close()
	lb.mu.Lock()
	lb.closed = true
	for c := range lb.conns {
		_ = c.Close()
	}
	lb.mu.Unlock()
	lb.wg.Wait()
	return err
}

func (lb *LoadBalancer) accept() {
	defer lb.wg.Done()
	for {
		client, err := lb.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: the load passes, so
			// back off briefly rather than stop balancing for good.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !lb.track(client) {
			_ = client.Close()
			return
		}
		lb.wg.Add(1)
		go lb.serve(client)
	}
}

// track registers a connection so Close can drop it; false once closed.
func (lb *LoadBalancer) track(c net.Conn) bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.closed {
		return false
	}
	lb.conns[c] = struct{}{}
	return true
}

func (lb *LoadBalancer) untrack(c net.Conn) {
	lb.mu.Lock()
	delete(lb.conns, c)
	lb.mu.Unlock()
	_ = c.Close()
}

// serve connects the client to a backend, starting at the next one in
// turn, and copies both ways until either side ends; then both close, so
// each peer sees the other go away as it would without the proxy.
func (lb *LoadBalancer) serve(client net.Conn) {
	defer lb.wg.Done()
	defer lb.untrack(client)
	start := lb.next.Add(1) - 1
	n := uint64(len(lb.backends))
	for i := range n {
		b := int((start + i) % n)
		backend, err := net.DialTimeout("tcp", lb.backends[b], backendDialTimeout)
		if err != nil {
			continue
		}
		if !lb.track(backend) {
			_ = backend.Close()
			return
		}
		lb.routed[b].Add(1)
		lb.active[b].Add(1)
		lb.pipe(client, backend)
		lb.active[b].Add(-1)
		lb.untrack(backend)
		return
	}
	lb.refused.Add(1)
}

func (lb *LoadBalancer) pipe(client, backend net.Conn) {
	done := make(chan struct{}, 2)
	copyAndClose := func(dst, src net.Conn) {
		_ = copyWithDeadline(dst, src)
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go copyAndClose(backend, client)
	go copyAndClose(client, backend)
	<-done
	<-done
}

// copyWithDeadline is io.Copy with a deadline on every write. Reads have
// none: an idle WebSocket is legitimate and ends when a peer closes.
func copyWithDeadline(dst, src net.Conn) error {
	buf := make([]byte, copyBufferBytes)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if derr := dst.SetWriteDeadline(time.Now().Add(writeTimeout)); derr != nil {
				return derr
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
