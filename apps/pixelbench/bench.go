package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// bench is one run in progress. Run drives it through its phases (ramp,
// steady, drain); the concerns it ties together live in their own files:
// connections and their books (conn.go, ledger.go), the pacing of writes
// (pacing.go), what arrives (receive.go), telling writes apart
// (writelog.go), progress lines (progress.go) and the results (report.go).
type bench struct {
	cfg    Config
	writes *writeLog
	conns  *ledger
	dials  chan struct{} // a token per handshake in flight
	connNo atomic.Uint64

	// What became of the writes at our end; their answers are counted per
	// connection.
	sent, sendErrors, skipped atomic.Uint64

	ackSeen  atomic.Bool  // the server echoes write ids
	phase    atomic.Value // string: ramp, steady, drain
	errorsBy tally        // server error messages, by code

	e2e, fanOut measure.Sharded
}

func newBench(cfg Config) *bench {
	return &bench{cfg: cfg, writes: newWriteLog(), conns: newLedger(), dials: make(chan struct{}, dialConcurrency)}
}

// Run runs one benchmark and reports progress lines on progress.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Result, error) {
	warnings, err := cfg.check()
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintln(progress, "warning:", w)
	}
	b := newBench(cfg)
	res := &Result{URLs: cfg.URLs, StartedAt: time.Now(), Warnings: append([]string{}, warnings...)}

	// Slots run until the end of the run, not of ctx, so that an
	// interrupted run still closes its connections and reports.
	runCtx, stopSlots := context.WithCancel(context.Background())
	defer stopSlots()
	k := cfg.Sample.of(cfg.Clients)
	slots := newSlots(cfg, k)
	var slotsDone sync.WaitGroup
	b.phase.Store("ramp")
	stopProgress := b.startProgress(progress)
	defer stopProgress()
	res.RampSeconds = b.ramp(ctx, runCtx, slots, &slotsDone).Seconds()

	b.phase.Store("steady")
	before := b.conns.totals()
	steadyFor := b.steady(ctx, slots)
	after := b.conns.totals()
	res.SteadySeconds = steadyFor.Seconds()

	// Drain: wait until every write is answered and every client has seen
	// the same last seq, or until cfg.Drain.
	b.phase.Store("drain")
	drainStart := time.Now()
	b.drain(ctx, cfg.Drain)
	res.DrainSeconds = time.Since(drainStart).Seconds()
	res.Interrupted = ctx.Err() != nil

	stopSlots()
	slotsDone.Wait()
	stopProgress()
	b.conns.tail()
	b.fill(res, k, after.delivered-before.delivered, steadyFor)
	return res, nil
}

// ramp starts the slots at cfg.Ramp per second, each under runCtx and
// counted in slotsDone; each dials, and redials whenever its connection
// drops, until runCtx ends. It returns, with how long it took, once every
// slot has made its first dial (or ctx ended).
func (b *bench) ramp(ctx, runCtx context.Context, slots []*slot, slotsDone *sync.WaitGroup) time.Duration {
	var firstDials sync.WaitGroup
	firstDials.Add(len(slots))
	start := time.Now()
	launched := 0
	tick := time.NewTicker(10 * time.Millisecond)
	for launched < len(slots) && ctx.Err() == nil {
		due := min(len(slots), int(time.Since(start).Seconds()*b.cfg.Ramp)+1)
		for ; launched < due; launched++ {
			s := slots[launched]
			slotsDone.Add(1)
			go func() {
				defer slotsDone.Done()
				b.runSlot(runCtx, s, firstDials.Done)
			}()
		}
		if launched < len(slots) {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}
	tick.Stop()
	for range len(slots) - launched {
		firstDials.Done()
	}
	waitOrCancel(ctx, &firstDials)
	return time.Since(start)
}

// steady sends at cfg.Rate and churns at cfg.Churn for cfg.Duration, and
// returns how long it actually took.
func (b *bench) steady(ctx context.Context, slots []*slot) time.Duration {
	start := time.Now()
	end := start.Add(b.cfg.Duration)
	var workers sync.WaitGroup
	if b.cfg.Rate > 0 {
		interval := time.Duration(float64(time.Second) * float64(b.cfg.Clients) / b.cfg.Rate)
		for _, s := range slots {
			// Offsets spread the clients' sends evenly over one interval.
			first := start.Add(time.Duration(float64(interval) * float64(s.index) / float64(b.cfg.Clients)))
			workers.Add(1)
			go func() {
				defer workers.Done()
				b.sendLoop(ctx, s, first, end, interval)
			}()
		}
	}
	if b.cfg.Churn > 0 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			b.churnLoop(ctx, slots, end)
		}()
	}
	sleepCtx(ctx, time.Until(end))
	workers.Wait()
	return time.Since(start)
}

// drain waits for in-flight writes and deliveries to settle.
func (b *bench) drain(ctx context.Context, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if b.conns.settled(b.ackSeen.Load()) {
			return
		}
		sleepCtx(ctx, 50*time.Millisecond)
	}
}

func waitOrCancel(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
