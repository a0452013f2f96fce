package e2e

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// touch sends one touch event with the fingers at the given client points
// (none for the end of a touch).
func (p *page) touch(typ input.DispatchTouchEventType, fingers ...point) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	tps := make([]*input.TouchPoint, len(fingers))
	for i, f := range fingers {
		id := float64(i + 1)
		tps[i] = &input.TouchPoint{X: f.X, Y: f.Y, ID: &id}
	}
	if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: tps}); err != nil {
		p.t.Fatalf("%s: touch %s: %v", p.label, typ, err)
	}
}

// TestOneFingerPansAndDoesNotPaint: on a phone, a tap paints one pixel; a
// one-finger drag moves the view and paints nothing (anyone scrolling the
// canvas as on a map used to deface it); holding a finger still, then
// dragging, draws a line.
func TestOneFingerPansAndDoesNotPaint(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=40", "CANVAS_HEIGHT=40")
	pg := openPage(t, browser, srv.URL("/"), "phone")
	pg.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch))
	pg.waitTrue("the phone layout", 10*time.Second, `innerWidth === 390`)
	pg.waitLaidOut(10 * time.Second) // aim only once the phone layout has refitted the view
	const ink = "#222222"

	// A tap.
	c := pg.clientPoint(10, 10)
	pg.touch(input.DispatchTouchEventTypeTouchStart, c)
	pg.touch(input.DispatchTouchEventTypeTouchEnd)
	// The touch is acknowledged before the page's handlers run (on a
	// loaded CI machine, well before): "settled" must not be judged until
	// the tap has painted, or nothing pending reads as settled.
	pg.waitTrue("the tap painting (10,10)", 10*time.Second, fmt.Sprintf("%s.pixelAt(10, 10) === %q", hook, ink))
	pg.waitSettled(10 * time.Second)
	if got := pg.confirmedAt(10, 10); got != ink {
		pg.screenshot("tap")
		t.Fatalf("a tap on (10,10) left it %s, want %s (%d pixels painted; view %+v, tapped at %+v, (10,10) is now at %+v)",
			got, ink, pg.pixelCountPainted(), pg.state().View, c, pg.clientPoint(10, 10))
	}

	// One finger slides across a dozen pixels, quickly.
	before := pg.state().View
	from := pg.clientPoint(20, 20)
	pg.touch(input.DispatchTouchEventTypeTouchStart, from)
	for i := 1; i <= 6; i++ {
		pg.touch(input.DispatchTouchEventTypeTouchMove, point{from.X - float64(i)*15, from.Y - float64(i)*10})
	}
	pg.touch(input.DispatchTouchEventTypeTouchEnd)
	// As with the tap, the page handles the touches after they are
	// acknowledged: wait for the view to have followed the finger (or
	// time out with where it is), then count what was painted on the way.
	moved := func(v viewportView) bool {
		return math.Abs(v.Ox-(before.Ox-90)) <= 0.5 && math.Abs(v.Oy-(before.Oy-60)) <= 0.5
	}
	after := pg.waitState("the view following the drag", 10*time.Second, func(s uiState) bool { return moved(s.View) }).View
	if n := pg.pixelCountPainted(); n != 1 {
		pg.screenshot("finger-drag")
		t.Errorf("a one-finger drag painted: %d pixels are not white, want 1 (the tap)", n)
	}
	if !moved(after) {
		t.Errorf("a one-finger drag by (-90,-60) moved the view from %+v to %+v", before, after)
	}

	// Hold still, then drag: a line (in a view fitted again, all in sight).
	pg.press("0")
	pg.waitState("fitted again", 5*time.Second, func(s uiState) bool { return s.View == before })
	start := pg.clientPoint(5, 30)
	pg.touch(input.DispatchTouchEventTypeTouchStart, start)
	pg.waitTrue("the held finger starting a line", 5*time.Second, fmt.Sprintf("%s.pixelAt(5, 30) === %q", hook, ink))
	end := pg.clientPoint(15, 30)
	for i := 1; i <= 5; i++ {
		pg.touch(input.DispatchTouchEventTypeTouchMove, point{start.X + (end.X-start.X)*float64(i)/5, start.Y})
	}
	pg.touch(input.DispatchTouchEventTypeTouchEnd)
	pg.waitTrue("the line reaching (15,30)", 10*time.Second, fmt.Sprintf("%s.pixelAt(15, 30) === %q", hook, ink))
	pg.waitSettled(10 * time.Second)
	for x := 5; x <= 15; x++ {
		if got := pg.confirmedAt(x, 30); got != ink {
			t.Errorf("after hold-and-drag from (5,30) to (15,30), (%d,30) is %s, want %s", x, got, ink)
		}
	}
	pg.screenshot("touch")
}
