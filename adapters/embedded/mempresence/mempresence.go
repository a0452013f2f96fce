// Package mempresence is an in-process ports.Presence for the all-in-one app
// and for tests. Entries expire by the injected clock, exactly as Redis keys
// with a TTL do, so the hub's presence logic behaves the same on both.
package mempresence

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// ErrBadEntry reports an announcement without a gateway id or with a
// lifetime that is not positive (it would vanish at once).
var ErrBadEntry = errors.New("mempresence: entry needs a gateway id and a positive ttl")

// Presence is the in-process registry; build it with New.
type Presence struct {
	clock   ports.Clock
	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	presence domain.GatewayPresence
	expires  time.Time
}

var _ ports.Presence = (*Presence)(nil)

// New returns an empty registry that reads the time from clock.
func New(clock ports.Clock) *Presence {
	return &Presence{clock: clock, entries: map[string]entry{}}
}

// Announce replaces the gateway's entry; it is listed until ttl from now
// unless announced again.
func (p *Presence) Announce(ctx context.Context, g domain.GatewayPresence, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if g.GatewayID == "" || ttl <= 0 {
		return ErrBadEntry
	}
	g.Users = slices.Clone(g.Users) // the caller may reuse its slice
	p.mu.Lock()
	defer p.mu.Unlock()
	p.entries[g.GatewayID] = entry{presence: g, expires: p.clock.Now().Add(ttl)}
	return nil
}

// Withdraw removes the gateway's entry, if any.
func (p *Presence) Withdraw(ctx context.Context, gatewayID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.entries, gatewayID)
	return nil
}

// List returns copies of the live entries in gateway id order and forgets
// the expired ones.
func (p *Presence) List(ctx context.Context) ([]domain.GatewayPresence, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	out := make([]domain.GatewayPresence, 0, len(p.entries))
	for id, e := range p.entries {
		if !now.Before(e.expires) {
			delete(p.entries, id)
			continue
		}
		g := e.presence
		g.Users = slices.Clone(g.Users)
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b domain.GatewayPresence) int { return strings.Compare(a.GatewayID, b.GatewayID) })
	return out, nil
}
