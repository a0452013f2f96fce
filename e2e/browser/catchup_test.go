package e2e

import (
	"fmt"
	"testing"
	"time"
)

// catchUps is the page's count of snapshot reloads begun because it fell
// behind the live stream (state().catchUps).
func (p *page) catchUps() int {
	p.t.Helper()
	return mustEval[int](p, hook+".state().catchUps")
}

// TestPageThatFallsBehindCatchesUpBySnapshot: a page whose main thread is
// blocked for 4 s while thousands of pixels are written finds, when it
// runs again, that the events waiting for it were sent seconds ago; it
// reloads the snapshot instead of applying them one by one (the test
// hook's catchUps counts it), and ends equal to the server's canvas pixel
// for pixel, live.
func TestPageThatFallsBehindCatchesUpBySnapshot(t *testing.T) {
	const size, batch, batches = 200, 1000, 4
	browser := startBrowser(t)
	srv, _ := startPlayground(t, fmt.Sprintf("CANVAS_WIDTH=%d", size), fmt.Sprintf("CANVAS_HEIGHT=%d", size), "IP_PIXEL_RATE=0")
	viewer := openPage(t, browser, srv.URL("/"), "viewer")
	palette := []string{"#E50000", "#0083C7", "#02BE01", "#FFA7D1", "#222222"}
	// round r writes n pixels from the top left, each round in other colours.
	write := func(round, n int) {
		for from := 0; from < n; from += batch {
			px := make([]pixelWrite, min(batch, n-from))
			for i := range px {
				k := from + i
				px[i] = pixelWrite{X: k % size, Y: k / size % size, Color: palette[(k+round)%len(palette)]}
			}
			putPixels(t, srv, px)
		}
	}

	// A few prompt events first: what "on time" looks like on this socket.
	write(0, 50)
	waitSameAsServer(t, viewer, srv, 20*time.Second)
	before := viewer.catchUps()

	// The page's main thread is busy for 4 s (a slow phone, a throttled
	// tab) while thousands of pixels are written.
	mustEval[bool](viewer, `(() => { setTimeout(() => { const t = performance.now(); while (performance.now() - t < 4000) {} }, 0); return true; })()`)
	write(1, batches*batch)
	viewer.waitTrue("the page caught up by snapshot", 30*time.Second, fmt.Sprintf("%s.state().catchUps > %d", hook, before))
	c := waitSameAsServer(t, viewer, srv, 20*time.Second)
	if s := viewer.state(); !s.Connected {
		t.Fatalf("the page is not live after catching up: %+v", s)
	}
	t.Logf("caught up to seq %d; snapshot reloads for lag: %d before the stall, %d after", c.Seq, before, viewer.catchUps())
}
