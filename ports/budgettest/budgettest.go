// Package budgettest is the contract every ports.Budget implementation
// passes: run it from the implementation's tests with a factory.
package budgettest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Factory builds a fresh, empty budget with the given rule.
type Factory func(t *testing.T, rule domain.RateRule) ports.Budget

// slow refills so slowly that no test sees a token come back by itself.
var slow = domain.RateRule{PerSecond: 0.001, Burst: 10}

// Run runs every case against budgets from newBudget.
func Run(t *testing.T, newBudget Factory) {
	ctx := context.Background()
	take := func(t *testing.T, b ports.Budget, key string, n int) (bool, time.Duration) {
		t.Helper()
		ok, retry, err := b.Take(ctx, key, n)
		if err != nil {
			t.Fatal(err)
		}
		return ok, retry
	}

	t.Run("a new key starts with the burst, all or none", func(t *testing.T) {
		b := newBudget(t, slow)
		if ok, _ := take(t, b, "192.0.2.1", 7); !ok {
			t.Fatal("7 of a burst of 10 refused")
		}
		ok, retry := take(t, b, "192.0.2.1", 4)
		if ok {
			t.Fatal("4 granted with 3 left")
		}
		if retry <= 0 || retry == domain.Forever {
			t.Fatalf("retry %v, want how long until 4 are there", retry)
		}
		if ok, _ := take(t, b, "192.0.2.1", 3); !ok {
			t.Fatal("the 3 left were not kept after a refused take")
		}
		if ok, _ := take(t, b, "192.0.2.1", 1); ok {
			t.Fatal("granted past the burst")
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		b := newBudget(t, slow)
		take(t, b, "192.0.2.1", 10)
		if ok, _ := take(t, b, "2001:db8::/64", 10); !ok {
			t.Fatal("another key was charged")
		}
	})

	t.Run("more than the burst is never granted", func(t *testing.T) {
		b := newBudget(t, slow)
		ok, retry := take(t, b, "k", 11)
		if ok || retry != domain.Forever {
			t.Fatalf("ok %v retry %v, want refused for ever", ok, retry)
		}
		if ok, _ := take(t, b, "k", 10); !ok {
			t.Fatal("the refused request cost tokens")
		}
	})

	t.Run("tokens come back at the rate", func(t *testing.T) {
		b := newBudget(t, domain.RateRule{PerSecond: 20, Burst: 2})
		take(t, b, "k", 2)
		start := time.Now()
		waitfor.True(t, 5*time.Second, "a token came back", func() bool { ok, _ := take(t, b, "k", 1); return ok })
		// 20/s: one token takes 50 ms; the test only checks it was not
		// granted at once, since the machine may be slow, never fast.
		if time.Since(start) < 40*time.Millisecond {
			t.Fatalf("a token came back after %v, before the rate allows", time.Since(start))
		}
	})

	t.Run("concurrent takes never exceed the burst", func(t *testing.T) {
		b := newBudget(t, slow)
		var granted atomic.Int64
		var wg sync.WaitGroup
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, _, err := b.Take(ctx, "shared", 1)
				if err != nil {
					t.Error(err)
				}
				if ok {
					granted.Add(1)
				}
			}()
		}
		wg.Wait()
		if granted.Load() != 10 {
			t.Fatalf("%d of 40 granted, want the burst of 10", granted.Load())
		}
	})
}
