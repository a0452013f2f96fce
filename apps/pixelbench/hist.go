package main

import (
	"time"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

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
