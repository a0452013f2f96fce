package ws

// Benchmarks of the hot paths: encoding an event, decoding a write, and
// fanning one event out to a thousand real connections.

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

func BenchmarkEncodeEvent(b *testing.B) {
	e := domain.Event{Kind: domain.PixelPlaced, Seq: 123456, Time: 1795316057524123, Pixel: domain.Pixel{X: 10, Y: 20, Color: 0xABCDEF}, Username: "Alice"}
	b.ReportAllocs()
	for b.Loop() {
		_ = encodeEvent(e, "")
	}
}

func BenchmarkDecodePixelUpdate(b *testing.B) {
	msg := []byte(`{"type":"pixel_update","x":10,"y":20,"color":"#abcdef","id":"w-123"}`)
	b.ReportAllocs()
	for b.Loop() {
		m, err := decodeInbound(msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, problem := place.Parse(m.pixelFields(), domain.DefaultSize); problem != place.OK {
			b.Fatal(problem)
		}
	}
}

// BenchmarkFanout1000 measures one gateway delivering every pixel to 1,000
// connected clients over real loopback sockets, at a steady offered rate:
// each op is one pixel delivered to all of them. It reports deliveries per
// second and the latency from the store accepting a write to a client
// reading it (sampled on every tenth client). The clients run in the same
// process, so they share the machine's two cores with the gateway.
//
//	go test ./adapters/inbound/ws -run XXX -bench Fanout1000 -benchtime 1500x
func BenchmarkFanout1000(b *testing.B) {
	for _, rate := range []int{100, 300, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchFanout(b, 1000, rate) })
	}
}

func benchFanout(b *testing.B, clients, rate int) {
	h := newHarness(b, harnessOptions{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var latencies []time.Duration
	conns := make([]*websocket.Conn, 0, clients)
	for i := 0; i < clients; i++ {
		c, _, err := dialWS(&websocket.Dialer{ReadBufferSize: 4096, WriteBufferSize: 256}, h.url)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	// Let the connect burst's presence traffic pass: once the view counts
	// every client, its last broadcast has gone out and no other follows.
	waitfor.True(b, 30*time.Second, "presence counting every client", func() bool { return h.hub.View().ActiveUsers == clients })
	b.ResetTimer()
	want := b.N
	marker, tsKey := []byte(`"pixel_updated"`), []byte(`"timestamp":`)
	for i, c := range conns {
		wg.Add(1)
		go func(sample bool) {
			defer wg.Done()
			for got := 0; got < want; {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if !bytes.Contains(data, marker) {
					continue
				}
				got++
				if !sample {
					continue
				}
				at := time.Now()
				rest := data[bytes.Index(data, tsKey)+len(tsKey):]
				end := bytes.IndexAny(rest, ",}")
				ms, err := strconv.ParseFloat(string(rest[:end]), 64)
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				latencies = append(latencies, at.Sub(time.UnixMicro(int64(ms*1000))))
				mu.Unlock()
			}
		}(i%10 == 0)
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if _, err := h.store.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: i % 50, Y: i / 50 % 50, Color: domain.Color(i)}}}); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	}
	b.ReportMetric(float64(b.N*clients)/elapsed.Seconds(), "deliveries/s")
}
