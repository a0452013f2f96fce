package wsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
)

// SubprotocolV2 is the subprotocol that lets a server batch several events
// into one frame.
const SubprotocolV2 = "pixel.v2"

// Defaults for Options.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 5 * time.Second
	// DefaultReadTimeout outlasts two of the server's 30 s protocol pings, so
	// a live but quiet server is never mistaken for a dead one.
	DefaultReadTimeout = 75 * time.Second
	// DefaultBuffer is the channel capacity when no Handler is given.
	DefaultBuffer = 1024
)

const (
	// maxFrameBytes bounds what one frame may make us allocate; the biggest
	// legitimate frame is a 64 KiB pixel.v2 batch.
	maxFrameBytes = 1 << 20
	// closeGrace is how long Close waits for the server to answer the close
	// frame before dropping the socket.
	closeGrace = time.Second
)

// ErrClosed is returned by writes on a client that has closed.
var ErrClosed = errors.New("wsclient: connection closed")

// Options configure Dial. The zero value is a v1 client with the defaults
// above.
type Options struct {
	// Username, if not empty, is sent as set_username right after connected.
	Username string
	// V2 asks for subprotocol pixel.v2; batch frames are unpacked, so the
	// caller sees the same messages either way.
	V2 bool
	// Resume adds ?since=Since to the upgrade URL, so the server first
	// replays every event after Since and then sends resumed. Since > 0
	// implies it; Resume is needed only to resume from 0.
	Resume bool
	Since  uint64
	// Epoch, with Resume, is the timeline Since is on (from connected or
	// resumed): the server replays only on that timeline, and answers
	// recovered=false on another. Empty: the server replays only from a
	// seq every timeline agrees on.
	Epoch string
	// HandshakeTimeout bounds the upgrade plus the wait for connected.
	HandshakeTimeout time.Duration
	// WriteTimeout is the deadline of every write.
	WriteTimeout time.Duration
	// ReadTimeout closes a connection on which nothing (not even a protocol
	// ping) arrived for this long; negative disables it.
	ReadTimeout time.Duration
	// Handler, if set, receives every message on the reader goroutine, and
	// Messages returns nil. It must not block for long: while it runs,
	// nothing is read from the socket.
	Handler func(Message)
	// Buffer is the channel capacity without a Handler.
	Buffer int
	// ReadBufferSize and WriteBufferSize are gorilla's I/O buffer sizes;
	// small values keep thousands of idle clients light. Zero means 1024.
	ReadBufferSize, WriteBufferSize int
	// Header is added to the upgrade request (Origin, cookies...).
	Header http.Header
}

// withDefaults fills what o leaves unset.
func (o Options) withDefaults() Options {
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 1024
	}
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = 1024
	}
	return o
}

// writeBuffers is shared by every client, so an idle client holds no write
// buffer; writes borrow one.
var writeBuffers = &sync.Pool{}

// Client is one connection. Its write methods may be called from any
// goroutine.
type Client struct {
	ws           *websocket.Conn
	connected    Connected
	writeTimeout time.Duration
	readTimeout  time.Duration

	handler func(Message)
	msgs    chan Message
	pending []Message // decoded during Dial, delivered first by the reader
	dropped atomic.Uint64

	wmu       sync.Mutex
	closing   atomic.Bool
	closeOnce sync.Once
	done      chan struct{}
	final     Closed // set before done is closed
}

// Dial connects, waits for the server's connected message and starts the
// reader. The first message delivered is that Connected; with Username set,
// set_username has been sent when Dial returns. ctx bounds the dial only:
// the connection lives until Close or a drop.
func Dial(ctx context.Context, rawURL string, o Options) (*Client, error) {
	o = o.withDefaults()
	u, err := upgradeURL(rawURL, o)
	if err != nil {
		return nil, err
	}
	d := websocket.Dialer{
		HandshakeTimeout: o.HandshakeTimeout,
		ReadBufferSize:   o.ReadBufferSize,
		WriteBufferSize:  o.WriteBufferSize,
		WriteBufferPool:  writeBuffers,
	}
	if o.V2 {
		d.Subprotocols = []string{SubprotocolV2}
	}
	ctx, cancel := context.WithTimeout(ctx, o.HandshakeTimeout)
	defer cancel()
	ws, resp, err := d.DialContext(ctx, u, o.Header)
	if resp != nil {
		// The Dialer has read what it needs (nothing after an upgrade, an
		// error page's first KB otherwise); close the body as net/http asks.
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("wsclient: dial %s: %w (HTTP %d)", u, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("wsclient: dial %s: %w", u, err)
	}
	ws.SetReadLimit(maxFrameBytes)
	first, err := readConnected(ctx, ws)
	if err != nil {
		_ = ws.Close()
		return nil, fmt.Errorf("wsclient: %s: %w", u, err)
	}
	c := &Client{
		ws: ws, connected: first[0].(Connected), pending: first,
		writeTimeout: o.WriteTimeout, readTimeout: o.ReadTimeout,
		handler: o.Handler, done: make(chan struct{}),
	}
	if c.handler == nil {
		// One slot more than Buffer so that Closed always fits.
		c.msgs = make(chan Message, o.Buffer+1)
	}
	ws.SetPingHandler(c.answerPing)
	if o.Username != "" {
		if err := c.SetUsername(o.Username); err != nil {
			_ = ws.Close()
			return nil, fmt.Errorf("wsclient: %s: set_username: %w", u, err)
		}
	}
	go c.readLoop()
	return c, nil
}

func upgradeURL(raw string, o Options) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("wsclient: bad URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("wsclient: bad URL %q: scheme must be ws or wss", raw)
	}
	if o.Resume || o.Since > 0 {
		q := u.Query()
		q.Set("since", strconv.FormatUint(o.Since, 10))
		if o.Epoch != "" {
			q.Set("epoch", o.Epoch)
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// readConnected reads the first frame, which must be (or, for pixel.v2,
// begin with) connected. The rest of the frame is returned after it.
func readConnected(ctx context.Context, ws *websocket.Conn) ([]Message, error) {
	deadline, _ := ctx.Deadline()
	_ = ws.SetReadDeadline(deadline)
	// A cancelled context interrupts the read by moving the deadline.
	stop := context.AfterFunc(ctx, func() { _ = ws.SetReadDeadline(time.Now()) })
	_, data, err := ws.ReadMessage()
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for connected: %w", ctx.Err())
		}
		// The read deadline is the context's, which may expire a hair
		// before the context notices.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, fmt.Errorf("waiting for connected: %w (%v)", context.DeadlineExceeded, err)
		}
		return nil, fmt.Errorf("waiting for connected: %w", err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	var msgs []Message
	DecodeFrame(data, func(m Message) { msgs = append(msgs, m) })
	if len(msgs) == 0 {
		return nil, errors.New("empty first frame")
	}
	if _, ok := msgs[0].(Connected); !ok {
		return nil, fmt.Errorf("first message is %q, not connected", msgs[0].Type())
	}
	return msgs, nil
}

// answerPing replaces gorilla's default ping handler so that a ping also
// counts as life for the read deadline.
func (c *Client) answerPing(data string) error {
	if c.readTimeout > 0 {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.readTimeout))
	}
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.writeTimeout))
	var ne net.Error
	if err == websocket.ErrCloseSent || (errors.As(err, &ne) && ne.Timeout()) {
		return nil // as gorilla's default: a lost pong is not a read error
	}
	return err
}

func (c *Client) readLoop() {
	for _, m := range c.pending {
		c.emit(m)
	}
	c.pending = nil
	for {
		if c.readTimeout > 0 {
			_ = c.ws.SetReadDeadline(time.Now().Add(c.readTimeout))
		}
		if err := readFrame(c.ws, c.emit); err != nil {
			c.finish(err)
			return
		}
	}
}

// emit hands a message over. Without a handler it never blocks: a full
// channel drops the message and counts it, keeping the last slot for Closed.
func (c *Client) emit(m Message) {
	if c.handler != nil {
		c.handler(m)
		return
	}
	if len(c.msgs) < cap(c.msgs)-1 {
		c.msgs <- m
		return
	}
	c.dropped.Add(1)
}

func (c *Client) finish(err error) {
	code := websocket.CloseAbnormalClosure
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		code = ce.Code
	case c.closing.Load():
		code = websocket.CloseNormalClosure
	}
	_ = c.ws.Close()
	c.final = Closed{Code: code, Err: err}
	if c.handler != nil {
		c.handler(c.final)
	} else {
		c.msgs <- c.final
		close(c.msgs)
	}
	close(c.done)
}

// ClientID is the id the server gave this connection.
func (c *Client) ClientID() string { return c.connected.ClientID }

// ConnectedSeq is the canvas's seq when the connection was registered: the
// connection receives every event after it.
func (c *Client) ConnectedSeq() uint64 { return c.connected.Seq }

// ConnectedEpoch is the timeline ConnectedSeq is on (Options.Epoch for a
// resume; empty from a server without epochs).
func (c *Client) ConnectedEpoch() string { return c.connected.Epoch }

// Width is the canvas width, or the v1 default when the server did not say.
func (c *Client) Width() int {
	if c.connected.Width <= 0 {
		return domain.DefaultWidth
	}
	return c.connected.Width
}

// Height is the canvas height, or the v1 default when the server did not say.
func (c *Client) Height() int {
	if c.connected.Height <= 0 {
		return domain.DefaultHeight
	}
	return c.connected.Height
}

// Subprotocol is what the server accepted: SubprotocolV2 or "".
func (c *Client) Subprotocol() string { return c.ws.Subprotocol() }

// Messages is the message channel (nil with a Handler). It is closed after
// the Closed message.
func (c *Client) Messages() <-chan Message { return c.msgs }

// Dropped counts messages discarded because the channel was full.
func (c *Client) Dropped() uint64 { return c.dropped.Load() }

// Done is closed when the connection has ended and Closed was delivered.
func (c *Client) Done() <-chan struct{} { return c.done }

// Closed is how the connection ended; valid once Done is closed.
func (c *Client) Closed() Closed {
	<-c.done
	return c.final
}

// PlacePixel sends pixel_update; id, if not empty, comes back on the
// sender's pixel_updated or error.
func (c *Client) PlacePixel(x, y int, color, id string) error {
	return c.write(encodePixel(x, y, color, id))
}

// SetUsername sends set_username.
func (c *Client) SetUsername(name string) error { return c.write(encodeUsername(name)) }

// Cursor reports the pointer at canvas coordinates (x, y).
func (c *Client) Cursor(x, y float64) error { return c.write(encodeCursor(x, y)) }

// CursorLeave reports that the pointer left the canvas.
func (c *Client) CursorLeave() error { return c.write(msgCursorLeave) }

// Ping asks for a pong message (an application ping, not a protocol one).
func (c *Client) Ping() error { return c.write(msgPing) }

// Resume asks for a replay of every event after since on this connection.
func (c *Client) Resume(since uint64) error { return c.write(encodeResume(since, "")) }

// ResumeOn asks for a replay of every event after since on the timeline
// epoch.
func (c *Client) ResumeOn(since uint64, epoch string) error {
	return c.write(encodeResume(since, epoch))
}

// WriteRaw sends any text frame, for tests of what servers do with bad input.
func (c *Client) WriteRaw(frame []byte) error { return c.write(frame) }

func (c *Client) write(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing.Load() {
		return ErrClosed
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// Close starts a normal close: it sends a close frame and returns. The
// socket is dropped once the server answers, or after a grace period. Wait
// on Done to know it ended. Safe to call more than once and from the
// handler.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		select {
		case <-c.done:
			return
		default:
		}
		err = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(c.writeTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			err = nil
		}
		go func() {
			select {
			case <-c.done:
			case <-time.After(closeGrace):
				_ = c.ws.Close()
			}
		}()
	})
	return err
}

// Abort drops the TCP connection without a close frame, as a crashed client
// or a pulled cable would. The client ends with Closed code 1006.
func (c *Client) Abort() { _ = c.ws.NetConn().Close() }
