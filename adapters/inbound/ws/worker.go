package ws

// This file is one connection's store worker. The reader never calls the
// store: when Redis stalls, a reader blocked in a store call stops reading,
// the client's messages pile up in the socket, and when the stall ends they
// are all read at once and look like a burst to the rate limits (a client
// drawing at 5 px/s got over a hundred `rate_limited` after a 10 s freeze).
// So the reader decides the per-connection limits with the time each message
// arrived and hands what it accepted here: a bounded queue, run in order,
// one store call at a time, by a goroutine that exists only while there is
// work (an idle connection costs none).

import (
	"context"
	"errors"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/place"
)

const (
	// maxPendingJobs bounds one connection's queue of store calls. During
	// a stall a call takes up to one Redis read timeout (2 s) to fail, so an
	// honest client at 5 px/s queues about 50 writes over a 10 s freeze;
	// one at the full per-connection rate (20/s, burst 40) meets the bound
	// and is answered `unavailable` for the excess at once.
	maxPendingJobs = 128
	// maxQueueWait is how long a job may wait for its turn. A write older
	// than that is answered `unavailable` without being tried: its client has
	// waited as long as one store call may take, and is better told.
	maxQueueWait = storeCallTimeout
)

// job is one store call a connection asked for: a pixel write, or (with
// resume set) a replay of history after since on the timeline epoch.
type job struct {
	write  domain.Write
	resume bool
	since  domain.Seq
	epoch  domain.Epoch
	at     time.Time // when the message was read
}

// enqueue hands a job to the connection's worker, starting it if idle. It
// reports false, queueing nothing, when the queue is full. It never blocks.
func (c *Conn) enqueue(j job) bool {
	c.jobsMu.Lock()
	if len(c.jobs) >= maxPendingJobs {
		c.jobsMu.Unlock()
		return false
	}
	c.jobs = append(c.jobs, j)
	start := !c.working
	c.working = true
	c.jobsMu.Unlock()
	if start {
		go c.work()
	}
	return true
}

// work runs the queued jobs in order until the queue is empty. Writes
// queued before the client went away are still placed, as they were when
// the reader placed them itself: a script that sends a pixel and closes at
// once still draws. A resume for a client that is gone is skipped.
func (c *Conn) work() {
	for {
		c.jobsMu.Lock()
		if len(c.jobs) == 0 {
			c.jobs, c.working = nil, false
			c.jobsMu.Unlock()
			return
		}
		j := c.jobs[0]
		c.jobs[0] = job{}
		c.jobs = c.jobs[1:]
		c.jobsMu.Unlock()
		if j.resume {
			select {
			case <-c.done:
			default:
				c.hub.resumeLive(c, j.since, j.epoch)
			}
			continue
		}
		c.place(j)
	}
}

// place runs one write through the shared place-a-pixel path, charged to
// the connection's client, and answers a refusal. The answer to a failure
// comes only once the store call has given up (a store that says
// `unavailable` guarantees the write is never applied, see
// adapters/redis/redisstore/deadline.go); success needs no answer here, its
// echo comes through delivery.
func (c *Conn) place(j job) {
	id := j.write.Origin.WriteID
	if c.hub.o.Clock.Now().Sub(j.at) > maxQueueWait {
		c.reject(codeUnavailable, msgUnavailable, id)
		return
	}
	_, err := c.hub.placer.PlaceOn(context.Background(), c.hub.placeCanvas(), place.SourceWS, c.clientKey, []domain.Write{j.write})
	if err == nil {
		return
	}
	if errors.Is(err, place.ErrArchived) {
		// Readable, never written again: retrying will not help.
		c.send(encodeError(codeArchived, msgArchived, id))
		return
	}
	// The shared path has counted (and, if worth it, logged) the refusal.
	var limited *place.RateLimited
	if errors.As(err, &limited) {
		// Over the client's pixel budget, shared by all its connections.
		c.send(encodeRateLimited(id, retryAfterMillis(limited.RetryAfter)))
		return
	}
	// Every other failure is one the client may retry, as far as it can
	// tell.
	c.send(encodeError(codeUnavailable, msgUnavailable, id))
}

// retryAfterMillis is the error frame's retryAfter: whole milliseconds,
// rounded up, at least 1; 0 (left out) when waiting would never help.
func retryAfterMillis(d time.Duration) int64 {
	if d == domain.Forever || d < 0 {
		return 0
	}
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}
