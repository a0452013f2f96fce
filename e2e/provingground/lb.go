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
// route around a dead replica. Backends can be added and taken out of
// rotation while it runs, as a Service's endpoints change during a rollout
// (Add, SetOut). Bytes are copied unchanged both ways, so WebSocket upgrades
// and frames pass through untouched.
type LoadBalancer struct {
	ln      net.Listener
	next    atomic.Uint64
	refused atomic.Int64

	bmu      sync.Mutex
	backends []*backend

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// backend is one address and its counters.
type backend struct {
	addr   string
	out    atomic.Bool // out of rotation: no new connections
	active atomic.Int64
	routed atomic.Int64
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
	lb := &LoadBalancer{ln: ln, conns: map[net.Conn]struct{}{}}
	for _, b := range backends {
		lb.Add(b)
	}
	lb.wg.Add(1)
	go lb.accept()
	return lb, nil
}

// Addr is the host:port clients connect to.
func (lb *LoadBalancer) Addr() string { return lb.ln.Addr().String() }

// Add puts another backend (host:port) into rotation and returns its index
// in Active and Routed.
func (lb *LoadBalancer) Add(addr string) int {
	lb.bmu.Lock()
	defer lb.bmu.Unlock()
	lb.backends = append(lb.backends, &backend{addr: addr})
	return len(lb.backends) - 1
}

// SetOut takes backend i out of rotation (out true), as a Service drops a
// pod whose readiness failed or that is terminating, or puts it back. New
// connections skip a backend that is out; those already proxied to it stay.
func (lb *LoadBalancer) SetOut(i int, out bool) {
	lb.bmu.Lock()
	defer lb.bmu.Unlock()
	lb.backends[i].out.Store(out)
}

// snapshot is the backends so far, in the order they were added.
func (lb *LoadBalancer) snapshot() []*backend {
	lb.bmu.Lock()
	defer lb.bmu.Unlock()
	return append([]*backend(nil), lb.backends...)
}

// Active is the number of open proxied connections per backend, in the
// order the backends were given or added.
func (lb *LoadBalancer) Active() []int {
	bs := lb.snapshot()
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = int(b.active.Load())
	}
	return out
}

// Routed is the number of connections sent to each backend so far.
func (lb *LoadBalancer) Routed() []int {
	bs := lb.snapshot()
	out := make([]int, len(bs))
	for i, b := range bs {
		out[i] = int(b.routed.Load())
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

// serve connects the client to a backend in rotation, starting at the next
// one in turn, and copies both ways until either side ends; then both
// close, so each peer sees the other go away as it would without the proxy.
func (lb *LoadBalancer) serve(client net.Conn) {
	defer lb.wg.Done()
	defer lb.untrack(client)
	var in []*backend
	for _, b := range lb.snapshot() {
		if !b.out.Load() {
			in = append(in, b)
		}
	}
	start := lb.next.Add(1) - 1
	n := uint64(len(in))
	for i := range n {
		b := in[(start+i)%n]
		conn, err := net.DialTimeout("tcp", b.addr, backendDialTimeout)
		if err != nil {
			continue
		}
		if !lb.track(conn) {
			_ = conn.Close()
			return
		}
		b.routed.Add(1)
		b.active.Add(1)
		lb.pipe(client, conn)
		b.active.Add(-1)
		lb.untrack(conn)
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
