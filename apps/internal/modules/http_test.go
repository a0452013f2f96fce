package modules

import (
	"context"
	"testing"
	"time"
)

func TestKeepBack(t *testing.T) {
	for _, tc := range []struct {
		name            string
		left, reserve   time.Duration
		wantKept, slack time.Duration
	}{
		{"reserve kept before the deadline", 10 * time.Second, 2 * time.Second, 2 * time.Second, 0},
		// time.Until is read a moment after the parent's deadline was set.
		{"never more than half the time left", 2 * time.Second, 2 * time.Second, time.Second, 100 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, cancel := context.WithTimeout(context.Background(), tc.left)
			defer cancel()
			ctx, cancel2 := keepBack(parent, tc.reserve)
			defer cancel2()
			pd, _ := parent.Deadline()
			d, ok := ctx.Deadline()
			if kept := pd.Sub(d); !ok || kept > tc.wantKept || kept < tc.wantKept-tc.slack {
				t.Fatalf("kept back %v of %v, want %v", kept, tc.left, tc.wantKept)
			}
		})
	}
	t.Run("no deadline, none added", func(t *testing.T) {
		ctx, cancel := keepBack(context.Background(), time.Second)
		if _, ok := ctx.Deadline(); ok {
			t.Fatal("a deadline appeared")
		}
		cancel()
		if ctx.Err() == nil {
			t.Fatal("cancel does not end it")
		}
	})
}
