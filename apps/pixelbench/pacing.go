package main

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"
)

// sendLoop paces one slot's writes: one per interval from first until end.
// A client that falls behind skips the writes it missed instead of bursting,
// so the offered load stays what was asked and never trips the burst limit.
func (b *bench) sendLoop(ctx context.Context, s *slot, first, end time.Time, interval time.Duration) {
	if !first.Before(end) {
		return
	}
	next := first
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		now := time.Now()
		if !now.Before(end) {
			return
		}
		if late := now.Sub(next); late > interval {
			missed := late / interval
			b.skipped.Add(uint64(missed))
			next = next.Add(missed * interval)
		}
		b.send(s)
		next = next.Add(interval)
		if !next.Before(end) {
			return
		}
		t.Reset(time.Until(next))
	}
}

// send makes one write on s's connection, or counts it skipped when s is
// not connected.
func (b *bench) send(s *slot) {
	cn := s.cur.Load()
	if cn == nil {
		b.skipped.Add(1)
		return
	}
	n, x, y, c, ok := b.writes.next()
	if !ok {
		b.skipped.Add(1)
		return
	}
	cn.sent.Add(1) // before the write: the echo may beat PlacePixel's return
	if err := cn.c.PlacePixel(x, y, c.String(), cn.idPrefix+strconv.FormatUint(n, 36)); err != nil {
		cn.sent.Add(^uint64(0))
		b.sendErrors.Add(1)
		return
	}
	b.sent.Add(1)
}

// churnLoop asks a random slot to close and reopen its connection at
// cfg.Churn per second until end.
func (b *bench) churnLoop(ctx context.Context, slots []*slot, end time.Time) {
	every := time.Duration(float64(time.Second) / b.cfg.Churn)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if !time.Now().Before(end) {
			return
		}
		s := slots[rand.IntN(len(slots))]
		select {
		case s.churn <- struct{}{}:
		default: // that slot is already being churned
		}
	}
}
