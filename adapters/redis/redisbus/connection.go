package redisbus

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/ports"
)

// Timing of the connection. A dead connection usually fails at once (the
// peer resets it); one that silently stopped answering (a black-holed
// network, a paused Redis) is noticed within two idle periods, by an
// unanswered PING. The same holds while SUBSCRIBE waits for its
// confirmation.
const (
	minBackoff        = 100 * time.Millisecond
	maxBackoff        = 2 * time.Second
	defaultIdlePeriod = 5 * time.Second
)

// session keeps the bus connected from its first subscription to its last:
// one goroutine (keep) connects, reads and reconnects until stop.
type session struct{ done chan struct{} }

func newSession() *session { return &session{done: make(chan struct{})} }

func (s *session) stop() { close(s.done) }

func (s *session) stopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// sleep waits d and reports whether the session is still live.
func (s *session) sleep(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-s.done:
		return false
	case <-timer.C:
		return true
	}
}

// conn is one Pub/Sub connection. go-redis's PubSub silently reconnects
// (and resubscribes) when a command or a read fails, which would hide a
// gap; so any failure closes it for good, and keep opens another and says
// so to the subscribers.
type conn struct {
	pubsub *redis.PubSub
	once   sync.Once
}

func (c *conn) close() { c.once.Do(func() { _ = c.pubsub.Close() }) }

// command takes a SUBSCRIBE or UNSUBSCRIBE's result: after a failure the
// channel's state on the connection is unknown, so the connection goes (a
// closed connection makes the reader return).
func (c *conn) command(err error) {
	if err != nil {
		c.close()
	}
}

// keep connects, reads until the connection fails, and reconnects, until
// the session stops. Go-redis's PubSub allows commands on the connection
// while a read waits, so subscriptions come and go during the read.
func (b *Bus) keep(sess *session) {
	failures := 0
	for {
		began := time.Now()
		c, err := b.open(sess)
		if err == nil {
			b.read(c)
		}
		if c != nil {
			b.detach(c)
		}
		if sess.stopped() {
			return
		}
		// Failing to connect, or a connection that dies soon after
		// subscribing (Redis dropping a subscriber that reads too slowly,
		// say), must not turn into a tight loop; one that lived a while
		// reconnects at once.
		if time.Since(began) < maxBackoff {
			failures++
		} else {
			failures = 0
		}
		if failures > 0 && !sess.sleep(backoff(failures)) {
			return
		}
	}
}

var errStopped = errors.New("redisbus: no subscription left")

// open connects and SUBSCRIBEs every wanted channel; the reader then sees
// the confirmations. It returns a nil conn if connecting failed or the
// session stopped meanwhile.
func (b *Bus) open(sess *session) (*conn, error) {
	c := &conn{pubsub: b.client.Subscribe(context.Background())}
	// Dial before taking ctl: dialing a black-holed Redis takes the dial
	// timeout, which new subscriptions and cancellations need not wait out.
	// The PONG is read (and ignored) by the reader.
	if err := c.pubsub.Ping(context.Background()); err != nil {
		c.close()
		return nil, err
	}
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	if sess.stopped() {
		b.mu.Unlock()
		c.close()
		return nil, errStopped
	}
	b.conn = c
	names := make([]string, 0, len(b.channels))
	for name, ch := range b.channels { // detach left only wanted channels
		ch.subscribed, ch.inFlight = true, 1
		names = append(names, name)
	}
	b.mu.Unlock()
	if len(names) == 0 { // cannot happen while a subscription lives
		return c, nil
	}
	return c, c.pubsub.Subscribe(context.Background(), names...)
}

// detach closes c and, if it is still the bus's connection, forgets every
// channel's state on it: the next connection subscribes afresh.
func (b *Bus) detach(c *conn) {
	c.close()
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.conn != c {
		return
	}
	b.conn = nil
	for name, ch := range b.channels {
		if len(ch.subs) == 0 {
			delete(b.channels, name)
			continue
		}
		ch.subscribed, ch.inFlight = false, 0
	}
}

// read routes c's messages and confirmations until c fails or is closed.
// An idle connection is probed with PING; two silent periods in a row mean
// it is dead even if the socket has not said so.
func (b *Bus) read(c *conn) {
	ctx := context.Background()
	probing := false
	for {
		msg, err := c.pubsub.ReceiveTimeout(ctx, b.idlePeriod)
		if err != nil {
			if !isTimeout(err) || probing {
				return
			}
			if c.pubsub.Ping(ctx) != nil {
				return
			}
			probing = true
			continue
		}
		probing = false
		switch m := msg.(type) {
		case *redis.Message:
			b.route(c, m)
		case *redis.Subscription:
			b.replied(c, m)
		}
	}
}

// route queues m for every subscription of its channel; it never waits for
// a handler.
func (b *Bus) route(c *conn, m *redis.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.channels[m.Channel]
	if b.conn != c || ch == nil {
		return
	}
	for s := range ch.subs {
		// Each handler gets its own copy: none can change what another sees.
		s.push(ports.Message{Channel: m.Channel, Payload: []byte(m.Payload)})
	}
}

// replied takes Redis's answer to a SUBSCRIBE or UNSUBSCRIBE of one
// channel, and lets through the subscriptions it completes.
func (b *Bus) replied(c *conn, m *redis.Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.channels[m.Channel]
	if b.conn != c || ch == nil {
		return
	}
	if ch.inFlight > 0 {
		ch.inFlight--
	}
	if len(ch.subs) == 0 {
		if ch.inFlight == 0 {
			delete(b.channels, m.Channel)
		}
		return
	}
	if ch.confirmed() {
		for s := range ch.subs {
			b.checkConfirmed(s)
		}
	}
}

// backoff is the wait after the nth failure in a row: 100 ms doubling up to
// 2 s.
func backoff(failures int) time.Duration {
	d := minBackoff
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
