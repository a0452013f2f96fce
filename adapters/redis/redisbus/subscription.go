package redisbus

import (
	"context"
	"log/slog"
	"sync"

	"github.com/pixelplayground/pixelplayground/ports"
)

// subscription is one Subscribe call: its channels, and the queue between
// the bus's reader and its handler's goroutine, which calls handle and
// resubscribed one at a time, in order.
type subscription struct {
	channels     []string
	handle       func(ports.Message)
	resubscribed func()
	limit        int // messages
	bytesLimit   int // their payloads' bytes

	// ready closes when Redis has first confirmed every channel;
	// confirmedOn is the connection on which it last did. Guarded by the
	// bus's mu.
	ready       chan struct{}
	confirmedOn *conn

	mu    sync.Mutex
	queue []ports.Message
	bytes int // the queue's payload bytes
	// gap says that messages may have been lost since the queue was last
	// taken (dropped on overflow, or a connection lost): resubscribed is
	// due once the queue before it has been handled.
	gap  bool
	wake chan struct{} // capacity 1: "there is something to do"
}

func newSubscription(channels []string, handle func(ports.Message), resubscribed func(), limit, bytesLimit int) *subscription {
	return &subscription{channels: channels, handle: handle, resubscribed: resubscribed, limit: limit, bytesLimit: bytesLimit,
		ready: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// push queues m, or drops it if the queue is full. It never blocks: the
// bus's reader calls it for every subscription.
func (s *subscription) push(m ports.Message) {
	s.mu.Lock()
	if len(s.queue) >= s.limit || s.bytes+len(m.Payload) > s.bytesLimit {
		if !s.gap {
			slog.Warn("redisbus: a subscriber is not keeping up; dropping its messages until it catches up",
				"channels", s.channels, "queued", len(s.queue))
		}
		s.gap = true
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, m)
	s.bytes += len(m.Payload)
	s.mu.Unlock()
	s.signal()
}

// missed notes that messages may have been lost (the connection was, and
// is back).
func (s *subscription) missed() {
	s.mu.Lock()
	s.gap = true
	s.mu.Unlock()
	s.signal()
}

func (s *subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default: // already signalled; the drainer will see this too
	}
}

// deliver drains the queue in order until ctx ends: the messages queued so
// far, then resubscribed if messages may have been lost after them. After
// cancellation the handler gets nothing more, even what was queued.
func (s *subscription) deliver(ctx context.Context) {
	var batch []ports.Message
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		s.mu.Lock()
		batch, s.queue = s.queue, batch[:0]
		s.bytes = 0
		gap := s.gap
		s.gap = false
		s.mu.Unlock()
		for i := range batch {
			if ctx.Err() != nil {
				return
			}
			s.handle(batch[i])
			batch[i] = ports.Message{} // let the payload be collected
		}
		if gap && s.resubscribed != nil && ctx.Err() == nil {
			s.resubscribed()
		}
		if cap(batch) > 1024 {
			batch = nil // after a burst, do not keep a huge array around
		}
	}
}
