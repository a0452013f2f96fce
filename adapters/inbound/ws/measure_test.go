package ws

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/canvasdir"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/mempresence"
	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// receivingBus counts what one gateway receives from the shared bus.
type receivingBus struct {
	ports.Bus
	pixels, other atomic.Int64
}

func (b *receivingBus) Subscribe(ctx context.Context, channels []string, handle func(ports.Message), resubscribed func()) error {
	return b.Bus.Subscribe(ctx, channels, func(m ports.Message) {
		if strings.HasPrefix(m.Channel, ports.ChannelPixelUpdates) {
			b.pixels.Add(1)
		} else {
			b.other.Add(1)
		}
		handle(m)
	}, resubscribed)
}

// TestMeasureBusTrafficPerGateway: 4 gateways, 200 canvases, each gateway
// serving the clients of a quarter of them; every canvas gets the same
// number of events. It reports the bus messages each gateway receives,
// against the single-channel design where each receives every event.
//
//	PIXEL_MEASURE=1 go test ./adapters/inbound/ws -run MeasureBusTraffic -v
func TestMeasureBusTrafficPerGateway(t *testing.T) {
	if os.Getenv("PIXEL_MEASURE") == "" {
		t.Skip("a measurement: PIXEL_MEASURE=1 to run it")
	}
	const gateways, canvases, perCanvas = 4, 200, 10
	clock := system.NewClock()
	shared := membus.New()
	stores, err := logstore.NewStores(logstore.StoresOptions{Options: logstore.Options{HistorySize: 1000, Bus: shared, Clock: clock}})
	if err != nil {
		t.Fatal(err)
	}
	defer stores.Close()
	mainStore, _ := stores.Open(context.Background(), domain.MainSlug, domain.DefaultSize)
	dir, err := canvasdir.Open(canvasdir.Options{Dir: t.TempDir(), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	presence := mempresence.New(clock)
	buses := make([]*receivingBus, gateways)
	urls := make([]string, gateways)
	for i := range buses {
		buses[i] = &receivingBus{Bus: shared}
		gw := NewGateway(GatewayOptions{
			HubOptions: HubOptions{GatewayID: fmt.Sprintf("gw_%d", i), Store: mainStore, Bus: buses[i], Presence: presence, Clock: clock, Metrics: metrics.New(), DrainSpread: -1},
			Canvases:   dir, Stores: stores,
		})
		if err := gw.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		urls[i] = serveWS(t, NewGatewayServer(gw, system.NewIDs(), ServerOptions{}).Handle, func() { gw.Shutdown(context.Background()) })
	}
	slugs := make([]domain.Slug, canvases)
	for i := range slugs {
		spec, _ := domain.CanvasRules{}.Check(domain.CanvasSpec{Name: fmt.Sprintf("Measured %d", i), Size: domain.Size{Width: 16, Height: 16}})
		info, _, err := dir.Create(context.Background(), spec, ports.CanvasLimits{})
		if err != nil {
			t.Fatal(err)
		}
		slugs[i] = info.Slug
		conn, _, err := dialWS(&websocket.Dialer{}, urls[i%gateways]+"?canvas="+string(info.Slug))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go func() {
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
			}
		}()
	}
	for _, b := range buses {
		b.pixels.Store(0)
		b.other.Store(0)
	}
	start := time.Now()
	for k := 0; k < perCanvas; k++ {
		for _, s := range slugs {
			st, err := stores.Open(context.Background(), s, domain.Size{Width: 16, Height: 16})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: k, Y: 0, Color: 0xFF0000}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	total := int64(canvases * perCanvas)
	waitfor.True(t, 30*time.Second, "every event received", func() bool {
		var sum int64
		for _, b := range buses {
			sum += b.pixels.Load()
		}
		return sum == total
	})
	elapsed := time.Since(start)
	for i, b := range buses {
		t.Logf("gateway %d: %d pixel events received of %d published (%.0f%%; single channel: %d, 100%%); %d presence/cursor messages",
			i, b.pixels.Load(), total, 100*float64(b.pixels.Load())/float64(total), total, b.other.Load())
	}
	t.Logf("%d events on %d canvases in %v", total, canvases, elapsed.Round(time.Millisecond))
}
