package e2e

import (
	"github.com/chromedp/chromedp"

	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSlowServerStrokeLandsWhole: with the server's pixel rate far below the
// page's default pace (PIXEL_RATE=2, PIXEL_BURST=4), a 40-pixel drag lands
// whole, only slower: the page paces to the rate `connected` announced and
// sends again what the server refused, instead of undoing it. (Before, the
// page never went below 3 pixels a second and rolled refused pixels back:
// a stroke like this one left holes and an error toast.)
func TestSlowServerStrokeLandsWhole(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=50", "CANVAS_HEIGHT=50", "PIXEL_RATE=2", "PIXEL_BURST=4")

	pg := openPage(t, browser, srv.URL("/"), "slow")
	const green = "#02BE01"
	pg.pickColor(green)
	pg.dragPixels([2]int{5, 20}, [2]int{25, 20}, [2]int{44, 20})

	// 40 pixels at 2 a second: about 20 s.
	pg.waitSettled(60 * time.Second)
	c := waitSameAsServer(t, pg, srv, 20*time.Second)
	var holes []int
	for x := 5; x <= 44; x++ {
		if !strings.EqualFold(c.Pixels[fmt.Sprintf("%d,20", x)], green) {
			holes = append(holes, x)
		}
	}
	if len(holes) > 0 {
		pg.screenshot("holes")
		t.Fatalf("the server holds %d holes in the 40-pixel stroke, at x = %v", len(holes), holes)
	}
	if n := mustEval[int](pg, `document.querySelectorAll('#toasts .toast.error').length`); n > 0 {
		t.Errorf("%d error toasts for a stroke that landed whole: %q", n, mustEval[string](pg, `document.getElementById('toasts').textContent`))
	}
}

// cellColours lists the distinct colours the visible canvas shows inside
// pixel (x, y)'s square on screen (inset by two device pixels, clear of the
// grid lines), read back from the <canvas> itself: what the user sees.
func (p *page) cellColours(x, y int) []string {
	p.t.Helper()
	return mustEval[[]string](p, fmt.Sprintf(`(() => {
		const c = document.getElementById('canvas'), v = %s.state().view;
		const k = c.width / c.getBoundingClientRect().width;
		const x0 = Math.ceil((v.ox + %d * v.scale) * k) + 2, y0 = Math.ceil((v.oy + %d * v.scale) * k) + 2;
		const n = Math.floor(v.scale * k) - 4;
		const d = c.getContext('2d').getImageData(x0, y0, n, n).data, seen = new Set();
		for (let i = 0; i < d.length; i += 4) seen.add('#' + [d[i], d[i + 1], d[i + 2]].map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase());
		return [...seen];
	})()`, hook, x, y))
}

// TestOutagePendingPixelsLookPendingAndTheCardSaysSo: while the server is
// down, a pixel the user paints is drawn hatched (not like the confirmed
// pixel beside it), and the hover card over it says it is theirs and
// waiting, not "#FFFFFF · Looking up who painted it…" (what it said of the
// pixel before the click, until the next once-a-second refresh).
func TestOutagePendingPixelsLookPendingAndTheCardSaysSo(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=50", "CANVAS_HEIGHT=50")
	pg := openPage(t, browser, srv.URL("/"), "outage")
	const red = "#E50000"
	pg.pickColor(red)
	pg.clickPixel(10, 10)
	pg.waitSettled(10 * time.Second)
	if scale := pg.state().View.Scale; scale < 10 {
		t.Fatalf("scale %.1f: too small to look inside a pixel", scale)
	}

	if err := srv.Terminate(t, 15*time.Second); err != nil {
		t.Fatalf("playground exit after SIGTERM: %v", err)
	}
	pg.waitState("disconnected", 15*time.Second, func(s uiState) bool { return !s.Connected })

	// Hover first (the card describes the white pixel), then click: the
	// card is read at once, before any periodic refresh could fix it.
	pg.hover(12, 10)
	pg.waitTrue("a hover card", 5*time.Second, `!document.getElementById('hover-card').hidden`)
	c := pg.clientPoint(12, 10)
	pg.do(chromedp.MouseClickXY(c.X, c.Y))
	card := mustEval[string](pg, `(document.getElementById('hover-card').hidden ? '(card hidden) ' : '') +
		document.getElementById('hc-who').textContent + ' | ' + document.getElementById('sb-who').textContent`)
	if !strings.Contains(card, "Your pixel") || strings.Contains(card, "Looking up") || strings.Contains(card, "hidden") || strings.Contains(card, white) {
		t.Errorf("right after painting (12,10) in an outage the card says %q; want it to say the pixel is ours, waiting", card)
	}
	if s := pg.state(); s.PendingCount != 1 || pg.pixelAt(12, 10) != red {
		t.Fatalf("after the click in an outage: %d pending, (12,10) shows %s", s.PendingCount, pg.pixelAt(12, 10))
	}

	// Away from both pixels, so no hover outline is drawn on them.
	pg.hover(40, 40)
	pg.waitTrue("the hover on (40,40)", 5*time.Second, `document.getElementById('sb-coords').textContent === '40, 40'`)
	confirmed := pg.cellColours(10, 10)
	if len(confirmed) != 1 || confirmed[0] != red {
		t.Fatalf("the confirmed pixel (10,10) shows %v on screen, want only %s", confirmed, red)
	}
	pending := pg.cellColours(12, 10)
	if len(pending) < 2 {
		pg.screenshot("pending")
		t.Errorf("the pending pixel (12,10) shows only %v on screen: it looks exactly like the confirmed one", pending)
	}
	pg.screenshot("pending")
}
