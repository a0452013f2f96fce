package rest

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// countingStore counts whole-canvas reads.
type countingStore struct {
	ports.CanvasStore
	reads atomic.Int64
}

func (c *countingStore) Snapshot(ctx context.Context) (domain.Snapshot, error) {
	c.reads.Add(1)
	return c.CanvasStore.Snapshot(ctx)
}

// BenchmarkCanvasRawReloadStorm is many clients loading a 2048×2048 canvas
// at once, as after a gateway restart: store-reads/op is how many of the
// requests cost a 12 MB read out of the store, B/op what each request
// allocated.
func BenchmarkCanvasRawReloadStorm(b *testing.B) {
	size := domain.Size{Width: 2048, Height: 2048}
	st, err := logstore.Open(logstore.Options{Size: size, Bus: membus.New(), Clock: system.NewClock()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	store := &countingStore{CanvasStore: st}
	api := New(Options{Store: store, Log: slog.New(slog.DiscardHandler)})
	r := router.New()
	api.Register(r)
	handler := r.Handler
	b.SetParallelism(16) // 16 requests per CPU in flight
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI("/api/canvas/raw")
			handler(&ctx)
			if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != 3*size.Pixels() {
				b.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
			}
		}
	})
	b.ReportMetric(float64(store.reads.Load())/float64(b.N), "store-reads/op")
}
