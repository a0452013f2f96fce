package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// noticesOverCanvas lists the visible toasts and banners whose box meets the
// canvas element's box (where canvas pixels are drawn, at any zoom), with
// both boxes, for the failure message; and how many notices it looked at.
func (p *page) noticesOverCanvas() (overlaps []string, seen int) {
	p.t.Helper()
	r := mustEval[struct {
		Overlaps []string
		Seen     int
	}](p, `(() => {
		const c = document.getElementById('canvas').getBoundingClientRect();
		const box = (r) => '[' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(' ') + ']';
		const out = { overlaps: [], seen: 0 };
		for (const n of document.querySelectorAll('#toasts .toast, #stale-banner')) {
			const r = n.getBoundingClientRect();
			if (n.closest('[hidden]') || r.width === 0 || r.height === 0) continue;
			out.seen++;
			if (r.left < c.right && r.right > c.left && r.top < c.bottom && r.bottom > c.top) {
				out.overlaps.push((n.id || n.className) + ' ' + box(r) + ' "' + n.textContent.trim() + '" over the canvas ' + box(c));
			}
		}
		return out;
	})()`)
	return r.Overlaps, r.Seen
}

// TestNoticesKeepOffTheCanvas: a toast (after the share button) and the
// "not live" banner (in an outage) never cover the canvas: before, the
// banner sat over its top rows and toasts over its bottom rows, exactly
// when the user was acting. Checked on a desktop window and on a phone.
func TestNoticesKeepOffTheCanvas(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=64", "CANVAS_HEIGHT=64")
	pg := openPage(t, browser, srv.URL("/"), "notices")

	check := func(when string, wantSeen int) {
		t.Helper()
		overlaps, seen := pg.noticesOverCanvas()
		if seen < wantSeen {
			pg.screenshot("no-notice")
			t.Fatalf("%s: %d notices visible, want at least %d", when, seen, wantSeen)
		}
		if len(overlaps) > 0 {
			pg.screenshot("overlap")
			t.Errorf("%s: notices over the canvas: %q", when, overlaps)
		}
	}
	toast := func() {
		t.Helper()
		pg.do(chromedp.Click(chromedp.ID("share")))
		pg.waitTrue("a toast", 10*time.Second, `document.querySelectorAll('#toasts .toast').length > 0`)
	}

	toast()
	check("desktop, a toast", 1)

	if err := srv.Terminate(t, 15*time.Second); err != nil {
		t.Fatalf("playground exit after SIGTERM: %v", err)
	}
	pg.waitTrue("the not-live banner", 15*time.Second, `!document.getElementById('stale-banner').hidden`)
	toast()
	check("desktop, outage banner and a toast", 2)
	pg.screenshot("desktop-outage")

	// A phone, portrait: the canvas takes the width, toasts have the least room.
	pg.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile))
	pg.waitTrue("the phone layout", 10*time.Second, `innerWidth === 390`)
	toast()
	check("phone, outage banner and a toast", 2)
	pg.screenshot("phone-outage")
}
