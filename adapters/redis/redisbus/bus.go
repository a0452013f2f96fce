// Package redisbus is the Pub/Sub bus between processes, on Redis.
//
// Each Subscribe holds its own Pub/Sub connection and reads it in a loop of
// its own rather than through go-redis's Channel(), because Channel() hides
// reconnections, and a subscriber must know when it may have missed messages
// so it can repair from history. The loop resubscribes forever after any
// failure, with capped exponential backoff, and tells the caller each time.
package redisbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Timing of a subscription. A dead connection usually fails at once (the
// peer resets it); one that silently stopped answering (a black-holed
// network) is noticed within two idle periods, by an unanswered PING.
const (
	minBackoff            = 100 * time.Millisecond
	maxBackoff            = 2 * time.Second
	defaultIdlePeriod     = 5 * time.Second
	defaultConfirmTimeout = 5 * time.Second
)

// Bus implements ports.Bus.
type Bus struct {
	client redis.UniversalClient
	// idlePeriod is how long a subscription waits for traffic before it
	// probes with PING; confirmTimeout bounds the wait for SUBSCRIBE's
	// confirmation. Fields, not constants, so a test can shorten them.
	idlePeriod, confirmTimeout time.Duration
}

var _ ports.Bus = (*Bus)(nil)

// New returns a bus on client. Build the client with redisconn so that
// publishing fails fast when Redis is down.
func New(client redis.UniversalClient) *Bus {
	return &Bus{client: client, idlePeriod: defaultIdlePeriod, confirmTimeout: defaultConfirmTimeout}
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
// ports.Bus. It returns once Redis has confirmed every channel, or with
// ctx's error if ctx ends first (retrying meanwhile while Redis is down).
func (b *Bus) Subscribe(ctx context.Context, channels []string, handle func(ports.Message), resubscribed func()) error {
	if len(channels) == 0 {
		return errors.New("redisbus: subscribe needs at least one channel")
	}
	if handle == nil {
		return errors.New("redisbus: subscribe needs a handler")
	}
	want := make(map[string]bool, len(channels))
	for _, c := range channels {
		want[c] = true
	}
	s := &subscription{bus: b, want: want, handle: handle, resubscribed: resubscribed}
	first, err := s.connectUntilConfirmed(ctx)
	if err != nil {
		return fmt.Errorf("redisbus: subscribe: %w", err)
	}
	go s.run(ctx, first)
	return nil
}

type subscription struct {
	bus          *Bus
	want         map[string]bool
	handle       func(ports.Message)
	resubscribed func()
}

// session is one confirmed Pub/Sub connection plus any messages that
// arrived while the remaining channels were still being confirmed.
type session struct {
	pubsub  *redis.PubSub
	early   []*redis.Message
	release func() bool // stops closing pubsub when ctx ends
}

func (s *session) close() {
	s.release()
	_ = s.pubsub.Close()
}

// run delivers messages and reconnects until ctx ends, all on one goroutine,
// so handle and resubscribed never run concurrently and messages keep their
// order.
func (s *subscription) run(ctx context.Context, sess *session) {
	quickFailures := 0
	for {
		began := time.Now()
		s.deliver(ctx, sess)
		sess.close()
		if ctx.Err() != nil {
			return
		}
		// A connection that dies soon after subscribing (Redis dropping a
		// subscriber that reads too slowly, say) must not turn into a tight
		// reconnect loop; one that lived a while reconnects at once.
		if time.Since(began) < maxBackoff {
			quickFailures++
		} else {
			quickFailures = 0
		}
		if quickFailures > 0 && !sleep(ctx, backoff(quickFailures)) {
			return
		}
		var err error
		if sess, err = s.connectUntilConfirmed(ctx); err != nil {
			return // ctx ended
		}
		if s.resubscribed != nil {
			s.resubscribed()
		}
	}
}

// connectUntilConfirmed retries with capped exponential backoff until a
// subscription is confirmed or ctx ends.
func (s *subscription) connectUntilConfirmed(ctx context.Context) (*session, error) {
	for failures := 1; ; failures++ {
		sess, err := s.connect(ctx)
		if err == nil {
			return sess, nil
		}
		if !sleep(ctx, backoff(failures)) {
			return nil, ctx.Err()
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

// sleep waits d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// connect opens a Pub/Sub connection, subscribes and waits until Redis has
// confirmed every channel: only then is no later publication missed.
func (s *subscription) connect(ctx context.Context) (*session, error) {
	pubsub := s.bus.client.Subscribe(ctx)
	// A blocked read only ends at its deadline; closing the connection when
	// ctx ends makes cancellation immediate.
	sess := &session{pubsub: pubsub, release: context.AfterFunc(ctx, func() { _ = pubsub.Close() })}
	channels := make([]string, 0, len(s.want))
	for c := range s.want {
		channels = append(channels, c)
	}
	if err := pubsub.Subscribe(ctx, channels...); err != nil {
		sess.close()
		return nil, err
	}
	pending := make(map[string]bool, len(s.want))
	for c := range s.want {
		pending[c] = true
	}
	for len(pending) > 0 {
		msg, err := pubsub.ReceiveTimeout(ctx, s.bus.confirmTimeout)
		if err != nil {
			sess.close()
			return nil, err
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				delete(pending, m.Channel)
			}
		case *redis.Message:
			// A channel confirmed earlier already receives messages.
			sess.early = append(sess.early, m)
		}
	}
	return sess, nil
}

// deliver hands messages to the handler until the connection fails or ctx
// ends. An idle connection is probed with PING; two silent periods in a row
// mean it is dead even if the socket has not said so.
func (s *subscription) deliver(ctx context.Context, sess *session) {
	for _, m := range sess.early {
		s.handleMessage(m)
	}
	sess.early = nil
	probing := false
	for ctx.Err() == nil {
		msg, err := sess.pubsub.ReceiveTimeout(ctx, s.bus.idlePeriod)
		if err != nil {
			if !isTimeout(err) || probing {
				return
			}
			if err := sess.pubsub.Ping(ctx); err != nil {
				return
			}
			probing = true
			continue
		}
		probing = false
		// A message already read off the socket comes back even when ctx
		// ended meanwhile: after cancel, the handler gets nothing more.
		if m, ok := msg.(*redis.Message); ok && s.want[m.Channel] && ctx.Err() == nil {
			s.handleMessage(m)
		}
	}
}

func (s *subscription) handleMessage(m *redis.Message) {
	s.handle(ports.Message{Channel: m.Channel, Payload: []byte(m.Payload)})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
