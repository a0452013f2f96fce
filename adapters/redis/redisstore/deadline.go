package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/ports"
)

// A write must never be applied after its writer was told it failed. When
// Redis stalls (frozen, swapping, a long fork), the write script waits in
// its socket while the call times out and the client hears `unavailable`;
// without a guard Redis runs the script when it wakes, and pixels the
// client was told were refused appear on every canvas (20 of them after a
// 10 s freeze, in the test that found it).
//
// So every write carries a deadline: the earliest moment its caller could
// give up on it (the context's deadline, or one read timeout from now), less
// a margin, in Redis's clock. The script compares it with Redis's own time
// before it writes anything and refuses, with lateReply, once it has
// passed. Redis's clock is not ours: the offset between them is measured
// when the store opens and again at every Ping (readiness probes and the
// gateways' checks keep it fresh), from TIME on the canvas's own node.

// lateReply starts the script's refusal of a write past its deadline.
const lateReply = "LATE"

// deadlineMargin is taken off every deadline for the error of the clock
// offset's measurement (half a round trip) and for the time between the
// caller giving up and go-redis telling it.
const deadlineMargin = 100 * time.Millisecond

// clockScript reads Redis's time on the node that owns the canvas's slot.
var clockScript = redis.NewScript(`return redis.call('TIME')`)

// clock is the measured offset of Redis's clock from ours.
type clock struct {
	offset atomic.Int64 // µs to add to our time to get Redis's
	// reserve is taken off every deadline for what follows the script
	// in the same round trip (WAIT, see replicas.go), so that the script
	// runs early enough for the whole reply to arrive before the caller
	// gives up.
	reserve time.Duration
}

// measure reads Redis's time on the node that owns key (the canvas's seq,
// so the node whose clock the write script reads) and updates the offset;
// it is also the store's liveness check.
func (c *clock) measure(ctx context.Context, client redis.UniversalClient, key string) error {
	before := time.Now()
	reply, err := clockScript.Run(ctx, client, []string{key}).Int64Slice()
	after := time.Now()
	if err != nil {
		return err
	}
	if len(reply) != 2 {
		return fmt.Errorf("TIME answered %v", reply)
	}
	redisNow := reply[0]*1_000_000 + reply[1]
	mid := before.Add(after.Sub(before) / 2)
	c.offset.Store(redisNow - mid.UnixMicro())
	return nil
}

// deadline is the latest Redis time, in µs, at which a write started now
// may still be applied.
func (c *clock) deadline(ctx context.Context, now time.Time) int64 {
	giveUp := now.Add(redisconn.ReadTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(giveUp) {
		giveUp = d
	}
	return giveUp.Add(-deadlineMargin-c.reserve).UnixMicro() + c.offset.Load()
}

// lateError maps the script's refusal to an outage: the write was not
// applied, and the client may send it again.
func lateError(err error) error {
	if err != nil && strings.HasPrefix(err.Error(), lateReply) {
		return fmt.Errorf("%w: redisstore: place: Redis ran the write after its deadline and refused it (%v)", ports.ErrUnavailable, err)
	}
	return nil
}

func formatMicros(v int64) string { return strconv.FormatInt(v, 10) }
