package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
)

// baseline is the least a broadcast server can do: no store, no Redis, no
// validation, no rate limit. Each reader hands pixel_update frames to one
// broadcaster goroutine, which stamps seq and timestamp (so the bench's
// completeness and latency logic works unchanged) and appends the frame to
// every connection's queue; one writer goroutine per connection drains its
// queue. Results against it say what this machine, this client and the
// loopback network can do at all, so a real server's numbers can be quoted
// as a fraction of it.
//
// It is meant to be fast, not fake-fast: it does the per-connection work any
// real fan-out must do (one frame per event per client for v1, batches for
// pixel.v2), with the same bounded queue and slow-client eviction as our
// gateway. Batched (the default), a writer sends everything queued for its
// connection in one write(2), as the gateway does, so the baseline stays a
// ceiling for it; per frame, it makes one write per frame.
type baseline struct {
	size     domain.Size
	batched  bool
	ln       net.Listener
	srv      *http.Server
	upgrader websocket.Upgrader

	inbound    chan []byte
	register   chan *baseConn
	unregister chan *baseConn
	quit       chan struct{}
	wg         sync.WaitGroup

	mu    sync.Mutex
	conns map[*baseConn]struct{} // every upgraded socket, for Close
}

// baseConn is one baseline connection. Its queue is a slice rather than a
// buffered channel so that 5000 idle connections cost nothing until they
// have something to send.
type baseConn struct {
	ws     *websocket.Conn
	v2     bool
	mu     sync.Mutex
	queue  [][]byte
	kicked bool
	notify chan struct{}
	gone   chan struct{} // closed when the reader ends
}

const (
	baselineMaxQueue = 4096 // as the gateway: a client this far behind is evicted
	baselineMaxBatch = 64 << 10
	baselineMaxFrame = 4096
	baselineWait     = 10 * time.Second
)

var (
	pixelUpdatePrefix  = []byte(`{"type":"pixel_update",`)
	pixelUpdatedPrefix = []byte(`{"type":"pixel_updated",`)
)

// startBaseline listens on addr (127.0.0.1:0 for any port) and serves the
// WebSocket on every path.
func startBaseline(addr string, size domain.Size, batched bool) (*baseline, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	b := &baseline{
		size: size, ln: ln, batched: batched,
		upgrader: websocket.Upgrader{
			ReadBufferSize: 1024, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{},
			Subprotocols: []string{"pixel.v2"},
			CheckOrigin:  func(*http.Request) bool { return true },
		},
		inbound:    make(chan []byte, 4096),
		register:   make(chan *baseConn),
		unregister: make(chan *baseConn),
		quit:       make(chan struct{}),
		conns:      map[*baseConn]struct{}{},
	}
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ReadHeaderTimeout: 10 * time.Second}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		_ = b.srv.Serve(ln)
	}()
	go func() {
		defer b.wg.Done()
		b.broadcast()
	}()
	return b, nil
}

// URL is the WebSocket URL to point clients at.
func (b *baseline) URL() string { return "ws://" + b.ln.Addr().String() + "/ws" }

// Close stops the server and every connection, and waits for all of its
// goroutines.
func (b *baseline) Close() {
	close(b.quit)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	b.mu.Lock()
	for c := range b.conns {
		_ = c.ws.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *baseline) serve(w http.ResponseWriter, r *http.Request) {
	ws, err := b.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered the HTTP error
	}
	c := &baseConn{ws: ws, v2: ws.Subprotocol() == "pixel.v2", notify: make(chan struct{}, 1), gone: make(chan struct{})}
	b.mu.Lock()
	select {
	case <-b.quit:
		b.mu.Unlock()
		_ = ws.Close()
		return
	default:
	}
	b.conns[c] = struct{}{}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()

	select {
	case b.register <- c:
	case <-b.quit:
		_ = ws.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.writeLoop(c)
	}()
	b.readLoop(c)
	close(c.gone)
	select {
	case b.unregister <- c:
	case <-b.quit:
	}
	_ = ws.Close()
	<-done
	b.mu.Lock()
	delete(b.conns, c)
	b.mu.Unlock()
}

// readLoop forwards pixel_update frames, already rewritten as the start of
// a pixel_updated, to the broadcaster; everything else is ignored.
func (b *baseline) readLoop(c *baseConn) {
	c.ws.SetReadLimit(baselineMaxFrame)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if !bytes.HasPrefix(data, pixelUpdatePrefix) || len(data) < len(pixelUpdatePrefix)+2 || data[len(data)-1] != '}' {
			continue
		}
		body := make([]byte, 0, len(data)+64)
		body = append(body, pixelUpdatedPrefix...)
		body = append(body, data[len(pixelUpdatePrefix):len(data)-1]...) // the fields, without the closing brace
		select {
		case b.inbound <- body:
		case <-b.quit:
			return
		}
	}
}

// broadcast is the single sequencer: it owns the connection set, so it
// needs no lock for it.
func (b *baseline) broadcast() {
	conns := map[*baseConn]struct{}{}
	var seq uint64
	var ts domain.Timestamp
	clientN := 0
	for {
		select {
		case <-b.quit:
			return
		case c := <-b.register:
			clientN++
			c.enqueue(b.connected(clientN, seq))
			conns[c] = struct{}{}
		case c := <-b.unregister:
			delete(conns, c)
		case body := <-b.inbound:
			seq++
			ts = domain.NextTimestamp(ts, domain.TimestampOf(time.Now()))
			frame := append(body, `,"seq":`...)
			frame = strconv.AppendUint(frame, seq, 10)
			frame = append(frame, `,"timestamp":`...)
			frame = httpx.AppendMillis(frame, ts) // the servers' own encoding, so clients parse the same bytes
			frame = append(frame, '}')
			for c := range conns {
				if !c.enqueue(frame) {
					delete(conns, c)
				}
			}
		}
	}
}

func (b *baseline) connected(n int, seq uint64) []byte {
	f := []byte(`{"type":"connected","message":"Connected to the pixelbench baseline","clientId":"b_`)
	f = strconv.AppendInt(f, int64(n), 10)
	f = append(f, `","seq":`...)
	f = strconv.AppendUint(f, seq, 10)
	f = append(f, `,"width":`...)
	f = strconv.AppendInt(f, int64(b.size.Width), 10)
	f = append(f, `,"height":`...)
	f = strconv.AppendInt(f, int64(b.size.Height), 10)
	return append(f, '}')
}

// enqueue queues a frame without blocking; a connection whose queue is full
// is evicted (false).
func (c *baseConn) enqueue(frame []byte) bool {
	c.mu.Lock()
	if c.kicked {
		c.mu.Unlock()
		return false
	}
	if len(c.queue) >= baselineMaxQueue {
		c.kicked = true
		c.mu.Unlock()
		go func() { // off the broadcaster: the close frame may take a while to a slow peer
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "slow consumer"), time.Now().Add(time.Second))
			_ = c.ws.Close()
		}()
		return false
	}
	c.queue = append(c.queue, frame)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return true
}

func (b *baseline) writeLoop(c *baseConn) {
	for {
		select {
		case <-c.gone:
			return
		case <-b.quit:
			return
		case <-c.notify:
		}
		c.mu.Lock()
		frames := c.queue
		c.queue = nil
		c.mu.Unlock()
		write := c.write
		if b.batched {
			write = c.writeBatched
		}
		if err := write(frames); err != nil {
			_ = c.ws.Close()
			return
		}
	}
}

// nextBatch is how many of frames go in the next data frame, and their
// size joined with commas: one for v1, as many as fit a batch for v2.
func (c *baseConn) nextBatch(frames [][]byte) (n, size int) {
	n, size = 1, len(frames[0])
	if c.v2 {
		for n < len(frames) && size+len(frames[n])+1 < baselineMaxBatch {
			size += len(frames[n]) + 1
			n++
		}
	}
	return n, size
}

func (c *baseConn) write(frames [][]byte) error {
	for len(frames) > 0 {
		n, size := c.nextBatch(frames)
		frame := frames[0]
		if n > 1 {
			frame = make([]byte, 0, size+32)
			frame = append(frame, `{"type":"batch","events":[`...)
			frame = append(frame, bytes.Join(frames[:n], []byte{','})...)
			frame = append(frame, "]}"...)
		}
		if err := c.ws.SetWriteDeadline(time.Now().Add(baselineWait)); err != nil {
			return err
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			return err
		}
		frames = frames[n:]
	}
	return nil
}

// writeBatched sends every queued frame in one write(2): v1 frames each as
// its own WebSocket frame, v2 frames in batches, appended to one buffer
// and written to the socket directly (this goroutine is the connection's
// only writer of data frames; gorilla's control frames go out in single
// writes, which the kernel never interleaves with this one).
func (c *baseConn) writeBatched(frames [][]byte) error {
	buf := make([]byte, 0, 4096)
	for len(frames) > 0 {
		n, size := c.nextBatch(frames)
		if n == 1 {
			buf = appendTextFrameHeader(buf, len(frames[0]))
			buf = append(buf, frames[0]...)
		} else {
			buf = appendTextFrameHeader(buf, len(batchOpen)+size+len(batchClose))
			buf = append(buf, batchOpen...)
			for i, f := range frames[:n] {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, f...)
			}
			buf = append(buf, batchClose...)
		}
		frames = frames[n:]
	}
	if err := c.ws.NetConn().SetWriteDeadline(time.Now().Add(baselineWait)); err != nil {
		return err
	}
	_, err := c.ws.NetConn().Write(buf)
	return err
}

const batchOpen, batchClose = `{"type":"batch","events":[`, "]}"

// appendTextFrameHeader appends the header of one final, unmasked text
// frame of n bytes (RFC 6455 §5.2).
func appendTextFrameHeader(b []byte, n int) []byte {
	const finText = 0x80 | websocket.TextMessage
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xFFFF:
		return append(b, finText, 126, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, finText, 127), uint64(n))
	}
}
