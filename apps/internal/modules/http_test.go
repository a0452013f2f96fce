package modules

import (
	"context"
	"testing"
	"time"
)

func TestKeepBack(t *testing.T) {
	t.Run("reserve kept before the deadline", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ctx, cancel2 := keepBack(parent, 2*time.Second)
		defer cancel2()
		pd, _ := parent.Deadline()
		d, ok := ctx.Deadline()
		if !ok || pd.Sub(d) != 2*time.Second {
			t.Fatalf("deadline %v before the parent's, want 2s", pd.Sub(d))
		}
	})
	t.Run("never more than half the time left", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ctx, cancel2 := keepBack(parent, 2*time.Second)
		defer cancel2()
		pd, _ := parent.Deadline()
		d, _ := ctx.Deadline()
		if gap := pd.Sub(d); gap > time.Second+50*time.Millisecond || gap < 900*time.Millisecond {
			t.Fatalf("kept back %v of 2s, want about half", gap)
		}
	})
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
