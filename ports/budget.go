package ports

import (
	"context"
	"time"
)

// PixelBudget is the per-client pixel allowance shared by every process of
// a deployment (all gateways and the api): one token bucket per client key
// (an IPv4 address, an IPv6 /64), so that opening more connections, or
// spreading them over gateways, or switching between WebSocket and REST,
// buys no more pixels. The rule (rate and burst) is the implementation's,
// set when it is built.
type PixelBudget interface {
	// Take takes n tokens from key's bucket, all or none. When they are
	// not there, ok is false and retry says how long until they will be;
	// domain.Forever for more than the burst, which is never granted. An
	// unreachable backend is an error wrapping ErrUnavailable.
	Take(ctx context.Context, key string, n int) (ok bool, retry time.Duration, err error)
}
