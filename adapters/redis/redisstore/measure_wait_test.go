package redisstore_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/measure"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
)

// TestMeasureWaitCost: what REDIS_WAIT_REPLICAS=1 costs a write. Against
// a real master with one replica (and three Sentinels), through the
// failover client the apps use, single-pixel writes (one Place, as a
// WebSocket message or a REST request makes) first from one writer at a
// time (latency), then from 16 at once (throughput), each without and
// with the wait. Reports p50/p99 latency and writes/s; nothing is asserted
// about time.
//
//	PIXEL_MEASURE=1 PIXEL_REDIS_IMAGE=pixel-redis:local TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost \
//	  go test ./adapters/redis/redisstore -run MeasureWaitCost -count=1 -v
//
// PIXEL_MEASURE_SECONDS sets each phase's length (default 5).
func TestMeasureWaitCost(t *testing.T) {
	if os.Getenv("PIXEL_MEASURE") == "" {
		t.Skip("a measurement: PIXEL_MEASURE=1 to run it")
	}
	seconds, err := measure.EnvInt("PIXEL_MEASURE_SECONDS", 5)
	if err != nil || seconds == 0 {
		t.Fatalf("PIXEL_MEASURE_SECONDS: %v (want at least 1)", err)
	}
	phase := time.Duration(seconds) * time.Second
	set := redistest.StartSentinels(t, redistest.SentinelOptions{AppendFsync: "everysec"})
	client := set.Client(t, nil)
	size := domain.Size{Width: 1024, Height: 1024}
	// Three rounds, the order of with and without alternating, since the
	// machine's other load drifts.
	for round := range 3 {
		for _, writers := range []int{1, 16} {
			waits := []redisstore.WaitOptions{{}, haWait}
			if round%2 == 1 {
				slices.Reverse(waits)
			}
			for _, wait := range waits {
				s, err := redisstore.Open(context.Background(), client, redisstore.Options{Size: size, Wait: wait})
				if err != nil {
					t.Fatal(err)
				}
				lat, failed := measureSingleWrites(s, size, writers, phase)
				t.Logf("round %d, %2d writers, wait for %d replica(s): %6.0f writes/s, latency p50 %s p99 %s (%d writes, %d failed)",
					round+1, writers, wait.Replicas, float64(len(lat))/phase.Seconds(),
					redistest.Percentile(lat, 50).Round(time.Microsecond), redistest.Percentile(lat, 99).Round(time.Microsecond), len(lat), failed)
				// A failed write is one the replica did not confirm within
				// the timeout (a starved machine): part of the cost, not a
				// fault of the measurement.
			}
		}
	}
}

// measureSingleWrites runs writers placing one pixel per call for d and returns
// the sorted latencies of the accepted writes and the failures.
// Failures are reported, not fatal.
func measureSingleWrites(s *redisstore.Store, size domain.Size, writers int, d time.Duration) ([]time.Duration, int) {
	var mu sync.Mutex
	var all []time.Duration
	failed := 0
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for i := 0; time.Now().Before(end); i++ {
				w := domain.Write{Pixel: domain.Pixel{X: (g*7919 + i) % size.Width, Y: (i / size.Width) % size.Height, Color: domain.Color(i)}, Username: "m"}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				start := time.Now()
				_, err := s.Place(ctx, []domain.Write{w})
				took := time.Since(start)
				cancel()
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			all = append(all, mine...)
			failed += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return all, failed
}
