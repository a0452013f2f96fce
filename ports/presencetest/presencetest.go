// Package presencetest is the contract every ports.Presence implementation
// passes. An implementation's _test file calls Run with a Factory; the suite
// checks announcing, replacing, withdrawing, expiry and ordering as
// ports/presence.go documents them.
package presencetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Factory prepares one empty backend for a test and returns a constructor:
// each call of it gives another client of that same backend, as another
// process would have. Clean-up goes through t.Cleanup.
type Factory func(t *testing.T) func() ports.Presence

// longTTL outlives any test, so only the expiry tests depend on time.
const longTTL = time.Minute

// shortTTL is the life of an entry meant to lapse during a test, and
// lapseTimeout how long the suite waits for it to: generous, because the
// machine running the suite may be busy; the suite only waits that long when
// something is wrong.
const (
	shortTTL     = 300 * time.Millisecond
	lapseTimeout = 10 * time.Second
)

// Run runs the whole contract.
func Run(t *testing.T, open Factory) {
	t.Run("EmptyListsNothing", func(t *testing.T) { testEmpty(t, open) })
	t.Run("AnnounceThenList", func(t *testing.T) { testAnnounce(t, open) })
	t.Run("ReannounceReplaces", func(t *testing.T) { testReplace(t, open) })
	t.Run("WithdrawRemoves", func(t *testing.T) { testWithdraw(t, open) })
	t.Run("LapsedEntryDisappears", func(t *testing.T) { testExpiry(t, open) })
	t.Run("ReannounceExtendsLife", func(t *testing.T) { testRefresh(t, open) })
	t.Run("TwoClientsSortedByGateway", func(t *testing.T) { testTwoClients(t, open) })
	t.Run("CallerSlicesAreNotShared", func(t *testing.T) { testNoAliasing(t, open) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func announce(t *testing.T, p ports.Presence, g domain.GatewayPresence, ttl time.Duration) {
	t.Helper()
	if err := p.Announce(ctx(t), g, ttl); err != nil {
		t.Fatalf("Announce(%+v): %v", g, err)
	}
}

func list(t *testing.T, p ports.Presence) []domain.GatewayPresence {
	t.Helper()
	got, err := p.List(ctx(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return got
}

// same compares entries, treating nil and empty user lists alike (a
// backend that serializes them cannot tell them apart).
func same(a, b []domain.GatewayPresence) bool {
	return slices.EqualFunc(a, b, func(x, y domain.GatewayPresence) bool {
		return x.GatewayID == y.GatewayID && x.Connections == y.Connections && slices.Equal(x.Users, y.Users)
	})
}

func want(t *testing.T, p ports.Presence, expected ...domain.GatewayPresence) {
	t.Helper()
	if got := list(t, p); !same(got, expected) {
		t.Errorf("List = %+v, want %+v", got, expected)
	}
}

func testEmpty(t *testing.T, open Factory) {
	p := open(t)()
	if got := list(t, p); len(got) != 0 {
		t.Errorf("List on an empty registry = %+v", got)
	}
}

func testAnnounce(t *testing.T, open Factory) {
	p := open(t)()
	g := domain.GatewayPresence{GatewayID: "gw_one", Connections: 3, Users: []string{"Zoë", "Al", "Al"}}
	announce(t, p, g, longTTL)
	want(t, p, g)
	anon := domain.GatewayPresence{GatewayID: "gw_two", Connections: 2}
	announce(t, p, anon, longTTL)
	want(t, p, g, anon)
}

func testReplace(t *testing.T, open Factory) {
	p := open(t)()
	announce(t, p, domain.GatewayPresence{GatewayID: "gw", Connections: 3, Users: []string{"A", "B"}}, longTTL)
	next := domain.GatewayPresence{GatewayID: "gw", Connections: 1, Users: []string{"C"}}
	announce(t, p, next, longTTL)
	want(t, p, next)
}

func testWithdraw(t *testing.T, open Factory) {
	p := open(t)()
	stays := domain.GatewayPresence{GatewayID: "gw_stays", Connections: 1}
	announce(t, p, domain.GatewayPresence{GatewayID: "gw_leaves", Connections: 1, Users: []string{"A"}}, longTTL)
	announce(t, p, stays, longTTL)
	if err := p.Withdraw(ctx(t), "gw_leaves"); err != nil {
		t.Fatalf("Withdraw: %v", err)
	}
	want(t, p, stays)
	if err := p.Withdraw(ctx(t), "gw_never_there"); err != nil {
		t.Errorf("Withdraw of an unknown gateway: %v", err)
	}
	want(t, p, stays)
}

func testExpiry(t *testing.T, open Factory) {
	p := open(t)()
	stays := domain.GatewayPresence{GatewayID: "gw_alive", Connections: 1}
	announce(t, p, stays, longTTL)
	announce(t, p, domain.GatewayPresence{GatewayID: "gw_dies", Connections: 4}, shortTTL)
	if got := list(t, p); len(got) != 2 {
		t.Fatalf("right after announcing, List = %+v, want both entries", got)
	}
	waitfor.Until(t, lapseTimeout, func() error {
		if got := list(t, p); !same(got, []domain.GatewayPresence{stays}) {
			return fmt.Errorf("after a %v ttl, List = %+v, want only gw_alive", shortTTL, got)
		}
		return nil
	})
}

func testRefresh(t *testing.T, open Factory) {
	p := open(t)()
	g := domain.GatewayPresence{GatewayID: "gw", Connections: 1}
	announce(t, p, g, shortTTL)
	announce(t, p, g, longTTL)
	// What must not happen is gw lapsing with its first ttl. A probe
	// announced now with that ttl lapses after it would have, so once the
	// probe is gone, gw's first ttl has passed too.
	announce(t, p, domain.GatewayPresence{GatewayID: "gw_probe", Connections: 1}, shortTTL)
	waitfor.Until(t, lapseTimeout, func() error {
		for _, e := range list(t, p) {
			if e.GatewayID == "gw_probe" {
				return fmt.Errorf("the probe announced with a %v ttl is still listed", shortTTL)
			}
		}
		return nil
	})
	want(t, p, g)
}

func testTwoClients(t *testing.T, open Factory) {
	newClient := open(t)
	one, two := newClient(), newClient()
	b := domain.GatewayPresence{GatewayID: "gw_b", Connections: 2, Users: []string{"Bea"}}
	a := domain.GatewayPresence{GatewayID: "gw_a", Connections: 1, Users: []string{"Al"}}
	c := domain.GatewayPresence{GatewayID: "gw_c", Connections: 5}
	announce(t, one, b, longTTL)
	announce(t, two, c, longTTL)
	announce(t, two, a, longTTL)
	want(t, one, a, b, c)
	want(t, two, a, b, c)
}

func testNoAliasing(t *testing.T, open Factory) {
	p := open(t)()
	users := []string{"A", "B"}
	announce(t, p, domain.GatewayPresence{GatewayID: "gw", Connections: 2, Users: users}, longTTL)
	users[0] = "changed by the caller"
	got := list(t, p)
	if len(got) == 1 && len(got[0].Users) == 2 {
		got[0].Users[1] = "changed by a reader"
	}
	want(t, p, domain.GatewayPresence{GatewayID: "gw", Connections: 2, Users: []string{"A", "B"}})
}
