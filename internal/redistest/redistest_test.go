package redistest_test

import (
	"context"
	"testing"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestSharedIsOneContainerAndFlushEmptiesIt(t *testing.T) {
	ctx := context.Background()
	a, b := redistest.Shared(t), redistest.Shared(t)
	if a != b || a.Addr() != b.Addr() {
		t.Fatalf("Shared started two containers: %s and %s", a.Addr(), b.Addr())
	}
	c := a.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	a.Flush(t)
	if n, err := c.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("after Flush DBSIZE = %d, %v; want 0", n, err)
	}
}
