package redistest

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to a target, and can stop forwarding on
// command: a network path a test can make slow or cut without touching
// either end. Held bytes stay unread in the kernel's buffers (the sender
// sees a slow reader); Cut drops every connection, and what was held with
// it.
//
// Two uses in the Sentinel tests: between a replica and its master, Hold
// of the master's direction makes the replica lag by exactly the writes
// made meanwhile (so that killing the master then loses them unless the
// writes waited for the replica); between the app and the master,
// Hold of both directions is a partition that neither end is told about.
type Proxy struct {
	target string
	ln     net.Listener

	mu     sync.Mutex
	wake   *sync.Cond
	held   [2]bool // by Direction
	closed bool
	conns  map[net.Conn]struct{}
}

// Direction is one way through a Proxy.
type Direction int

// The two directions.
const (
	ToTarget Direction = iota // what the client sends
	ToClient                  // what the target answers
)

// StartProxy listens on a free loopback port and forwards every connection
// to target until the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy listen: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wake = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is where clients connect.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is where the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Hold stops forwarding in the given directions (new connections too)
// until Release.
func (p *Proxy) Hold(dirs ...Direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, d := range dirs {
		p.held[d] = true
	}
}

// Release forwards again in every direction.
func (p *Proxy) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = [2]bool{}
	p.wake.Broadcast()
}

// Cut closes every connection open through the proxy, dropping whatever
// was held, and releases it for the connections that come next.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
	p.held = [2]bool{}
	p.wake.Broadcast()
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut()
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(client)
	}
}

func (p *Proxy) serve(client net.Conn) {
	target, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = client.Close()
		_ = target.Close()
		return
	}
	p.conns[client] = struct{}{}
	p.conns[target] = struct{}{}
	p.mu.Unlock()
	go p.pipe(target, client, ToClient)
	p.pipe(client, target, ToTarget)
}

// pipe copies src to dst in the direction dir, waiting while it is held,
// before reading (so held bytes stay with the sender) and before writing
// (so a chunk read just before Hold is not let through either).
func (p *Proxy) pipe(src, dst net.Conn, dir Direction) {
	defer func() { _ = src.Close(); _ = dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		if !p.waitOpen(dir, src) {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitOpen(dir, src) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitOpen waits while dir is held; false once c was cut meanwhile.
func (p *Proxy) waitOpen(dir Direction, c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.held[dir] {
		if _, ok := p.conns[c]; !ok {
			return false
		}
		p.wake.Wait()
	}
	_, ok := p.conns[c]
	return ok
}
