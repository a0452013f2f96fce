package e2e

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// TestMeasureBrowserKeepsUp: a page on a 1024×1024 canvas while the canvas
// receives 2,000 pixels a second from four writers, for 10 s. It reports
// the page's frames per second (requestAnimationFrame callbacks) and
// Chromium's long tasks on the main thread (PerformanceObserver
// "longtask": tasks over 50 ms), and how far behind the stream the page
// was at the end. A measurement: the only assertion is that the page kept
// receiving pixels; the figures go to docs/performance.md. It also says
// how many times the page reloaded its snapshot for falling more than 2 s
// behind (lib/catchup.js): a page that keeps up never does.
//
//	PIXEL_MEASURE=1 go test ./browser -run MeasureBrowserKeepsUp -v -count=1   (in e2e/)
//
// PIXEL_MEASURE_CPU_SLOWDOWN=N has Chromium run the page's CPU N times
// slower (DevTools' CPU throttling), a stand-in for a slow phone.
func TestMeasureBrowserKeepsUp(t *testing.T) {
	if os.Getenv("PIXEL_MEASURE") == "" {
		t.Skip("a measurement: PIXEL_MEASURE=1 to run it")
	}
	const writers, perWriter, window = 4, 500, 10 * time.Second
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=1024", "CANVAS_HEIGHT=1024",
		"PIXEL_RATE=1000", "PIXEL_BURST=2000", "IP_PIXEL_RATE=0")
	viewer := openPage(t, browser, srv.URL("/"), "viewer")
	startSeq := *viewer.state().Seq
	if v := os.Getenv("PIXEL_MEASURE_CPU_SLOWDOWN"); v != "" {
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || rate < 1 {
			t.Fatalf("PIXEL_MEASURE_CPU_SLOWDOWN=%q: want a number ≥ 1", v)
		}
		viewer.call("throttling the CPU", func(ctx context.Context) error {
			_, err := chromedp.Call(ctx, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: rate})
			return err
		})
		t.Logf("the page's CPU %g times slower", rate)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Int64
	for w := range writers {
		c, err := wsclient.Dial(ctx, srv.WS("/ws"), wsclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		go func() {
			tick := time.NewTicker(time.Second / perWriter)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				k := n*writers + w
				if c.PlacePixel(k%1024, k/1024%1024, []string{"#E50000", "#0083C7", "#02BE01", "#FFA7D1"}[k%4], "") != nil {
					return
				}
				sent.Add(1)
			}
		}()
	}
	// Let the stream reach its rate, then count over the window.
	waitfor.True(t, 30*time.Second, "the writers under way", func() bool { return sent.Load() >= writers*perWriter })
	mustEval[bool](viewer, `(() => {
		const m = window.__keepsUp = {frames: 0, long: [], start: performance.now()};
		const tick = () => { m.frames++; requestAnimationFrame(tick); };
		requestAnimationFrame(tick);
		new PerformanceObserver(list => { for (const e of list.getEntries()) m.long.push(e.duration); }).observe({type: 'longtask'});
		return true;
	})()`)
	from := sent.Load()
	waitfor.True(t, 3*window, "the window's pixels sent", func() bool {
		return sent.Load()-from >= int64(window/time.Second)*writers*perWriter
	})
	m := mustEval[keepsUpFigures](viewer, `(() => { const m = window.__keepsUp; return {frames: m.frames, long: m.long, elapsed: performance.now() - m.start}; })()`)
	cancel()
	rate := float64(sent.Load()-from) / (m.Elapsed / 1000)
	endSeq := *viewer.state().Seq
	longest := 0.0
	for _, d := range m.Long {
		longest = max(longest, d)
	}
	t.Logf("over %.1f s at %.0f px/s sent: %.1f frames/s; %d long tasks (over 50 ms), longest %.0f ms: %v", m.Elapsed/1000, rate, float64(m.Frames)/(m.Elapsed/1000), len(m.Long), longest, m.Long)
	t.Logf("page seq %d at the start, %d at the end; %d pixels sent in all; %d snapshot reloads for falling behind", startSeq, endSeq, sent.Load(), viewer.catchUps())
	if endSeq <= startSeq {
		t.Fatalf("the page received nothing: seq %d → %d", startSeq, endSeq)
	}
	// The instrument works: a task of 120 ms on the page is reported.
	mustEval[bool](viewer, `(() => { setTimeout(() => { const t = performance.now(); while (performance.now() - t < 120) {} }, 0); return true; })()`)
	viewer.waitTrue("a deliberate 120 ms task reported as long", 10*time.Second,
		`window.__keepsUp.long.length > `+strconv.Itoa(len(m.Long)))
}

// keepsUpFigures is what the page counted over the window.
type keepsUpFigures struct {
	Frames  int       `json:"frames"`
	Long    []float64 `json:"long"`    // durations of the long tasks, ms
	Elapsed float64   `json:"elapsed"` // ms
}
