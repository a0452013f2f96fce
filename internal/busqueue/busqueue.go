// Package busqueue is what stands between a bus and one subscription's
// handler, for both ports.Bus adapters (membus in process, redisbus on
// Redis): a bounded queue that the bus pushes into without ever waiting,
// drained in order by the subscription's own goroutine, so that one slow
// handler holds up nobody else. What does not fit is dropped and noted as
// a gap; the handler's resubscribed ("you may have missed messages") is
// called once what was queued before the drop has been handled.
package busqueue

import (
	"context"
	"sync"

	"github.com/pixelplayground/pixelplayground/ports"
)

// Limit and BytesLimit are the usual bounds, by count and by payload bytes.
// A handler that falls that far behind is stuck, not merely slow: 65536
// messages are seconds of the busiest canvas we plan for, and 32 MiB is
// what Redis itself buffers for a slow subscriber before dropping it (the
// hard client-output-buffer-limit for pubsub); the bytes bound matters
// since a message may be a store call's batch of hundreds of events
// (busmsg.EncodeEvents).
const (
	Limit      = 65536
	BytesLimit = 32 << 20
)

// Queue is one subscription's queue. Push and Missed may be called from any
// goroutine; Deliver runs on the subscription's own.
type Queue struct {
	limit, bytesLimit int

	mu    sync.Mutex
	queue []ports.Message
	bytes int // the queue's payload bytes
	// gap says that messages may have been lost since the queue was last
	// taken (dropped, or lost with a connection): resubscribed is due once
	// the queue before it has been handled.
	gap  bool
	wake chan struct{} // capacity 1: "there is something to do"
}

// New returns a queue holding at most limit messages of at most bytesLimit
// payload bytes in all.
func New(limit, bytesLimit int) *Queue {
	return &Queue{limit: limit, bytesLimit: bytesLimit, wake: make(chan struct{}, 1)}
}

// Push queues m, or drops it if the queue is full. It never blocks. It
// reports whether m was queued, and whether this drop opened a gap (the
// first drop since the handler last caught up: the moment to say so once).
func (q *Queue) Push(m ports.Message) (queued, gapOpened bool) {
	q.mu.Lock()
	if len(q.queue) >= q.limit || q.bytes+len(m.Payload) > q.bytesLimit {
		gapOpened = !q.gap
		q.gap = true
		q.mu.Unlock()
		return false, gapOpened
	}
	q.queue = append(q.queue, m)
	q.bytes += len(m.Payload)
	q.mu.Unlock()
	q.signal()
	return true, false
}

// Missed notes that messages may have been lost elsewhere (a connection
// was, and is back): resubscribed follows what is queued.
func (q *Queue) Missed() {
	q.mu.Lock()
	q.gap = true
	q.mu.Unlock()
	q.signal()
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default: // already signalled; the drainer will see this too
	}
}

// Deliver drains the queue in order until ctx ends: the messages queued so
// far, then resubscribed (if not nil) if messages may have been lost after
// them. After cancellation handle gets nothing more, even what was queued.
// It swaps the queue for a spare slice instead of popping one message at a
// time, so a burst costs one lock round trip and both arrays are reused.
func (q *Queue) Deliver(ctx context.Context, handle func(ports.Message), resubscribed func()) {
	var batch []ports.Message
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		q.mu.Lock()
		batch, q.queue = q.queue, batch[:0]
		q.bytes = 0
		gap := q.gap
		q.gap = false
		q.mu.Unlock()
		for i := range batch {
			if ctx.Err() != nil {
				return
			}
			handle(batch[i])
			batch[i] = ports.Message{} // let the payload be collected
		}
		if gap && resubscribed != nil && ctx.Err() == nil {
			resubscribed()
		}
		if cap(batch) > 1024 {
			batch = nil // after a burst, do not keep a huge array around
		}
	}
}
