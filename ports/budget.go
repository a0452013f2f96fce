package ports

import (
	"context"
	"time"
)

// Budget is one token bucket per client key (an IPv4 address, an IPv6 /64),
// shared by every process that uses the same backend. Its main use is the
// per-client pixel budget shared by all gateways and the api, so that
// opening more connections, spreading them over gateways, or switching
// between WebSocket and REST buys no more pixels; the same kind of bucket
// limits REST requests and failed operator logins. The rule (rate and
// burst) is the implementation's, set when it is built.
type Budget interface {
	// Take takes n tokens from key's bucket, all or none. When they are
	// not there, ok is false and retry says how long until they will be;
	// domain.Forever for more than the burst, which is never granted. An
	// unreachable backend is an error wrapping ErrUnavailable.
	Take(ctx context.Context, key string, n int) (ok bool, retry time.Duration, err error)
}
