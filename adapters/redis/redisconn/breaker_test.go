package redisconn_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// TestFrozenRedisIsRefusedAtOnce: once a call has waited out a timeout on
// a frozen Redis (SIGSTOP), the next calls fail at once with
// ErrBreakerOpen instead of each waiting again, and the client takes
// calls again once Redis answers.
func TestFrozenRedisIsRefusedAtOnce(t *testing.T) {
	r := redistest.StartWith(t)
	c := r.Client(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Freeze(t)
	thawed := false
	t.Cleanup(func() {
		if !thawed {
			r.Thaw(t)
		}
	})
	call := func() error {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second) // a store call's deadline
		defer cancel()
		return redisconn.WrapUnavailable("set", c.Set(cctx, "k", 2, 0).Err())
	}
	// The first call waits out the read timeout (its retry inside go-redis
	// is already refused).
	if first := call(); !errors.Is(first, ports.ErrUnavailable) {
		t.Fatalf("first call to a frozen Redis: %v, want unavailable", first)
	}
	for i := range 5 {
		if err := call(); !errors.Is(err, redisconn.ErrBreakerOpen) || !errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("call %d after the timeout: %v, want ErrBreakerOpen at once", i+2, err)
		}
	}
	r.Thaw(t)
	thawed = true
	waitfor.Until(t, 10*time.Second, func() error { return call() })
}
