package main

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// ledger keeps the books on connections: how many dials were tried and how
// they went, which connections are open, and, as each one ends, its
// delivery and write counters folded into the run's totals, so that a
// churned or dropped connection still counts.
type ledger struct {
	attempts, succeeded, failed, churned atomic.Uint64
	dropped                              atomic.Uint64 // ended by the server or the network, not by us
	failures                             tally         // failed dials, by kind (failureReason)
	dropCodes                            tally         // dropped connections, by close code

	mu          sync.Mutex
	connectTime measure.Histogram
	live        map[*benchConn]struct{}
	peakOpen    int
	folded      connTotals   // of every connection retired so far
	gappy       int          // retired connections that missed a seq
	finals      []*benchConn // connections open at the end, for the tail count
}

// connTotals sums the counters of many connections.
type connTotals struct {
	delivered, inOrder, missing, outOfOrder, noSeq, acked, refused uint64
	unanswered                                                     uint64
}

func (t *connTotals) add(c *benchConn) {
	t.delivered += c.delivered.Load()
	t.inOrder += c.inOrder.Load()
	t.missing += c.missing.Load()
	t.outOfOrder += c.outOfOrder.Load()
	t.noSeq += c.noSeq.Load()
	t.acked += c.acked.Load()
	t.refused += c.refused.Load()
}

// Why a connection ended.
type endReason int

const (
	endDropped endReason = iota // by the server or the network
	endChurned                  // by us, mid-run
	endFinal                    // by us, at the end
)

func newLedger() *ledger {
	return &ledger{live: map[*benchConn]struct{}{}}
}

// opened records a connection that dialled in took.
func (l *ledger) opened(cn *benchConn, took time.Duration) {
	l.succeeded.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.connectTime.Record(took)
	l.live[cn] = struct{}{}
	l.peakOpen = max(l.peakOpen, len(l.live))
}

// retire folds a finished connection into the totals. One open at the end
// is folded by tail instead, once all of them have stopped reading.
func (l *ledger) retire(cn *benchConn, why endReason) {
	<-cn.c.Done() // its reader has stopped: the counters are final
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.live, cn)
	if !cn.ours.Load() {
		l.dropped.Add(1)
		l.dropCodes.add(strconv.Itoa(cn.c.Closed().Code))
	}
	switch why {
	case endFinal:
		l.finals = append(l.finals, cn)
		return
	case endDropped:
		// A churned connection's last echoes were cut off by us; a dropped
		// one's by the server, which is worth reporting.
		l.folded.unanswered += cn.unanswered()
	}
	if cn.missing.Load() > 0 {
		l.gappy++
	}
	l.folded.add(cn)
}

// tail counts, for every connection open at the end, the seqs between its
// last one and the highest any of them received: events it should have had.
func (l *ledger) tail() {
	l.mu.Lock()
	defer l.mu.Unlock()
	var top uint64
	for _, cn := range l.finals {
		top = max(top, cn.lastSeq.Load())
	}
	for _, cn := range l.finals {
		cn.missing.Add(top - cn.lastSeq.Load())
		if cn.missing.Load() > 0 {
			l.gappy++
		}
		l.folded.unanswered += cn.unanswered()
		l.folded.add(cn)
	}
	l.finals = nil
}

// totals is the sum over every connection so far, open or not.
func (l *ledger) totals() connTotals {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.folded
	for cn := range l.live {
		t.add(cn)
	}
	for _, cn := range l.finals {
		t.add(cn)
	}
	return t
}

func (l *ledger) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.live)
}

// settled reports whether every open connection has had its writes
// answered (when acks says the server echoes ids at all) and has seen the
// same last seq.
func (l *ledger) settled(acks bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	var lo, hi uint64
	first := true
	for cn := range l.live {
		if acks && cn.unanswered() > 0 {
			return false
		}
		s := cn.lastSeq.Load()
		if first {
			lo, hi, first = s, s, false
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	return lo == hi
}

// closeBooks reports on the connections once every one has been folded in
// (after tail): their statistics, the totals of their counters and how
// many had gaps.
func (l *ledger) closeBooks() (stats ConnStats, totals connTotals, gappy int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	stats = ConnStats{
		Attempts: l.attempts.Load(), Succeeded: l.succeeded.Load(), Failed: l.failed.Load(),
		PeakOpen: l.peakOpen, Churned: l.churned.Load(), Dropped: l.dropped.Load(),
		ConnectTime: summary(&l.connectTime), Failures: l.failures.counts(), DropCodes: l.dropCodes.counts(),
	}
	if stats.Attempts > 0 {
		stats.SuccessRate = float64(stats.Succeeded) / float64(stats.Attempts)
	}
	return stats, l.folded, l.gappy
}
