package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/ports"
)

// A frozen master (SIGSTOP, a stalled VM, a black-holed network) accepts
// connections and answers nothing: without help every command would wait
// out ReadTimeout, one after the other, and a gateway's writers would pile
// up behind it for as long as the freeze lasts, or until Sentinel promotes
// a replica and the client notices. The breaker makes that cost one
// timeout: once a command times out (while its caller still waited for
// it), every command fails at once with ports.ErrUnavailable, and a probe
// PINGs Redis every ProbeInterval; the first PONG, from the same master
// woken up or from the new master a failover client switched to, closes
// the breaker again.
//
// A timeout of a healthy but slow Redis (a huge snapshot) opens it too;
// the probe's PONG then closes it within ProbeInterval, so the cost is a
// few refused calls, which the callers already handle as any outage.

// Probe timings. A PING answers in well under a millisecond on a healthy
// Redis; half a second tells a frozen one from a busy one. The interval
// bounds how long the writes stay refused after Redis is back.
const (
	ProbeInterval = 200 * time.Millisecond
	ProbeTimeout  = 500 * time.Millisecond
)

// ErrBreakerOpen is what calls get while the breaker is open. It wraps
// ports.ErrUnavailable.
var ErrBreakerOpen = fmt.Errorf("%w: redisconn: Redis did not answer in time; refusing at once until it answers a PING again (a frozen master, or a failover under way)", ports.ErrUnavailable)

// breaker is a go-redis hook; see above.
type breaker struct {
	client *redis.Client
	open   atomic.Bool
}

// probeKey marks the probe's own PING, which must pass an open breaker.
type probeKey struct{}

// guard adds a breaker to c.
func guard(c *redis.Client) {
	c.AddHook(&breaker{client: c})
}

func (b *breaker) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if b.refuses(ctx) {
			cmd.SetErr(ErrBreakerOpen)
			return ErrBreakerOpen
		}
		err := next(ctx, cmd)
		b.observe(ctx, err)
		return err
	}
}

func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if b.refuses(ctx) {
			for _, cmd := range cmds {
				cmd.SetErr(ErrBreakerOpen)
			}
			return ErrBreakerOpen
		}
		err := next(ctx, cmds)
		b.observe(ctx, err)
		return err
	}
}

func (b *breaker) refuses(ctx context.Context) bool {
	return b.open.Load() && ctx.Value(probeKey{}) == nil
}

// observe opens the breaker on a timeout that was Redis's doing: with the
// caller's own deadline passed, the caller was in a hurry, which says
// nothing about Redis.
func (b *breaker) observe(ctx context.Context, err error) {
	if err == nil || ctx.Err() != nil || !isTimeout(err) {
		return
	}
	if b.open.CompareAndSwap(false, true) {
		go b.probe()
	}
}

// probe PINGs until Redis answers, then closes the breaker; it gives up
// when the client is closed.
func (b *breaker) probe() {
	t := time.NewTicker(ProbeInterval)
	defer t.Stop()
	for range t.C {
		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), probeKey{}, true), ProbeTimeout)
		err := b.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			b.open.Store(false)
			return
		}
		if errors.Is(err, redis.ErrClosed) {
			return
		}
	}
}

// isTimeout reports whether err is a network timeout: Redis (or the path
// to it) did not answer.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
