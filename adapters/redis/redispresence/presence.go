// Package redispresence is the registry of live gateways, on Redis.
//
// Each gateway's entry is a string key with a TTL, {presence}:gw:<id>, so an
// entry of a gateway that died disappears on its own. Listing must not scan
// the keyspace (KEYS and SCAN are slow on a big Redis and block it), so a
// sorted set, {presence}:gateways, indexes the ids, scored by when their
// entry expires; List prunes expired ids from it and reads the entries with
// one MGET, skipping any that expired in between. The {presence} hash tag
// puts every key in one slot, so the script and the MGET also work on a
// Redis Cluster.
package redispresence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Keys; see docs/architecture.md.
const (
	KeyEntryPrefix = "{presence}:gw:"
	KeyIndex       = "{presence}:gateways"
)

// KeyEntry is the key of one gateway's entry.
func KeyEntry(gatewayID string) string { return KeyEntryPrefix + gatewayID }

// Both scripts take the time from Redis, as the key TTLs do, so a gateway
// whose clock is behind cannot have its id pruned from the index while its
// entry still lives.
//
// announceScript: KEYS[1] entry, KEYS[2] index; ARGV[1] entry JSON,
// ARGV[2] ttl ms, ARGV[3] gateway id.
var announceScript = redis.NewScript(`
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], string.format('%.0f', now_ms + ttl), ARGV[3])
return 1
`)

// listScript: KEYS[1] index. Prunes expired ids and returns the others.
var listScript = redis.NewScript(`
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.0f', now_ms))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// entry is the JSON stored under {presence}:gw:<id>.
type entry struct {
	GatewayID   string   `json:"gw"`
	Connections int      `json:"n"`
	Users       []string `json:"users"`
}

// Presence implements ports.Presence.
type Presence struct {
	client redis.UniversalClient
}

var _ ports.Presence = (*Presence)(nil)

// New returns a presence registry on client.
func New(client redis.UniversalClient) *Presence { return &Presence{client: client} }

// Announce replaces the gateway's entry for ttl (at least a millisecond).
func (p *Presence) Announce(ctx context.Context, gp domain.GatewayPresence, ttl time.Duration) error {
	if gp.GatewayID == "" {
		return errors.New("redispresence: announce without a gateway id")
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("redispresence: ttl %v is shorter than a millisecond", ttl)
	}
	users := gp.Users
	if users == nil {
		users = []string{}
	}
	body, err := json.Marshal(entry{GatewayID: gp.GatewayID, Connections: gp.Connections, Users: users})
	if err != nil {
		return fmt.Errorf("redispresence: encode entry: %w", err)
	}
	err = announceScript.Run(ctx, p.client, []string{KeyEntry(gp.GatewayID), KeyIndex},
		body, strconv.FormatInt(ttl.Milliseconds(), 10), gp.GatewayID).Err()
	return redisconn.WrapUnavailable("redispresence: announce", err)
}

// Withdraw removes the gateway's entry and its index entry.
func (p *Presence) Withdraw(ctx context.Context, gatewayID string) error {
	_, err := p.client.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, KeyEntry(gatewayID))
		pipe.ZRem(ctx, KeyIndex, gatewayID)
		return nil
	})
	return redisconn.WrapUnavailable("redispresence: withdraw", err)
}

// List returns the live entries in gateway id order. An entry that cannot be
// decoded (written by something else) is left out rather than hiding every
// other gateway's users.
func (p *Presence) List(ctx context.Context) ([]domain.GatewayPresence, error) {
	ids, err := listScript.Run(ctx, p.client, []string{KeyIndex}).StringSlice()
	if err != nil {
		return nil, redisconn.WrapUnavailable("redispresence: list", err)
	}
	if len(ids) == 0 {
		return []domain.GatewayPresence{}, nil
	}
	sort.Strings(ids)
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = KeyEntry(id)
	}
	values, err := p.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, redisconn.WrapUnavailable("redispresence: list", err)
	}
	out := make([]domain.GatewayPresence, 0, len(values))
	for i, v := range values {
		s, ok := v.(string)
		if !ok { // nil: expired after the index was read
			continue
		}
		var e entry
		if err := json.Unmarshal([]byte(s), &e); err != nil || e.Connections < 0 {
			continue
		}
		out = append(out, domain.GatewayPresence{GatewayID: ids[i], Connections: e.Connections, Users: e.Users})
	}
	return out, nil
}
