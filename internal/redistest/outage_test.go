package redistest_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
)

func TestRestartKeepsPortAndData(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	addr := r.Addr()
	c := r.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	r.Stop(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded while the container is stopped")
	}
	r.Start(t)

	if r.Addr() != addr {
		t.Fatalf("address changed across a restart: %s -> %s", addr, r.Addr())
	}
	got, err := c.Get(ctx, "k").Result()
	if err != nil || got != "v" {
		t.Fatalf("after restart GET k = %q, %v; want v", got, err)
	}
}

// TestKillKeepsAcknowledgedWrites: a SIGKILLed Redis comes back with every
// write it answered, from its append-only file.
func TestKillKeepsAcknowledgedWrites(t *testing.T) {
	ctx := context.Background()
	r := redistest.Start(t)
	c := r.Client(t)
	const n = 2000
	for i := range n {
		if err := c.Set(ctx, "k"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r.Kill(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after the kill")
	}
	r.Start(t)
	if got, err := c.DBSize(ctx).Result(); err != nil || got != n {
		t.Fatalf("after SIGKILL and restart DBSIZE = %d, %v; want %d", got, err, n)
	}
	if got, err := c.Get(ctx, "k"+strconv.Itoa(n-1)).Int(); err != nil || got != n-1 {
		t.Fatalf("the last write before the kill: %d, %v", got, err)
	}
}
