package redispresence_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redispresence"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/presencetest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestContract(t *testing.T) {
	presencetest.Run(t, func(t *testing.T) func() ports.Presence {
		r := redistest.Shared(t)
		r.Flush(t)
		return func() ports.Presence { return redispresence.New(r.Client(t)) }
	})
}

// TestContractOnCluster runs the same contract through a cluster client on
// a Redis Cluster of three nodes, each owning a third of the slots: the
// client must find the node that owns {presence} (a plain client would get
// MOVED from the others), and a script or an MGET whose keys span slots
// would fail with CROSSSLOT, so presence's keys must share one hash slot.
func TestContractOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	presencetest.Run(t, func(t *testing.T) func() ports.Presence {
		c.Flush(t)
		return func() ports.Presence { return redispresence.New(c.Client(t)) }
	})
}

// TestIndexIsPrunedAndKeysExpire checks the layout: the entry key carries
// the TTL, and List drops ids whose entries lapsed from the index, so the
// index does not grow with every gateway that ever lived.
func TestIndexIsPrunedAndKeysExpire(t *testing.T) {
	ctx := context.Background()
	r := redistest.Shared(t)
	r.Flush(t)
	client := r.Client(t)
	p := redispresence.New(client)

	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw_short", Connections: 1}, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw_long", Connections: 2}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl, err := client.PTTL(ctx, redispresence.KeyEntry("gw_long")).Result(); err != nil || ttl <= 50*time.Second || ttl > time.Minute {
		t.Errorf("entry TTL = %v, %v; want about a minute", ttl, err)
	}
	if ids, err := client.ZRange(ctx, redispresence.KeyIndex, 0, -1).Result(); err != nil || len(ids) != 2 {
		t.Fatalf("index after two announcements = %v, %v; want both ids", ids, err)
	}
	// Once gw_short's 200ms have passed (by Redis's clock), a List must
	// leave it out and prune it from the index; only List prunes, so the
	// index holding only gw_long afterwards is List's doing.
	waitfor.Until(t, 5*time.Second, func() error {
		got, err := p.List(ctx)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].GatewayID != "gw_long" {
			return fmt.Errorf("List = %+v, want only gw_long", got)
		}
		ids, err := client.ZRange(ctx, redispresence.KeyIndex, 0, -1).Result()
		if err != nil || len(ids) != 1 || ids[0] != "gw_long" {
			return fmt.Errorf("index after List = %v, %v; want [gw_long]", ids, err)
		}
		return nil
	})
	if n, err := client.Exists(ctx, redispresence.KeyEntry("gw_short")).Result(); err != nil || n != 0 {
		t.Errorf("gw_short's entry still exists after its id was pruned (%d, %v)", n, err)
	}
}

// TestCorruptEntryIsSkipped: something else wrote garbage under a gateway's
// key; the other gateways are still listed.
func TestCorruptEntryIsSkipped(t *testing.T) {
	ctx := context.Background()
	r := redistest.Shared(t)
	r.Flush(t)
	client := r.Client(t)
	p := redispresence.New(client)
	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw_ok", Connections: 1, Users: []string{"A"}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw_bad", Connections: 1}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := client.Set(ctx, redispresence.KeyEntry("gw_bad"), "{not json", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := p.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].GatewayID != "gw_ok" {
		t.Errorf("List = %+v, want only gw_ok", got)
	}
}

func TestBadAnnouncementsAreRefused(t *testing.T) {
	p := redispresence.New(redistest.Shared(t).Client(t))
	ctx := context.Background()
	if err := p.Announce(ctx, domain.GatewayPresence{Connections: 1}, time.Minute); err == nil {
		t.Error("announce without a gateway id succeeded")
	}
	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw"}, 0); err == nil {
		t.Error("announce with a zero ttl succeeded")
	}
}

func TestOutageIsUnavailable(t *testing.T) {
	r := redistest.Start(t)
	p := redispresence.New(r.Client(t))
	r.Stop(t)
	ctx := context.Background()
	if _, err := p.List(ctx); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("List while Redis is down: %v, want ErrUnavailable", err)
	}
	if err := p.Announce(ctx, domain.GatewayPresence{GatewayID: "gw"}, time.Second); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("Announce while Redis is down: %v, want ErrUnavailable", err)
	}
}
