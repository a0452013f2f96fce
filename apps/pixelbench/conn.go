package main

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// benchConn is one connection. Its counters are written by its reader
// goroutine only and read by the progress and drain logic.
type benchConn struct {
	c        *wsclient.Client
	no       uint64
	idPrefix string // every write id of this connection starts with it
	sampled  bool
	ours     atomic.Bool // we are closing it: its end is not a drop

	delivered, inOrder, missing, outOfOrder, noSeq atomic.Uint64
	sent, acked, refused                           atomic.Uint64
	lastSeq                                        atomic.Uint64
}

// unanswered is how many of this connection's writes neither came back nor
// were refused.
func (c *benchConn) unanswered() uint64 {
	s, a := c.sent.Load(), c.acked.Load()+c.refused.Load()
	if a >= s {
		return 0
	}
	return s - a
}

// slot is one of the -clients places a connection occupies: it outlives
// its connections, which churn and drops replace.
type slot struct {
	index   int
	url     string
	sampled bool
	cur     atomic.Pointer[benchConn] // nil while not connected
	churn   chan struct{}
}

// newSlots spreads n slots round-robin over the URLs and marks k of them,
// evenly spread, as sampled.
func newSlots(cfg Config, k int) []*slot {
	slots := make([]*slot, cfg.Clients)
	for i := range slots {
		slots[i] = &slot{index: i, url: cfg.URLs[i%len(cfg.URLs)], churn: make(chan struct{}, 1),
			sampled: i*k/cfg.Clients != (i+1)*k/cfg.Clients}
	}
	return slots
}

// runSlot keeps one connection open for slot s until ctx ends: it dials,
// redials after a drop (with backoff) and after churn (at once).
func (b *bench) runSlot(ctx context.Context, s *slot, firstDial func()) {
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		cn, err := b.connect(ctx, s)
		if first {
			first = false
			firstDial()
		}
		if err != nil {
			if !sleepCtx(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		s.cur.Store(cn)
		select {
		case <-cn.c.Done():
			s.cur.Store(nil)
			b.conns.retire(cn, endDropped)
			if !sleepCtx(ctx, backoff) {
				return
			}
		case <-s.churn:
			s.cur.Store(nil)
			closeConn(cn)
			b.conns.churned.Add(1)
			b.conns.retire(cn, endChurned)
		case <-ctx.Done():
			s.cur.Store(nil)
			closeConn(cn)
			b.conns.retire(cn, endFinal)
			return
		}
	}
}

// sleepCtx sleeps for d and reports whether it did, rather than being cut
// short by the end of ctx.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// closeConn closes normally, and drops the socket if the server does not
// answer in time, so the end of a run is bounded.
func closeConn(cn *benchConn) {
	cn.ours.Store(true)
	_ = cn.c.Close()
	select {
	case <-cn.c.Done():
	case <-time.After(3 * time.Second):
		cn.c.Abort()
		<-cn.c.Done()
	}
}

// connect dials a connection for s, at most dialConcurrency at a time, and
// enters it in the books.
func (b *bench) connect(ctx context.Context, s *slot) (*benchConn, error) {
	select {
	case b.dials <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.dials }()
	cn := &benchConn{no: b.connNo.Add(1), sampled: s.sampled}
	cn.idPrefix = strconv.FormatUint(cn.no, 36) + ":"
	b.conns.attempts.Add(1)
	start := time.Now()
	c, err := wsclient.Dial(ctx, s.url, wsclient.Options{
		V2: b.cfg.V2, HandshakeTimeout: b.cfg.ConnectTimeout,
		ReadTimeout: -1, // the run's own bounds end it; a quiet server is a result, not an error
		Handler:     func(m wsclient.Message) { b.handle(cn, m) },
		// Small buffers keep thousands of clients light; frames larger
		// than the read buffer are still read whole.
		ReadBufferSize: 1024, WriteBufferSize: 512,
	})
	if err != nil {
		if ctx.Err() != nil {
			b.conns.attempts.Add(^uint64(0)) // cancelled at the end: not an attempt that failed
			return nil, err
		}
		b.conns.failed.Add(1)
		b.conns.failures.add(failureReason(err))
		return nil, err
	}
	took := time.Since(start)
	cn.c = c
	b.writes.learnSize(c.Width(), c.Height())
	b.conns.opened(cn, took)
	return cn, nil
}

var httpStatus = regexp.MustCompile(`HTTP \d{3}`)

// failureReason names a dial error by kind, without the addresses and
// ports that would make every failure unique.
func failureReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port available"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	}
	if s := httpStatus.FindString(err.Error()); s != "" {
		return s
	}
	if strings.Contains(err.Error(), "not connected") {
		return "no connected message"
	}
	return "other"
}
