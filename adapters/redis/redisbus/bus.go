// Package redisbus is the Pub/Sub bus between processes, on Redis.
//
// One Bus multiplexes all its subscriptions over ONE Pub/Sub connection: a
// gateway has a subscription per canvas it serves, and a connection each
// would cost Redis hundreds of clients per gateway (maxclients is 10,000 by
// default). A channel is SUBSCRIBEd when its first subscription arrives and
// UNSUBSCRIBEd when its last one ends; two subscriptions to one channel
// each get every message. On a cluster, classic Pub/Sub is broadcast to
// every node, so the connection may go to any node.
//
// The connection is opened with the first subscription and closed with the
// last: an idle Bus holds nothing, so it needs no Close. (A gateway's main
// canvas hub lives as long as the process, so there the connection does
// too.) Keeping an idle connection would save a dial when a hub comes back,
// but would need a Close that the apps would have to order against the
// client's; as it is, the gateway's stop hook drains its hubs, which ends
// every subscription, and no goroutine of the bus is left.
//
// The connection is read in a loop of its own rather than through
// go-redis's Channel(), because Channel() hides reconnections, and a
// subscriber must know when it may have missed messages so it can repair
// from history. After any failure the loop reconnects forever, with capped
// exponential backoff, SUBSCRIBEs every wanted channel again and, once
// Redis has confirmed a subscription's channels, calls its resubscribed.
//
// The reader never waits for a handler: each subscription has its own
// queue of at most QueueLimit messages, drained by its own goroutine, so a
// slow handler delays nobody else. When a queue is full, further messages
// for that subscription are dropped until it catches up, and then its
// resubscribed is called, as after an outage: it may have missed messages.
package redisbus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/internal/busqueue"
	"github.com/pixelplayground/pixelplayground/ports"
)

// QueueLimit and QueueBytesLimit bound the messages waiting for one
// subscription's handler (see busqueue).
const (
	QueueLimit      = busqueue.Limit
	QueueBytesLimit = busqueue.BytesLimit
)

// Bus implements ports.Bus.
type Bus struct {
	client redis.UniversalClient
	// idlePeriod is how long the connection waits for traffic before it
	// probes with PING; queueLimit and queueBytesLimit are QueueLimit and
	// QueueBytesLimit. Fields, not constants, so a test can shorten them.
	idlePeriod      time.Duration
	queueLimit      int
	queueBytesLimit int

	// ctl serialises SUBSCRIBE and UNSUBSCRIBE commands with the decisions
	// behind them, so that Redis receives a channel's commands in the order
	// the bookkeeping assumes. It is held while a command is written; mu is
	// not, because the reader needs mu for every message. Order: ctl, then mu.
	ctl sync.Mutex
	mu  sync.Mutex
	// Guarded by mu (and changed only with ctl held too):
	channels map[string]*channel // wanted channels, and those with replies still due
	live     int                 // subscriptions registered
	sess     *session            // the connection's keeper; nil while live == 0
	conn     *conn               // the current connection; nil while (re)connecting
}

var _ ports.Bus = (*Bus)(nil)

// channel is one channel's subscribers and its state on the current
// connection.
type channel struct {
	subs map[*subscription]struct{}
	// subscribed says that the last command sent for the channel on the
	// current connection was SUBSCRIBE; inFlight counts its SUBSCRIBE and
	// UNSUBSCRIBE commands whose reply has not arrived. Commands alternate
	// and Redis answers in order, so the channel is confirmed, every later
	// publication reaches the connection, once both hold and nothing is in
	// flight.
	subscribed bool
	inFlight   int
}

func (c *channel) confirmed() bool { return c.subscribed && c.inFlight == 0 }

// New returns a bus on client. Build the client with redisconn so that
// publishing fails fast when Redis is down.
func New(client redis.UniversalClient) *Bus {
	return &Bus{client: client, idlePeriod: defaultIdlePeriod, queueLimit: QueueLimit, queueBytesLimit: QueueBytesLimit,
		channels: map[string]*channel{}}
}

// Publish sends payload to the channel's current subscribers.
func (b *Bus) Publish(ctx context.Context, channel string, payload []byte) error {
	cmd := redis.NewIntCmd(ctx, "publish", channel, payload)
	// go-redis's cluster client takes PUBLISH for a keyless command and
	// sends each one to the next master in turn; messages that entered the
	// cluster through different nodes can overtake each other on their way
	// to a subscriber, breaking a publisher's order. Routed by the channel's
	// slot, one channel's messages all go through the same node. A client of
	// a single Redis ignores the key position.
	cmd.SetFirstKeyPos(1)
	_ = b.client.Process(ctx, cmd)
	return redisconn.WrapUnavailable("redisbus: publish", cmd.Err())
}

// Subscribe delivers the channels' messages to handle until ctx ends; see
// ports.Bus. It returns once Redis has confirmed every channel on the
// bus's connection, or with ctx's error if ctx ends first (waiting
// meanwhile while Redis is down).
func (b *Bus) Subscribe(ctx context.Context, channels []string, handle func(ports.Message), resubscribed func()) error {
	if len(channels) == 0 {
		return errors.New("redisbus: subscribe needs at least one channel")
	}
	if handle == nil {
		return errors.New("redisbus: subscribe needs a handler")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisbus: subscribe: %w", err)
	}
	s := newSubscription(slices.Compact(slices.Sorted(slices.Values(channels))), handle, resubscribed, b.queueLimit, b.queueBytesLimit)
	b.add(s)
	select {
	case <-s.ready:
	case <-ctx.Done():
		b.remove(s)
		return fmt.Errorf("redisbus: subscribe: %w", ctx.Err())
	}
	go func() {
		defer b.remove(s)
		s.deliver(ctx)
	}()
	return nil
}

// add registers s and SUBSCRIBEs the channels nobody wanted yet; s.ready
// closes once Redis has confirmed all of s's channels. With no connection
// (the first subscription, or Redis down), the next connection subscribes
// them.
func (b *Bus) add(s *subscription) {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	b.live++
	if b.sess == nil {
		b.sess = newSession()
		go b.keep(b.sess)
	}
	c := b.conn
	var fresh []string
	for _, name := range s.channels {
		ch := b.channels[name]
		if ch == nil {
			ch = &channel{subs: map[*subscription]struct{}{}}
			b.channels[name] = ch
		}
		ch.subs[s] = struct{}{}
		if c != nil && !ch.subscribed {
			ch.subscribed = true
			ch.inFlight++
			fresh = append(fresh, name)
		}
	}
	b.checkConfirmed(s) // every channel may be confirmed already
	b.mu.Unlock()
	if len(fresh) > 0 {
		c.command(c.pubsub.Subscribe(context.Background(), fresh...))
	}
}

// remove unregisters s: nothing more is routed to it. Channels nobody
// wants any more are UNSUBSCRIBEd; with the last subscription, the
// connection closes.
func (b *Bus) remove(s *subscription) {
	b.ctl.Lock()
	defer b.ctl.Unlock()
	b.mu.Lock()
	b.live--
	if b.live == 0 {
		sess, c := b.sess, b.conn
		b.sess, b.conn = nil, nil
		clear(b.channels)
		b.mu.Unlock()
		sess.stop()
		if c != nil {
			c.close()
		}
		return
	}
	c := b.conn
	var unwanted []string
	for _, name := range s.channels {
		ch := b.channels[name]
		delete(ch.subs, s)
		if len(ch.subs) > 0 {
			continue
		}
		if c != nil && ch.subscribed {
			ch.subscribed = false
			ch.inFlight++
			unwanted = append(unwanted, name)
		}
		if ch.inFlight == 0 {
			delete(b.channels, name)
		}
	}
	b.mu.Unlock()
	if len(unwanted) > 0 {
		c.command(c.pubsub.Unsubscribe(context.Background(), unwanted...))
	}
}

// checkConfirmed marks s confirmed on the current connection once all its
// channels are: the first time, Subscribe may return; after a
// reconnection, s is told it may have missed messages. Called with mu held.
func (b *Bus) checkConfirmed(s *subscription) {
	if b.conn == nil || s.confirmedOn == b.conn {
		return
	}
	for _, name := range s.channels {
		if !b.channels[name].confirmed() {
			return
		}
	}
	first := s.confirmedOn == nil
	s.confirmedOn = b.conn
	if first {
		close(s.ready)
	} else {
		s.missed()
	}
}
