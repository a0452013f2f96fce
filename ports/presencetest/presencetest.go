// Package presencetest is the contract every ports.Presence implementation
// passes. An implementation's _test file calls Run with a Factory; the suite
// checks announcing, replacing, withdrawing, expiry and ordering as
// ports/presence.go documents them, and that entries of several canvases
// (keyed as domain.PresenceEntryID defines) live side by side in one
// registry without leaking into each other's view.
package presencetest

import (
	"context"
	"fmt"
	"maps"
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
	t.Run("TwoCanvasesIsolated", func(t *testing.T) { testTwoCanvases(t, open) })
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

// testTwoCanvases: two gateways each serve main and two canvases, "alpha"
// and "alpha-2" (one slug the prefix of the other, so a filter that
// matched by prefix would mix them). Each canvas's view (domain.PresenceOf
// over one List) holds its own entries only; withdrawing one canvas's
// entry of a gateway leaves that gateway's other canvases and the other
// gateway's entry of the same canvas; an entry lapses alone; and
// domain.OnlineByCanvas counts every canvas from one List.
func testTwoCanvases(t *testing.T, open Factory) {
	newClient := open(t)
	gwA, gwB := newClient(), newClient() // one client per gateway, as two processes
	const alpha, alpha2 = domain.Slug("alpha"), domain.Slug("alpha-2")
	entry := func(gw string, slug domain.Slug, n int, users ...string) domain.GatewayPresence {
		return domain.GatewayPresence{GatewayID: domain.PresenceEntryID(gw, slug), Connections: n, Users: users}
	}
	mainA, mainB := entry("gw_a", domain.MainSlug, 1, "Al"), entry("gw_b", "", 2)
	alphaA, alphaB := entry("gw_a", alpha, 3, "Ann", "Bo"), entry("gw_b", alpha, 4, "Cy")
	alpha2B := entry("gw_b", alpha2, 5, "Di")
	announce(t, gwA, mainA, longTTL)
	announce(t, gwA, alphaA, longTTL)
	announce(t, gwB, mainB, longTTL)
	announce(t, gwB, alphaB, longTTL)
	announce(t, gwB, alpha2B, longTTL)

	view := func(t *testing.T, p ports.Presence, slug domain.Slug, expected ...domain.GatewayPresence) {
		t.Helper()
		if got := domain.PresenceOf(list(t, p), slug); !same(got, expected) {
			t.Errorf("canvas %q sees %+v, want %+v", slug, got, expected)
		}
	}
	online := func(t *testing.T, p ports.Presence, expected map[domain.Slug]int) {
		t.Helper()
		if got := domain.OnlineByCanvas(list(t, p)); !maps.Equal(got, expected) {
			t.Errorf("OnlineByCanvas = %v, want %v", got, expected)
		}
	}

	// Every entry is kept under its own key, whichever client wrote it.
	want(t, gwA, mainA, alphaA, mainB, alphaB, alpha2B)
	for _, p := range []ports.Presence{gwA, gwB} {
		view(t, p, domain.MainSlug, mainA, mainB)
		view(t, p, alpha, alphaA, alphaB)
		view(t, p, alpha2, alpha2B)
		view(t, p, "nobody-here")
		online(t, p, map[domain.Slug]int{domain.MainSlug: 3, alpha: 7, alpha2: 5})
	}
	if got := domain.MergePresence(domain.PresenceOf(list(t, gwA), alpha)); got.ActiveUsers != 7 || !slices.Equal(got.Users, []string{"Ann", "Bo", "Cy"}) {
		t.Errorf("alpha's merged view = %+v, want 7 connections and Ann, Bo, Cy", got)
	}

	// gw_b's hub for alpha stops: its other canvases and gw_a's alpha stay.
	if err := gwB.Withdraw(ctx(t), domain.PresenceEntryID("gw_b", alpha)); err != nil {
		t.Fatalf("Withdraw: %v", err)
	}
	want(t, gwA, mainA, alphaA, mainB, alpha2B)
	view(t, gwA, alpha, alphaA)
	view(t, gwA, alpha2, alpha2B)
	view(t, gwA, domain.MainSlug, mainA, mainB)
	online(t, gwA, map[domain.Slug]int{domain.MainSlug: 3, alpha: 3, alpha2: 5})

	// A gateway's entry for one canvas lapses on its own ttl; the same
	// gateway's entries for main and alpha, announced with a long one, live on.
	lapses := entry("gw_a", alpha2, 6, "Ed")
	announce(t, gwA, lapses, shortTTL)
	view(t, gwB, alpha2, lapses, alpha2B)
	online(t, gwB, map[domain.Slug]int{domain.MainSlug: 3, alpha: 3, alpha2: 11})
	waitfor.Until(t, lapseTimeout, func() error {
		if got := domain.PresenceOf(list(t, gwB), alpha2); !same(got, []domain.GatewayPresence{alpha2B}) {
			return fmt.Errorf("after a %v ttl, alpha-2 sees %+v, want only gw_b's entry", shortTTL, got)
		}
		return nil
	})
	want(t, gwB, mainA, alphaA, mainB, alpha2B)
	online(t, gwB, map[domain.Slug]int{domain.MainSlug: 3, alpha: 3, alpha2: 5})

	// A whole gateway leaving (every hub withdraws) leaves the other's.
	for _, e := range []domain.GatewayPresence{mainA, alphaA} {
		if err := gwA.Withdraw(ctx(t), e.GatewayID); err != nil {
			t.Fatalf("Withdraw(%s): %v", e.GatewayID, err)
		}
	}
	want(t, gwB, mainB, alpha2B)
	view(t, gwB, alpha)
	online(t, gwB, map[domain.Slug]int{domain.MainSlug: 2, alpha2: 5})
}
