package ws

// This file is one client connection's socket: its reader and writer
// goroutines, the deadlines that bound them, the heartbeat and closing.
// What each client message does is in handlers.go; the send queue and the
// assembly of writes in writer.go.

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
)

// Connection limits and timing.
const (
	// DefaultPingInterval is the protocol ping period the spec promises.
	DefaultPingInterval = 30 * time.Second
	// writeWait bounds every write, so one stalled peer holds its writer
	// goroutine for at most this long and never anybody else's.
	writeWait = 10 * time.Second
	// writeDeadlineSlack is how stale the write deadline may get before the
	// writer moves it: every write has between writeWait - slack and
	// writeWait.
	writeDeadlineSlack = time.Second
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
	closeOverRate       = websocket.ClosePolicyViolation // 1008, with reasonOverRate
	reasonOverRate      = "message rate exceeded"
	// pongWriteWait bounds the pong the reader writes for a ping, as gorilla's
	// own ping handler does: a peer that pings but does not read is not
	// worth holding the reader for.
	pongWriteWait = time.Second
)

// Conn is one client connection: its socket, its send queue and the
// goroutines that read and write it. Where it stands in the event stream
// is the hub's registry's business (member), not the connection's.
type Conn struct {
	hub          *Hub
	ws           *websocket.Conn
	id           string
	v2           bool
	pingInterval time.Duration

	out *sendQueue // has its own lock
	// pingTimer sends the protocol pings (startPings); pingMu guards it.
	pingMu    sync.Mutex
	pingTimer *time.Timer
	// writeDeadline is the socket's write deadline as the writer last set
	// it (writer goroutine only).
	writeDeadline time.Time
	done          chan struct{}
	closeOnce     sync.Once
	// deadlineMu keeps a deadline from being extended after closeWith has
	// expired it (see setDeadline).
	deadlineMu sync.Mutex

	// clientKey is who the client is for the shared pixel budget (its
	// address, or the one a trusted proxy names; see internal/clientip).
	clientKey string

	// Owned by the reader goroutine (handlers.go): the name this client's
	// writes and cursor carry (the registry keeps its own copy for
	// presence), and its rate limits.
	username      string
	pixelRule     domain.RateRule // the canvas's rate when it joined, else the server's
	pixelBucket   *domain.TokenBucket
	cursorBucket  *domain.TokenBucket
	messageBucket *domain.TokenBucket

	// The store worker's queue (worker.go).
	jobsMu  sync.Mutex
	jobs    []job
	working bool
}

func newConn(h *Hub, ws *websocket.Conn, id, clientKey string, pingInterval time.Duration) *Conn {
	now := h.o.Clock.Now()
	pixel := h.pixelRate()
	c := &Conn{
		hub: h, ws: ws, id: id, clientKey: clientKey, v2: ws.Subprotocol() == subprotocolV2, pingInterval: pingInterval,
		out: newSendQueue(maxQueuedFrames, maxQueuedBytes), done: make(chan struct{}),
		pixelRule:     pixel,
		pixelBucket:   domain.NewTokenBucket(pixel, now),
		cursorBucket:  domain.NewTokenBucket(h.o.CursorRate, now),
		messageBucket: domain.NewTokenBucket(h.o.MessageRate, now),
	}
	c.out.wake = c.startWriter
	return c
}

// send queues a frame for the writer, or disconnects the client as slow if
// its queue is full. It never blocks.
func (c *Conn) send(frame []byte) {
	if c.out.push(frame) == overflowed {
		go c.closeSlow()
	}
}

// sendShared queues a shared flush of canvas events (shared.go), or
// disconnects the client as slow if its queue is full. It never blocks.
func (c *Conn) sendShared(s *sharedFlush) {
	if c.out.pushShared(s) == overflowed {
		go c.closeSlow()
	}
}

// sendDroppable queues a frame that may be skipped when the client is
// already behind (cursor positions: the next one supersedes it).
func (c *Conn) sendDroppable(frame []byte) {
	if c.out.pushDroppable(frame) == overflowed {
		go c.closeSlow()
	}
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
		c.out.close()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeWait))
		close(c.done)
		c.deadlineMu.Lock()
		_ = c.ws.NetConn().SetDeadline(time.Now())
		c.deadlineMu.Unlock()
		c.stopPings()
		_ = c.ws.Close()
	})
}

// closeAndDrain is closeWith for the reader itself, when the peer is still
// sending (a flood): after the close frame it reads and discards what the
// peer sends for up to closeWait before closing the socket. Closed with
// unread data, a socket is reset, and the reset can overtake the close
// frame, leaving the peer with a bare 1006 instead of the reason.
func (c *Conn) closeAndDrain(code int, reason string) {
	c.closeOnce.Do(func() {
		c.out.close()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(closeWait))
		close(c.done)
		c.deadlineMu.Lock()
		_ = c.ws.NetConn().SetWriteDeadline(time.Now())
		_ = c.ws.NetConn().SetReadDeadline(time.Now().Add(closeWait))
		c.deadlineMu.Unlock()
		c.stopPings()
		_, _ = io.Copy(io.Discard, c.ws.NetConn())
		_ = c.ws.Close()
	})
}

// errClosing is returned instead of extending a deadline on a connection
// that is being closed.
var errClosing = errors.New("connection closing")

// setDeadline moves the read or write deadline forward unless the
// connection is closing, whose deadlines must stay expired.
func (c *Conn) setDeadline(read bool, d time.Duration) error {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
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

// startWriter runs a writer for what was just queued: the connection's
// only writer of data frames while it runs (the send queue starts at most
// one), until the queue is empty. An idle connection has none: a parked
// writer goroutine per connection was a third of an idle connection's
// memory.
func (c *Conn) startWriter() {
	go func() {
		defer c.out.writers.Done()
		for {
			entries := c.out.next()
			if entries == nil {
				return
			}
			if err := c.writeFrames(entries); err != nil {
				c.closeWith(websocket.CloseGoingAway, "write failed")
				return // the queue is closed: nobody starts another
			}
		}
	}()
}

// startPings sends the protocol ping every pingInterval from a timer, not
// from a goroutine parked per connection. A ping is a control frame, sent
// in one write that never interleaves with the writer's.
func (c *Conn) startPings() {
	t := time.AfterFunc(time.Hour, c.ping)
	t.Stop()
	c.pingMu.Lock()
	c.pingTimer = t
	c.pingMu.Unlock()
	t.Reset(c.pingInterval)
}

func (c *Conn) ping() {
	c.pingMu.Lock()
	select {
	case <-c.done:
		c.pingMu.Unlock()
		return
	default:
	}
	err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait))
	if err == nil {
		c.pingTimer.Reset(c.pingInterval)
	}
	c.pingMu.Unlock()
	if err != nil {
		c.closeWith(websocket.CloseGoingAway, "ping failed")
	}
}

// stopPings stops the ping timer and waits for a ping being written
// (closeWith, once done is closed and the deadlines expired, so that wait
// is short): no ping is written after it returns.
func (c *Conn) stopPings() {
	c.pingMu.Lock()
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	c.pingMu.Unlock()
}

// writeFrames sends every queued entry in one write(2) (see
// appendFrames): a burst costs the kernel one send instead of one per
// message, which dominated the gateway's CPU under fan-out. A lone shared
// flush, the usual case for a connection keeping up, is written straight
// from the bytes every connection shares, without a copy.
//
// The frames are encoded here rather than through gorilla's message writer,
// which flushes once per message. That is safe because this goroutine is the
// only writer of data frames, and control frames (WriteControl from other
// goroutines) go out in single Write calls, which the kernel socket never
// interleaves with ours.
func (c *Conn) writeFrames(entries []outFrame) error {
	if err := c.renewWriteDeadline(); err != nil {
		return err
	}
	if len(entries) == 1 && entries[0].framed {
		c.hub.o.Metrics.FramesOut.Add(float64(entries[0].wsFrames))
		_, err := c.ws.NetConn().Write(entries[0].msg)
		return err
	}
	bufp := writeBufs.Get().(*[]byte)
	buf, sent := appendFrames((*bufp)[:0], entries, c.v2)
	c.hub.o.Metrics.FramesOut.Add(float64(sent))
	_, err := c.ws.NetConn().Write(buf)
	if cap(buf) <= maxPooledWriteBuf {
		*bufp = buf
		writeBufs.Put(bufp)
	}
	return err
}

// renewWriteDeadline keeps the socket's write deadline at least
// writeWait - writeDeadlineSlack ahead. Moving it costs a lock and a
// runtime timer update, once a second at most instead of once per write.
// Writer goroutine only.
func (c *Conn) renewWriteDeadline() error {
	now := time.Now()
	if c.writeDeadline.Sub(now) > writeWait-writeDeadlineSlack {
		return nil
	}
	if err := c.setDeadline(false, writeWait); err != nil {
		return err
	}
	c.writeDeadline = now.Add(writeWait)
	return nil
}

// errOverRate ends the reader of a connection over its message budget.
var errOverRate = errors.New(reasonOverRate)

// allowFrame takes one token of the connection's message budget for a frame
// read at now (every data frame, whatever its type, and every ping and
// pong). Over the budget it closes the connection with 1008 and reports
// false. Reader goroutine only.
func (c *Conn) allowFrame(now time.Time) bool {
	if c.messageBucket.Allow(now) {
		return true
	}
	c.hub.o.Metrics.RateLimited.WithLabelValues("message").Inc()
	c.hub.overRateLog.Log(c.hub.log, slog.LevelInfo, "closing client over its message rate", "client", c.id)
	c.closeAndDrain(closeOverRate, reasonOverRate)
	return false
}

// readLoop runs in the upgrade handler's goroutine until the peer goes away
// or is closed; then it unregisters the connection. It never waits for the
// store (handlers hand store calls to the worker), so every message is
// judged by the time it arrived.
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
	c.ws.SetPongHandler(func(string) error {
		if !c.allowFrame(c.hub.o.Clock.Now()) {
			return errOverRate
		}
		return c.setDeadline(true, pongWait)
	})
	c.ws.SetPingHandler(func(data string) error {
		if !c.allowFrame(c.hub.o.Clock.Now()) {
			return errOverRate
		}
		// As gorilla's default handler: a pong that cannot be written
		// now is not worth ending the connection for.
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(pongWriteWait))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
	})
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		now := c.hub.o.Clock.Now()
		if !c.allowFrame(now) || c.setDeadline(true, pongWait) != nil {
			return
		}
		c.handle(data, now)
	}
}
