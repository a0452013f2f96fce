package ws

// This file is the drain's pacing: when a gateway shuts down, its clients
// are sent away (1012) over a window rather than in one instant.

import "time"

// A gateway that closes all its connections at once sends its whole
// population onto the other gateways in the same instant, every client
// asking for a replay: 300 clients closed within 20 ms, measured, and the
// page reconnected with no delay at all. Spreading the closes evenly over
// DrainSpread (the page adds a random wait of its own, but old clients and
// bots do not) turns that spike into a ramp the others absorb.

// DefaultDrainSpread is the window a drain spreads its closes over when the
// options leave it zero: a few seconds, well inside the default 10 s
// shutdown timeout.
const DefaultDrainSpread = 3 * time.Second

// drainCloseMargin is kept at the end of the time a drain may take, for the
// last close handshakes and the stop hooks after the drain.
const drainCloseMargin = time.Second

// drainWindow is how long a drain started at now may spread its closes:
// spread, but never past the deadline (less drainCloseMargin) if there is
// one; never negative.
func drainWindow(spread time.Duration, now, deadline time.Time, hasDeadline bool) time.Duration {
	if hasDeadline {
		spread = min(spread, deadline.Sub(now)-drainCloseMargin)
	}
	return max(spread, 0)
}

// drainDelay is when, counted from the start of the drain, the i-th of n
// connections is closed: evenly over window, the first at once.
func drainDelay(i, n int, window time.Duration) time.Duration {
	if n <= 1 || window <= 0 {
		return 0
	}
	return time.Duration(int64(window) * int64(i) / int64(n))
}
