// Package membus is an in-process ports.Bus for the all-in-one app and for
// tests: every subscriber of a channel gets every message published on it,
// in publication order, without any network.
//
// Publish never blocks. The embedded store publishes while holding its write
// lock, so a slow handler must not be able to stall every writer; instead each
// subscription has its own queue, drained by one goroutine that calls the
// handler. A queue holds at most QueueLimit messages. When a subscriber falls
// that far behind, further messages for it are dropped (and counted, see
// Dropped) until it catches up, and then its resubscribed is called, as the
// Redis bus does: the bus is at-most-once like Redis Pub/Sub, and consumers
// of pixel events repair the gap from CanvasStore.Since because seqs have no
// gaps.
package membus

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pixelplayground/pixelplayground/internal/busqueue"
	"github.com/pixelplayground/pixelplayground/ports"
)

// QueueLimit and QueueBytesLimit bound the messages waiting for one
// subscription (see busqueue).
const (
	QueueLimit      = busqueue.Limit
	QueueBytesLimit = busqueue.BytesLimit
)

// Bus is the in-process bus. The zero value is not usable; call New.
type Bus struct {
	mu      sync.RWMutex
	subs    map[string][]*busqueue.Queue // by channel
	dropped atomic.Uint64
}

// New returns an empty bus.
func New() *Bus {
	return &Bus{subs: map[string][]*busqueue.Queue{}}
}

var _ ports.Bus = (*Bus)(nil)

// Publish queues payload for every current subscriber of channel and returns
// at once. Each subscriber gets its own copy, so neither the publisher nor
// another handler can change what a handler sees.
func (b *Bus) Publish(ctx context.Context, channel string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.subs[channel] {
		msg := ports.Message{Channel: channel, Payload: append([]byte(nil), payload...)}
		if queued, _ := s.Push(msg); !queued {
			if n := b.dropped.Add(1); n == 1 || n%QueueLimit == 0 {
				slog.Warn("membus: a subscriber is not keeping up; dropping messages", "channel", channel, "dropped_total", n)
			}
		}
	}
	return nil
}

// Dropped is how many messages were dropped because a subscriber's queue was
// full, over the bus's lifetime.
func (b *Bus) Dropped() uint64 { return b.dropped.Load() }

// Subscribe registers handle on channels before it returns, so every message
// published afterwards is delivered, and delivers from a new goroutine until
// ctx is cancelled. An in-process bus has no outages: resubscribed is called
// only after messages for this subscription were dropped (see QueueLimit).
func (b *Bus) Subscribe(ctx context.Context, channels []string, handle func(ports.Message), resubscribed func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := busqueue.New(QueueLimit, QueueBytesLimit)
	channels = slices.Compact(slices.Sorted(slices.Values(channels))) // a copy, each channel once
	b.mu.Lock()
	for _, ch := range channels {
		b.subs[ch] = append(b.subs[ch], s)
	}
	b.mu.Unlock()
	go func() {
		defer b.unsubscribe(s, channels)
		s.Deliver(ctx, handle, resubscribed)
	}()
	return nil
}

func (b *Bus) unsubscribe(s *busqueue.Queue, channels []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range channels {
		list := b.subs[ch]
		for i, o := range list {
			if o == s {
				// In place is safe: Publish iterates only under the read lock.
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(b.subs, ch)
		} else {
			b.subs[ch] = list
		}
	}
}
