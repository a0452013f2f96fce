package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/place"
)

// Connection limits and timing.
const (
	// DefaultPingInterval is the protocol ping period the spec promises.
	DefaultPingInterval = 30 * time.Second
	// writeWait bounds every write, so one stalled peer holds its writer
	// goroutine for at most this long and never anybody else's.
	writeWait = 10 * time.Second
	// closeWait bounds the close frame we send on the way out; a writer
	// stuck on a dead peer holds the write lock, and we do not wait for it.
	closeWait = 250 * time.Millisecond
	// maxMessageBytes is the read limit. A pixel_update is under 200 bytes
	// and a pasted essay of a username still fits; anything over this closes
	// the connection with 1009 (message too big).
	maxMessageBytes = 16 << 10
	// maxQueuedFrames and maxQueuedBytes bound one connection's send queue.
	// A client that stops reading fills it within seconds under load and is
	// disconnected as slow instead of making the hub wait or grow without
	// bound.
	maxQueuedFrames = 4096
	maxQueuedBytes  = 4 << 20
	// maxReplay is the most events a resume or a gap repair replays. It is
	// half the send queue, so a replay never trips the slow-client check
	// by itself; beyond it the client reloads its snapshot instead.
	maxReplay = maxQueuedFrames / 2
	// maxBatchBytes caps one pixel.v2 batch frame.
	maxBatchBytes = 64 << 10
	// maxBacklog bounds what a resuming connection accumulates while its
	// history is read.
	maxBacklog = maxQueuedFrames
)

// Close codes we send.
const (
	closeServiceRestart = websocket.CloseServiceRestart // 1012: reconnect elsewhere now
	closeSlowConsumer   = websocket.ClosePolicyViolation
)

// queued is a frame waiting in a backlog, with the seq of the event it
// carries (0 for anything that is not a canvas event).
type queued struct {
	frame []byte
	seq   domain.Seq
}

// Conn is one client connection.
type Conn struct {
	hub          *Hub
	ws           *websocket.Conn
	id           string
	v2           bool
	pingInterval time.Duration

	// Guarded by hub.mu.
	username   string
	catchingUp bool
	backlog    []queued
	lastSeq    domain.Seq

	qmu        sync.Mutex
	queue      [][]byte
	queueBytes int
	closed     bool
	notify     chan struct{}
	done       chan struct{}
	closeOnce  sync.Once

	// Owned by the reader goroutine.
	pixelBucket  *domain.TokenBucket
	cursorBucket *domain.TokenBucket
}

func newConn(h *Hub, ws *websocket.Conn, id string, pingInterval time.Duration) *Conn {
	now := h.o.Clock.Now()
	return &Conn{
		hub: h, ws: ws, id: id, v2: ws.Subprotocol() == subprotocolV2, pingInterval: pingInterval,
		notify: make(chan struct{}, 1), done: make(chan struct{}),
		pixelBucket:  domain.NewTokenBucket(h.o.PixelRate, now),
		cursorBucket: domain.NewTokenBucket(h.o.CursorRate, now),
	}
}

// deliver queues a frame for this connection (callers hold hub.mu). Events
// at or below the connection's seq are duplicates and dropped; while the
// connection catches up from history, frames wait in its backlog.
func (c *Conn) deliver(frame []byte, seq domain.Seq) {
	if c.catchingUp {
		if len(c.backlog) >= maxBacklog {
			go c.closeSlow()
			return
		}
		c.backlog = append(c.backlog, queued{frame: frame, seq: seq})
		return
	}
	if seq > 0 {
		if seq <= c.lastSeq {
			return
		}
		c.lastSeq = seq
	}
	c.enqueue(frame)
}

// enqueue adds a frame to the send queue, or disconnects the client as slow
// if the queue is full. It never blocks.
func (c *Conn) enqueue(frame []byte) {
	c.qmu.Lock()
	if c.closed {
		c.qmu.Unlock()
		return
	}
	if len(c.queue) >= maxQueuedFrames || c.queueBytes+len(frame) > maxQueuedBytes {
		c.closed = true // nothing more is queued; one goroutine closes it
		c.queue, c.queueBytes = nil, 0
		c.qmu.Unlock()
		go c.closeSlow()
		return
	}
	c.queue = append(c.queue, frame)
	c.queueBytes += len(frame)
	c.qmu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// offer queues a frame that may be skipped (cursor positions: the next one
// supersedes it) when the client is already behind.
func (c *Conn) offer(frame []byte) {
	c.qmu.Lock()
	behind := len(c.queue) > maxQueuedFrames/4
	c.qmu.Unlock()
	if !behind {
		c.enqueue(frame)
	}
}

func (c *Conn) takeQueue() [][]byte {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.queue
	c.queue, c.queueBytes = nil, 0
	return q
}

func (c *Conn) closeSlow() {
	c.hub.o.Metrics.SlowClients.Inc()
	c.hub.log.Info("closing slow client", "client", c.id)
	c.closeWith(closeSlowConsumer, "slow consumer")
}

// closeWith sends a close frame (best effort, bounded) and ends both the
// reader and the writer. Closing the websocket.Conn is not enough: inside
// fasthttp a hijacked connection is only really closed when the upgrade
// handler returns, so we expire its deadlines, which fails any read or
// write in progress at once, and keep them expired (see setDeadline).
func (c *Conn) closeWith(code int, reason string) {
	c.closeOnce.Do(func() {
		c.qmu.Lock()
		c.closed = true
		c.qmu.Unlock()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeWait))
		close(c.done)
		c.qmu.Lock()
		_ = c.ws.NetConn().SetDeadline(time.Now())
		c.qmu.Unlock()
		_ = c.ws.Close()
	})
}

// errClosing is returned instead of extending a deadline on a connection
// that is being closed.
var errClosing = errors.New("connection closing")

// setDeadline moves the read or write deadline forward unless the
// connection is closing, whose deadlines must stay expired.
func (c *Conn) setDeadline(read bool, d time.Duration) error {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	select {
	case <-c.done:
		return errClosing
	default:
	}
	if read {
		return c.ws.SetReadDeadline(time.Now().Add(d))
	}
	// On the socket itself: our data frames bypass gorilla's writer, whose
	// SetWriteDeadline only applies to its own writes.
	return c.ws.NetConn().SetWriteDeadline(time.Now().Add(d))
}

// writeLoop is the connection's only writer of data frames; it also sends
// the protocol pings.
func (c *Conn) writeLoop() {
	ping := time.NewTicker(c.pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-c.notify:
			if err := c.writeFrames(c.takeQueue()); err != nil {
				c.closeWith(websocket.CloseGoingAway, "write failed")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				c.closeWith(websocket.CloseGoingAway, "ping failed")
				return
			}
		}
	}
}

// writeFrames sends every queued message in one write(2): each is still its
// own WebSocket text frame, so v1 clients see exactly what one-message writes
// would give them, but a burst costs the kernel one send instead of one per
// message (which dominated the gateway's CPU under fan-out). v2 clients get
// the queued messages grouped into batch frames.
//
// The frames are encoded here rather than through gorilla's message writer,
// which flushes once per message. That is safe because this goroutine is the
// only writer of data frames, and control frames (WriteControl from other
// goroutines) go out in single Write calls, which the kernel socket never
// interleaves with ours.
func (c *Conn) writeFrames(frames [][]byte) error {
	bufp := writeBufs.Get().(*[]byte)
	buf, sent := (*bufp)[:0], 0
	if c.v2 && len(frames) > 1 {
		for len(frames) > 0 {
			n, size := 0, 0
			for n < len(frames) && (n == 0 || size+len(frames[n]) < maxBatchBytes) {
				size += len(frames[n]) + 1
				n++
			}
			msg := frames[0]
			if n > 1 {
				msg = encodeBatch(frames[:n])
			}
			buf = appendTextFrame(buf, msg)
			frames = frames[n:]
			sent++
		}
	} else {
		for _, f := range frames {
			buf = appendTextFrame(buf, f)
		}
		sent = len(frames)
	}
	err := c.setDeadline(false, writeWait)
	if err == nil {
		c.hub.o.Metrics.FramesOut.Add(float64(sent))
		_, err = c.ws.NetConn().Write(buf)
	}
	if cap(buf) <= maxPooledWriteBuf {
		*bufp = buf
		writeBufs.Put(bufp)
	}
	return err
}

// writeBufs lends write buffers to connections while they write, so an idle
// connection holds none.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledWriteBuf keeps one huge burst from pinning a huge buffer.
const maxPooledWriteBuf = 256 << 10

// appendTextFrame appends one final, unmasked text frame (RFC 6455 §5.2).
func appendTextFrame(b, payload []byte) []byte {
	const finText = 0x80 | websocket.TextMessage
	switch n := len(payload); {
	case n < 126:
		b = append(b, finText, byte(n))
	case n <= 0xFFFF:
		b = append(b, finText, 126, byte(n>>8), byte(n))
	default:
		b = append(b, finText, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// readLoop runs in the upgrade handler's goroutine until the peer goes away
// or is closed; then it unregisters the connection.
func (c *Conn) readLoop() {
	defer func() {
		c.hub.unregister(c)
		c.closeWith(websocket.CloseNormalClosure, "")
	}()
	// A peer that answers neither this ping nor the next is gone; the
	// deadline sits between the two.
	pongWait := c.pingInterval * 3 / 2
	c.ws.SetReadLimit(maxMessageBytes)
	if c.setDeadline(true, pongWait) != nil {
		return
	}
	c.ws.SetPongHandler(func(string) error { return c.setDeadline(true, pongWait) })
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if c.setDeadline(true, pongWait) != nil {
			return
		}
		c.handle(data)
	}
}

// knownTypes bounds the metric label's values.
var knownTypes = map[string]bool{"pixel_update": true, "set_username": true, "ping": true, "cursor": true, "resume": true}

func (c *Conn) handle(data []byte) {
	m, err := decodeInbound(data)
	if err != nil {
		c.hub.o.Metrics.MessagesIn.WithLabelValues("invalid").Inc()
		c.enqueue(encodeError(codeBadJSON, msgBadJSON, ""))
		return
	}
	label := m.Type
	if !knownTypes[label] {
		label = "other"
	}
	c.hub.o.Metrics.MessagesIn.WithLabelValues(label).Inc()
	switch m.Type {
	case "pixel_update":
		c.handlePixel(m)
	case "set_username":
		if name, _, err := place.String(m.Username); err == nil {
			c.hub.setUsername(c, domain.NormalizeUsername(name))
		}
	case "ping":
		c.enqueue(encodePong(c.hub.o.Clock.Now().UnixMilli()))
	case "cursor":
		c.handleCursor(m)
	case "resume":
		f, err := place.Number(m.Since)
		switch {
		case err != nil || f < 0 || f != float64(uint64(f)):
			c.enqueue(encodeError(codeBadJSON, msgBadJSON, ""))
		case !c.pixelBucket.Allow(c.hub.o.Clock.Now()):
			// Each resume reads history from the store: a client looping on
			// it must not turn into a load on Redis.
			c.hub.o.Metrics.RateLimited.WithLabelValues("resume").Inc()
			c.enqueue(encodeError(codeRateLimited, msgRateLimited, ""))
		default:
			c.hub.resumeLive(c, uint64(f))
		}
	}
}

func (c *Conn) reject(code, message, id string) {
	c.hub.o.Metrics.PixelsRejected.WithLabelValues(code).Inc()
	c.enqueue(encodeError(code, message, id))
}

func (c *Conn) handlePixel(m inbound) {
	p, id, problem := place.Parse(m.pixelFields(), c.hub.size)
	switch problem {
	case place.OK:
	case place.BadIDType:
		c.reject(codeBadID, msgBadIDType, "")
		return
	case place.IDTooLong:
		c.reject(codeBadID, msgBadID, "")
		return
	default:
		c.reject(codeBadPixel, msgBadPixel, id)
		return
	}
	if !c.pixelBucket.Allow(c.hub.o.Clock.Now()) {
		c.hub.o.Metrics.RateLimited.WithLabelValues("pixel").Inc()
		c.reject(codeRateLimited, msgRateLimited, id)
		return
	}
	_, err := c.hub.placer.Place(context.Background(), place.SourceWS, []domain.Write{{Pixel: p, Username: c.username,
		Origin: domain.Origin{GatewayID: c.hub.o.GatewayID, ClientID: c.id, WriteID: id}}})
	if err != nil {
		// The shared path has counted and logged it; every failure is one
		// the client may retry, as far as it can tell.
		c.enqueue(encodeError(codeUnavailable, msgUnavailable, id))
	}
}

func (c *Conn) handleCursor(m inbound) {
	if len(m.X) == 0 || string(m.X) == "null" {
		c.hub.cursorLeave(c.id)
		return
	}
	x, errX := place.Number(m.X)
	y, errY := place.Number(m.Y)
	if errX != nil || errY != nil || c.hub.size.CheckCursor(x, y) != nil {
		return // a bad cursor is not worth an error frame per pointer move
	}
	if !c.cursorBucket.Allow(c.hub.o.Clock.Now()) {
		c.hub.o.Metrics.RateLimited.WithLabelValues("cursor").Inc()
		return
	}
	c.hub.cursorMove(domain.Cursor{ClientID: c.id, Username: c.username, X: x, Y: y})
}
