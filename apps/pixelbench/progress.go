package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// startProgress prints a line every cfg.Progress until the returned stop
// is called.
func (b *bench) startProgress(w io.Writer) (stop func()) {
	if b.cfg.Progress <= 0 || w == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(b.cfg.Progress)
		defer t.Stop()
		start, prevAt := time.Now(), time.Now()
		prev, prevSent := b.conns.totals(), b.sent.Load()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			now, cur, sent := time.Now(), b.conns.totals(), b.sent.Load()
			secs := now.Sub(prevAt).Seconds()
			e2e := b.e2e.Merged()
			phase, _ := b.phase.Load().(string)
			fmt.Fprintf(w, "%6.1fs %-6s open %d/%d  sent %.0f/s  delivered %.0f/s  missing %d  errors %d  e2e p50 %.1fms p99 %.1fms\n",
				now.Sub(start).Seconds(), phase, b.conns.open(), b.cfg.Clients,
				float64(sent-prevSent)/secs, float64(cur.delivered-prev.delivered)/secs, cur.missing, b.errorsBy.total(),
				ms(e2e.Quantile(0.5)), ms(e2e.Quantile(0.99)))
			prev, prevSent, prevAt = cur, sent, now
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-finished
		})
	}
}
