package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func benchStore(b *testing.B, size domain.Size) (*redisstore.Store, *redis.Client) {
	b.Helper()
	r := redistest.Shared(b)
	r.Flush(b)
	client := r.Client(b)
	s, err := redisstore.Open(context.Background(), client, redisstore.Options{Size: size, HistorySize: redisstore.DefaultHistorySize})
	if err != nil {
		b.Fatal(err)
	}
	return s, client
}

func colourAt(x, y int) domain.Color { return domain.Color(x*7919+y*104729) & domain.White }

// BenchmarkSnapshot1000x1000 reads a canvas on which every pixel is painted:
// the cost of a client's initial load and of a gateway's resync. Painting a
// million pixels through Place takes about 20 s here, so the benchmark writes
// the two keys Snapshot reads directly, encoded as Place encodes them
// (TestRedisLayout pins that encoding).
//
//	go test -run '^$' -bench Snapshot1000 ./adapters/redis/redisstore/
func BenchmarkSnapshot1000x1000(b *testing.B) {
	ctx := context.Background()
	size := domain.Size{Width: 1000, Height: 1000}
	s, client := benchStore(b, size)
	stored := make([]byte, 3*size.Pixels())
	for i := range size.Pixels() {
		r, g, bl := colourAt(i%size.Width, i/size.Width).RGB()
		stored[3*i], stored[3*i+1], stored[3*i+2] = r^0xFF, g^0xFF, bl^0xFF
	}
	if err := client.MSet(ctx, redisstore.KeyPixels, stored, redisstore.KeySeq, size.Pixels()).Err(); err != nil {
		b.Fatal(err)
	}

	b.SetBytes(int64(3 * size.Pixels()))
	b.ResetTimer()
	for b.Loop() {
		snap, err := s.Snapshot(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if snap.Seq != domain.Seq(size.Pixels()) || snap.At(999, 998) != colourAt(999, 998) {
			b.Fatalf("snapshot seq %d, pixel (999,998) %v", snap.Seq, snap.At(999, 998))
		}
	}
}

// BenchmarkPlace is one single-pixel write per round trip, the way a REST
// request or one WebSocket message arrives; ops/s is the throughput of one
// caller (gateways run many in parallel).
//
//	go test -run '^$' -bench Place -benchtime 2s ./adapters/redis/redisstore/
func BenchmarkPlace(b *testing.B) {
	ctx := context.Background()
	size := domain.DefaultSize
	s, client := benchStore(b, size)
	defer scriptCost(b, client)()
	i := 0
	for b.Loop() {
		w := write(i%size.Width, (i/size.Width)%size.Height, domain.Color(i&0xFFFFFF), "bench", "")
		if _, err := s.Place(ctx, []domain.Write{w}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "places/s")
}

// BenchmarkPlaceParallel is single-pixel writes from several goroutines
// sharing one client, as on a busy gateway.
func BenchmarkPlaceParallel(b *testing.B) {
	ctx := context.Background()
	size := domain.DefaultSize
	s, client := benchStore(b, size)
	defer scriptCost(b, client)()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			w := write(i%size.Width, (i/size.Width)%size.Height, domain.Color(i&0xFFFFFF), "bench", "")
			if _, err := s.Place(ctx, []domain.Write{w}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "places/s")
}

// scriptCost reports what each script call cost Redis itself (INFO
// commandstats' usec_per_call of EVALSHA), which the machine's noise
// barely touches, unlike the round trip: call it at the start, and the
// function it returns at the end.
func scriptCost(b *testing.B, client *redis.Client) func() {
	b.Helper()
	if err := client.ConfigResetStat(context.Background()).Err(); err != nil {
		b.Fatal(err)
	}
	return func() {
		info, err := client.Info(context.Background(), "commandstats").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_evalsha:"); ok {
				for _, f := range strings.Split(rest, ",") {
					if v, ok := strings.CutPrefix(f, "usec_per_call="); ok {
						us, err := strconv.ParseFloat(v, 64)
						if err == nil {
							b.ReportMetric(us, "redis-us/script")
						}
					}
				}
			}
		}
	}
}
