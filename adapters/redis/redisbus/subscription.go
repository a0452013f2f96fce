package redisbus

import (
	"context"
	"log/slog"

	"github.com/pixelplayground/pixelplayground/internal/busqueue"
	"github.com/pixelplayground/pixelplayground/ports"
)

// subscription is one Subscribe call: its channels, its handler, and the
// queue between the bus's reader and the handler's goroutine (busqueue),
// which calls handle and resubscribed one at a time, in order.
type subscription struct {
	channels     []string
	handle       func(ports.Message)
	resubscribed func()
	queue        *busqueue.Queue

	// ready closes when Redis has first confirmed every channel;
	// confirmedOn is the connection on which it last did. Guarded by the
	// bus's mu.
	ready       chan struct{}
	confirmedOn *conn
}

func newSubscription(channels []string, handle func(ports.Message), resubscribed func(), limit, bytesLimit int) *subscription {
	return &subscription{channels: channels, handle: handle, resubscribed: resubscribed,
		queue: busqueue.New(limit, bytesLimit), ready: make(chan struct{})}
}

// push queues m, or drops it if the queue is full. It never blocks: the
// bus's reader calls it for every subscription.
func (s *subscription) push(m ports.Message) {
	if _, gapOpened := s.queue.Push(m); gapOpened {
		slog.Warn("redisbus: a subscriber is not keeping up; dropping its messages until it catches up", "channels", s.channels)
	}
}

// missed notes that messages may have been lost (the connection was, and
// is back).
func (s *subscription) missed() { s.queue.Missed() }

// deliver calls the handler until ctx ends; see busqueue.Queue.Deliver.
func (s *subscription) deliver(ctx context.Context) { s.queue.Deliver(ctx, s.handle, s.resubscribed) }
