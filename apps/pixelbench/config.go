package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds on a run, so a typo cannot turn the tool into a denial of service
// against the machine it runs on.
const (
	maxClients  = 20000
	maxDuration = 10 * time.Minute
	maxRate     = 1_000_000
	maxChurn    = 10_000
	maxDrain    = time.Minute
	// dialConcurrency bounds handshakes in flight, whatever -ramp says, so
	// a slow server faces a queue of dials rather than a stampede.
	dialConcurrency = 256
	// serverPixelRate and serverPixelBurst are the servers' default
	// per-connection limit (PIXEL_RATE, PIXEL_BURST).
	serverPixelRate  = 20
	serverPixelBurst = 40
)

// Config is one run.
type Config struct {
	URLs           []string
	Clients        int
	Rate           float64 // pixels per second across all clients
	Duration       time.Duration
	Ramp           float64 // new connections per second while ramping up
	Churn          float64 // connects+disconnects per second during the run
	Sample         Sample
	V2             bool
	Drain          time.Duration // longest wait for in-flight deliveries after sending stops
	ConnectTimeout time.Duration
	Progress       time.Duration // period of progress lines; 0 for none
}

// Sample says which clients measure latency: a fraction of them, or a
// count.
type Sample struct {
	Fraction float64
	Count    int
}

// parseSample reads "0.1" or "10%" as a fraction and "50" as a count, so
// "1" (one client) and "1.0" (all of them) are both expressible.
func parseSample(s string) (Sample, error) {
	s = strings.TrimSpace(s)
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(pct, 64)
		if err != nil || f < 0 || f > 100 {
			return Sample{}, fmt.Errorf("bad sample %q: want a percentage 0-100%%", s)
		}
		return Sample{Fraction: f / 100}, nil
	}
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > 1 {
			return Sample{}, fmt.Errorf("bad sample %q: a fraction is 0..1", s)
		}
		return Sample{Fraction: f}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Sample{}, fmt.Errorf("bad sample %q: want a fraction (0.1, 10%%) or a count (50)", s)
	}
	return Sample{Count: n}, nil
}

func (s Sample) String() string {
	if s.Count > 0 || s.Fraction == 0 {
		return strconv.Itoa(s.Count)
	}
	return strconv.FormatFloat(s.Fraction, 'g', -1, 64)
}

// of is how many of n clients are sampled.
func (s Sample) of(n int) int {
	if s.Count > 0 {
		return min(s.Count, n)
	}
	k := int(s.Fraction*float64(n) + 0.5)
	if k == 0 && s.Fraction > 0 && n > 0 {
		k = 1
	}
	return min(k, n)
}

// check validates a configuration and says what is doubtful about it.
func (c Config) check() (warnings []string, err error) {
	switch {
	case len(c.URLs) == 0:
		return nil, errors.New("no -url")
	case c.Clients < 1 || c.Clients > maxClients:
		return nil, fmt.Errorf("-clients must be 1..%d", maxClients)
	case c.Rate < 0 || c.Rate > maxRate:
		return nil, fmt.Errorf("-rate must be 0..%d", maxRate)
	case c.Duration <= 0 || c.Duration > maxDuration:
		return nil, fmt.Errorf("-duration must be >0 and at most %v", maxDuration)
	case c.Ramp <= 0:
		return nil, errors.New("-ramp must be > 0")
	case c.Churn < 0 || c.Churn > maxChurn:
		return nil, fmt.Errorf("-churn must be 0..%d", maxChurn)
	case c.Drain < 0 || c.Drain > maxDrain:
		return nil, fmt.Errorf("-drain must be 0..%v", maxDrain)
	case c.ConnectTimeout <= 0:
		return nil, errors.New("-connect-timeout must be > 0")
	}
	for _, u := range c.URLs {
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			return nil, fmt.Errorf("-url %q: want ws:// or wss://", u)
		}
	}
	if per := c.Rate / float64(c.Clients); per > serverPixelRate {
		warnings = append(warnings, fmt.Sprintf(
			"%.1f px/s per client exceeds the servers' default limit of %d/s per connection (burst %d): expect rate_limited errors; add clients or lower -rate",
			per, serverPixelRate, serverPixelBurst))
	}
	return warnings, nil
}
