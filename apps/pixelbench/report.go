package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// fill writes what the run measured into res; sampled is how many clients
// timed deliveries, steadyDeliveries how many arrived in the steady phase,
// which lasted steadyFor.
func (b *bench) fill(res *Result, sampled int, steadyDeliveries uint64, steadyFor time.Duration) {
	cfg := b.cfg
	res.Config = ConfigSummary{Clients: cfg.Clients, Rate: cfg.Rate, DurationSeconds: cfg.Duration.Seconds(), Ramp: cfg.Ramp,
		Churn: cfg.Churn, Sample: cfg.Sample.String(), SampledClients: sampled, V2: cfg.V2}
	conns, t, gappy := b.conns.closeBooks()
	res.Connections = conns
	sent := b.sent.Load()
	res.Writes = WriteStats{Sent: sent, SendErrors: b.sendErrors.Load(), Skipped: b.skipped.Load(), Acked: t.acked, Refused: t.refused}
	if s := steadyFor.Seconds(); s > 0 {
		res.Writes.SentPerSecond = float64(sent) / s
		res.Deliveries.PerSecond = float64(steadyDeliveries) / s
	}
	if b.ackSeen.Load() {
		res.Writes.Unanswered = t.unanswered
	}
	res.Deliveries.Total = t.delivered
	res.Deliveries.Missing = t.missing
	res.Deliveries.OutOfOrder = t.outOfOrder
	res.Deliveries.WithoutSeq = t.noSeq
	res.Deliveries.ClientsGaps = gappy
	if t.inOrder+t.missing > 0 {
		res.Deliveries.Completeness = float64(t.inOrder) / float64(t.inOrder+t.missing)
	}
	res.ErrorsByCode = b.errorsBy.counts()
	res.Latency.EndToEnd = summary(b.e2e.Merged())
	res.Latency.FanOut = summary(b.fanOut.Merged())
	if !b.ackSeen.Load() && sent > 0 {
		res.Warnings = append(res.Warnings, "no write id came back: the server does not echo ids, so acks are not counted")
	}
	if b.writes.sizeMismatch.Load() {
		res.Warnings = append(res.Warnings, "the servers reported different canvas sizes: they are not one canvas, so completeness and latency are unreliable")
	}
	if t.noSeq > 0 {
		res.Warnings = append(res.Warnings, "some deliveries carried no seq: completeness covers only those that did")
	}
}

// summary is what the results report for one histogram.
func summary(h *measure.Histogram) LatencySummary {
	s := LatencySummary{Count: h.Count()}
	if h.Count() == 0 {
		return s
	}
	s.MeanMs = ms(h.Mean())
	s.P50Ms = ms(h.Quantile(0.50))
	s.P95Ms = ms(h.Quantile(0.95))
	s.P99Ms = ms(h.Quantile(0.99))
	s.MaxMs = ms(h.Max())
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// printTable writes the results for a person to read.
func printTable(w io.Writer, r *Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	target := strings.Join(r.URLs, ", ")
	if r.Baseline {
		target += " (baseline)"
	}
	c := r.Config
	row("target", "%s", target)
	row("config", "%d clients, %g px/s, %gs, ramp %g/s, churn %g/s, %d sampled, v2 %v",
		c.Clients, c.Rate, c.DurationSeconds, c.Ramp, c.Churn, c.SampledClients, c.V2)
	row("phases", "ramp %.1fs, steady %.1fs, drain %.1fs%s", r.RampSeconds, r.SteadySeconds, r.DrainSeconds, map[bool]string{true: " (interrupted)"}[r.Interrupted])
	cs := r.Connections
	row("connections", "%d/%d succeeded (%.2f%%), peak open %d, churned %d, dropped %d",
		cs.Succeeded, cs.Attempts, 100*cs.SuccessRate, cs.PeakOpen, cs.Churned, cs.Dropped)
	row("connect time", "%s", latencyLine(cs.ConnectTime))
	if len(cs.Failures) > 0 {
		row("connect failures", "%s", measure.FormatCounts(cs.Failures, " "))
	}
	if len(cs.DropCodes) > 0 {
		row("drops by close code", "%s", measure.FormatCounts(cs.DropCodes, " "))
	}
	ws := r.Writes
	row("writes", "%d sent (%.1f/s), %d acked, %d refused, %d unanswered, %d send errors, %d skipped",
		ws.Sent, ws.SentPerSecond, ws.Acked, ws.Refused, ws.Unanswered, ws.SendErrors, ws.Skipped)
	ds := r.Deliveries
	row("deliveries", "%d total, %.0f/s steady", ds.Total, ds.PerSecond)
	row("completeness", "%.4f%% (%d missing in %d clients, %d out of order, %d without seq)",
		100*ds.Completeness, ds.Missing, ds.ClientsGaps, ds.OutOfOrder, ds.WithoutSeq)
	row("errors by code", "%s", measure.FormatCounts(r.ErrorsByCode, " "))
	row("latency e2e", "%s", latencyLine(r.Latency.EndToEnd))
	row("latency fan-out", "%s", latencyLine(r.Latency.FanOut))
	for _, wn := range r.Warnings {
		row("warning", "%s", wn)
	}
	_ = tw.Flush()
}

func latencyLine(l LatencySummary) string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.2fms  p95 %.2fms  p99 %.2fms  max %.2fms  (n=%d)", l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs, l.Count)
}
