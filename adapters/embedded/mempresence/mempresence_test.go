package mempresence

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/presencetest"
)

func TestContract(t *testing.T) {
	presencetest.Run(t, func(t *testing.T) func() ports.Presence {
		p := New(system.NewClock()) // one process: every "client" is the same registry
		return func() ports.Presence { return p }
	})
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestExpiryFollowsTheInjectedClock pins the boundary: an entry is gone
// exactly when its ttl has passed, as a Redis key is.
func TestExpiryFollowsTheInjectedClock(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	p := New(clock)
	ctx := context.Background()
	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw", Connections: 1}, 9*time.Second); err != nil {
		t.Fatal(err)
	}
	clock.advance(9*time.Second - time.Nanosecond)
	if got, _ := p.List(ctx); len(got) != 1 {
		t.Fatalf("before the ttl: %+v", got)
	}
	clock.advance(time.Nanosecond)
	if got, _ := p.List(ctx); len(got) != 0 {
		t.Fatalf("at the ttl: %+v", got)
	}
}

// TestExpiryOnTheSystemClock runs the contract's expiry and refresh cases
// on the wall clock the apps inject, in a synctest bubble: its time is
// exact, so the boundaries can be pinned without a fake clock and without
// waiting.
func TestExpiryOnTheSystemClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(system.NewClock())
		ctx := context.Background()
		const ttl = 300 * time.Millisecond
		for _, a := range []struct {
			id  string
			ttl time.Duration
		}{{"gw_lapses", ttl}, {"gw_refreshed", ttl}, {"gw_refreshed", time.Minute}} {
			if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: a.id, Connections: 1}, a.ttl); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(ttl - time.Nanosecond)
		if got, _ := p.List(ctx); len(got) != 2 {
			t.Fatalf("just before the ttl: %+v, want both entries", got)
		}
		time.Sleep(time.Nanosecond)
		if got, _ := p.List(ctx); len(got) != 1 || got[0].GatewayID != "gw_refreshed" {
			t.Fatalf("at the ttl: %+v, want only the refreshed entry", got)
		}
	})
}

func TestRejectsBadEntries(t *testing.T) {
	p := New(system.NewClock())
	ctx := context.Background()
	if err := p.Announce(ctx, domain.GatewayPresence{Connections: 1}, time.Second); !errors.Is(err, ErrBadEntry) {
		t.Errorf("no gateway id: err = %v", err)
	}
	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw"}, 0); !errors.Is(err, ErrBadEntry) {
		t.Errorf("zero ttl: err = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Announce(cancelled, domain.GatewayPresence{GatewayID: "gw"}, time.Second); err == nil {
		t.Error("a cancelled context must not announce")
	}
	if got, _ := p.List(ctx); len(got) != 0 {
		t.Errorf("rejected announcements were listed: %+v", got)
	}
}
