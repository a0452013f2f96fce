package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/ports"
)

// A frozen master (SIGSTOP, a stalled VM, a black-holed network) accepts
// connections and answers nothing: without help every command would wait
// out ReadTimeout, and go-redis would retry it once on another connection
// to the same master and wait again, one caller after the other, for as
// long as the freeze lasts, or until Sentinel promotes a replica and the
// client notices. The breaker makes that cost one timeout: once a read on
// any connection has waited FreezeAfter or longer for nothing, every
// command fails at once with ErrBreakerOpen (ports.ErrUnavailable),
// connections already taken from the pool refuse to send, and a probe
// PINGs Redis every ProbeInterval; the first PONG, from the same master
// woken up or from the new master a failover client switched to, closes
// the breaker again.
//
// Only a read that waited for a reply counts: a subscriber's connection
// waiting for messages on a quiet channel times out without anything
// being wrong.
//
// It watches reads on the connections rather than the commands' results
// because go-redis retries a timed-out command inside the call, so a
// command's result hides the first timeout, and because only the
// connection knows how long the read was allowed to wait: a caller's own
// short deadline (a readiness probe's 800 ms) ending a read says nothing
// about Redis.
//
// A timeout of a healthy but slow Redis (a huge snapshot) opens it too;
// the probe's PONG then closes it within ProbeInterval, so the cost is a
// few refused calls, which the callers already handle as any outage.

// FreezeAfter is how long a read must have been allowed to wait, and
// waited in vain, to open the breaker: half of ReadTimeout, well above
// any answer of a healthy Redis to the commands the apps send.
const FreezeAfter = time.Second

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
	// probing is set while the probe's PING runs: go-redis may dial its
	// connection, or hand it one, out of the probe's context, so dials
	// and writes cannot tell the probe's from a caller's and let both
	// through meanwhile (callers are still refused before they reach the
	// pool, by ProcessHook).
	probing atomic.Bool
}

// refusing reports whether connections must neither be dialed nor send.
func (b *breaker) refusing() bool { return b.open.Load() && !b.probing.Load() }

// probeKey marks the probe's own PING, which must pass an open breaker.
type probeKey struct{}

// guard adds a breaker to c.
func guard(c *redis.Client) {
	c.AddHook(&breaker{client: c})
}

func isProbe(ctx context.Context) bool { return ctx.Value(probeKey{}) != nil }

// DialHook refuses new connections while the breaker is open (except
// during the probe), and watches the reads of every connection it lets
// through.
func (b *breaker) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if b.refusing() {
			return nil, ErrBreakerOpen
		}
		c, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		w := &watchedConn{Conn: c, b: b}
		if _, ok := c.(syscall.Conn); ok {
			return watchedSysConn{w}, nil
		}
		return w, nil
	}
}

func (b *breaker) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if b.open.Load() && !isProbe(ctx) {
			cmd.SetErr(ErrBreakerOpen)
			return ErrBreakerOpen
		}
		return next(ctx, cmd)
	}
}

func (b *breaker) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if b.open.Load() && !isProbe(ctx) {
			for _, cmd := range cmds {
				cmd.SetErr(ErrBreakerOpen)
			}
			return ErrBreakerOpen
		}
		return next(ctx, cmds)
	}
}

// trip opens the breaker and starts the probe.
func (b *breaker) trip() {
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
		b.probing.Store(true)
		err := b.client.Ping(ctx).Err()
		b.probing.Store(false)
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

// watchedConn is a connection whose reads tell the breaker when Redis
// kept it waiting FreezeAfter or longer, and which sends nothing while the
// breaker refuses: a call that got its connection before the breaker
// opened (go-redis's retry of a timed-out command) must not queue one
// more command in a frozen Redis.
type watchedConn struct {
	net.Conn
	b *breaker

	allowed atomic.Int64 // ns the current read deadline allows, from when it was set
	// awaiting: bytes were sent since the last bytes were received, so a
	// reply is owed. A subscriber's connection waits for messages that may
	// not come (the bus reads with an idle timeout on a quiet canvas): its
	// timeouts say nothing about Redis until it has sent a PING.
	awaiting atomic.Bool
}

func (c *watchedConn) SetReadDeadline(t time.Time) error {
	c.allowed.Store(int64(time.Until(t)))
	return c.Conn.SetReadDeadline(t)
}

func (c *watchedConn) SetDeadline(t time.Time) error {
	c.allowed.Store(int64(time.Until(t)))
	return c.Conn.SetDeadline(t)
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.awaiting.Store(false)
	}
	if err != nil && isTimeout(err) && c.awaiting.Load() && time.Duration(c.allowed.Load()) >= FreezeAfter {
		c.b.trip()
	}
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	if c.b.refusing() {
		return 0, ErrBreakerOpen
	}
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.awaiting.Store(true)
	}
	return n, err
}

// watchedSysConn is a watchedConn of a TCP connection: its SyscallConn
// lets go-redis's pool check an idle connection for a close by Redis
// before reusing it, as it does on a plain TCP connection (a TLS one has
// none, and go-redis skips the check).
type watchedSysConn struct{ *watchedConn }

func (c watchedSysConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
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
