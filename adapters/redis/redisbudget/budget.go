// Package redisbudget is the ports.Budget of the split deployment: one
// token bucket per client key in Redis, shared by every gateway and the api,
// so that a client's connections spread over gateways share one budget.
//
// A bucket is one hash, updated by one script (read, refill, take, write,
// all atomic), timed by Redis's own clock so that every process refills
// against the same one. Each key has its own hash tag, so on a Redis
// Cluster the buckets spread over every shard. A bucket expires once it
// would be full again: an idle client costs nothing.
package redisbudget

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// take is domain.TakeTokens in Lua. KEYS[1] is the bucket; ARGV: rate per
// second, burst, n. It returns {granted (1/0), wait in µs (-1: never)}.
// Tokens are stored with '%.6f': tostring would keep only 14 digits, and
// the timestamp, an integer of µs, with '%.0f' for the same reason.
var take = redis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
local elapsed = now - ts
if elapsed > 0 then
  tokens = math.min(tokens + elapsed / 1000000 * rate, burst)
  ts = now
end
local granted = 0
local wait = 0
if tokens >= n then
  tokens = tokens - n
  granted = 1
elseif n > burst or rate <= 0 then
  wait = -1
else
  wait = math.ceil((n - tokens) / rate * 1000000)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.0f', ts))
local full_in_ms = 60000
if rate > 0 then full_in_ms = math.ceil((burst - tokens) / rate * 1000) + 1000 end
redis.call('PEXPIRE', KEYS[1], full_in_ms)
return {granted, wait}
`)

// Budget is the Redis budget.
type Budget struct {
	client redis.UniversalClient
	rule   domain.RateRule
	rate   string
	burst  string
}

var _ ports.Budget = (*Budget)(nil)

// New builds a budget with the rule on client.
func New(client redis.UniversalClient, rule domain.RateRule) *Budget {
	return &Budget{client: client, rule: rule,
		rate: strconv.FormatFloat(rule.PerSecond, 'f', -1, 64), burst: strconv.Itoa(rule.Burst)}
}

// key is the bucket's name; the client key is its own hash tag.
func key(client string) string { return "budget:{" + client + "}" }

// Take implements ports.Budget.
func (b *Budget) Take(ctx context.Context, client string, n int) (bool, time.Duration, error) {
	if n > b.rule.Burst {
		// Never granted: no need to ask Redis, and no tokens are taken.
		return false, domain.Forever, nil
	}
	res, err := take.Run(ctx, b.client, []string{key(client)}, b.rate, b.burst, n).Int64Slice()
	if err != nil {
		return false, 0, redisconn.WrapUnavailable("pixel budget", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("pixel budget: unexpected reply %v", res)
	}
	switch {
	case res[0] == 1:
		return true, 0, nil
	case res[1] < 0:
		return false, domain.Forever, nil
	default:
		return false, time.Duration(res[1]) * time.Microsecond, nil
	}
}
