package e2e

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

const white = "#FFFFFF"

// startPlayground runs the real all-in-one binary with its own data
// directory.
func startPlayground(t *testing.T, env ...string) (*testbin.Process, []string) {
	t.Helper()
	bin := testbin.Build(t, "./apps/playground")
	env = append([]string{"DATA_DIR=" + t.TempDir()}, env...)
	return testbin.StartOnPort(t, bin, testbin.FreePort(t), env...), env
}

// TestTwoArtistsSeeEachOther: two people with different names draw, and
// each sees the other's pixels, name and cursor.
func TestTwoArtistsSeeEachOther(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=50", "CANVAS_HEIGHT=50")

	ada := openPage(t, browser, srv.URL("/"), "ada")
	grace := openPage(t, browser, srv.URL("/"), "grace")
	ada.setName("Ada")
	grace.setName("Grace")
	const red, blue = "#E50000", "#0083C7"
	ada.pickColor(red)
	grace.pickColor(blue)

	// A single click.
	ada.clickPixel(3, 4)
	ada.waitSettled(10 * time.Second)
	if got := ada.confirmedAt(3, 4); got != red {
		t.Fatalf("ada: confirmed colour at (3,4) = %s, want %s", got, red)
	}
	grace.waitTrue("showing ada's click at (3,4)", 20*time.Second, fmt.Sprintf("%s.pixelAt(3, 4) === %q", hook, red))

	// A drag stroke: a horizontal run, then down, through whole-pixel
	// centres, so exactly these pixels are painted.
	var stroke [][2]int
	for x := 10; x <= 20; x++ {
		stroke = append(stroke, [2]int{x, 10})
	}
	for y := 11; y <= 15; y++ {
		stroke = append(stroke, [2]int{20, y})
	}
	ada.dragPixels([2]int{10, 10}, [2]int{15, 10}, [2]int{20, 10}, [2]int{20, 15})
	ada.waitSettled(10 * time.Second)
	for _, px := range stroke {
		grace.waitTrue(fmt.Sprintf("showing ada's stroke at (%d,%d)", px[0], px[1]), 15*time.Second,
			fmt.Sprintf("%s.pixelAt(%d, %d) === %q", hook, px[0], px[1], red))
		if got := serverPixel(t, srv, px[0], px[1]); got != red {
			t.Errorf("server pixel (%d,%d) = %s after ada's stroke, want %s", px[0], px[1], got, red)
		}
	}
	// The stroke painted nothing beside its path.
	for _, px := range [][2]int{{9, 10}, {21, 10}, {15, 11}, {20, 16}, {19, 15}} {
		if got := grace.pixelAt(px[0], px[1]); got != white {
			t.Errorf("grace: pixel (%d,%d) beside the stroke = %s, want white", px[0], px[1], got)
		}
	}

	// And the other way round.
	grace.clickPixel(40, 30)
	grace.waitSettled(10 * time.Second)
	ada.waitTrue("showing grace's click at (40,30)", 20*time.Second, fmt.Sprintf("%s.pixelAt(40, 30) === %q", hook, blue))

	// Names: each page lists the other artist.
	adaState := ada.waitState("listing Grace", 20*time.Second, func(s uiState) bool { return slices.Contains(s.Users, "Grace") })
	graceState := grace.waitState("listing Ada", 20*time.Second, func(s uiState) bool { return slices.Contains(s.Users, "Ada") })
	if adaState.ClientID == "" || graceState.ClientID == "" || adaState.ClientID == graceState.ClientID {
		t.Fatalf("client ids: ada %q, grace %q; want two different non-empty ids", adaState.ClientID, graceState.ClientID)
	}

	// Cursors: the pointer over one page shows up, named, in the other.
	// Earlier clicks already placed each cursor somewhere, so wait for it
	// to reach the new position.
	ada.hover(30, 25)
	got := grace.waitState("showing ada's cursor over (30,25)", 20*time.Second, cursorOver(adaState.ClientID, 30, 25))
	checkCursorName(t, "grace", got, adaState.ClientID, "Ada")
	grace.hover(12, 40)
	got = ada.waitState("showing grace's cursor over (12,40)", 20*time.Second, cursorOver(graceState.ClientID, 12, 40))
	checkCursorName(t, "ada", got, graceState.ClientID, "Grace")
	if hasCursorOf(got, adaState.ClientID) {
		t.Errorf("ada lists her own cursor: %+v", got.Cursors)
	}

	ada.screenshot("final")
	grace.screenshot("final")
}

// cursorOver holds when the page shows clientID's cursor over pixel (x, y).
func cursorOver(clientID string, x, y int) func(uiState) bool {
	return func(s uiState) bool {
		return slices.ContainsFunc(s.Cursors, func(c uiCursor) bool {
			return c.ClientID == clientID && math.Floor(c.X) == float64(x) && math.Floor(c.Y) == float64(y)
		})
	}
}

// checkCursorName asserts that the cursor of clientID carries the name.
func checkCursorName(t *testing.T, viewer string, s uiState, clientID, name string) {
	t.Helper()
	for _, c := range s.Cursors {
		if c.ClientID == clientID && c.Username != name {
			t.Errorf("%s: cursor of %s is named %q, want %q", viewer, clientID, c.Username, name)
		}
	}
}

// TestServerRestartBothPagesResync: SIGTERM the server under two open pages,
// change the canvas while they are away, start it again on the same port and
// data; both pages come back and show exactly the server's canvas.
func TestServerRestartBothPagesResync(t *testing.T) {
	browser := startBrowser(t)
	srv, env := startPlayground(t, "CANVAS_WIDTH=50", "CANVAS_HEIGHT=50")

	first := openPage(t, browser, srv.URL("/"), "first")
	second := openPage(t, browser, srv.URL("/"), "second")
	first.pickColor("#E59500")
	first.dragPixels([2]int{2, 2}, [2]int{12, 2}, [2]int{12, 8})
	first.waitSettled(10 * time.Second)
	putPixels(t, srv, []pixelWrite{{X: 30, Y: 30, Color: "#0000EA"}, {X: 31, Y: 30, Color: "#820080"}})
	waitSameAsServer(t, second, srv, 20*time.Second)

	if err := srv.Terminate(t, 15*time.Second); err != nil {
		t.Fatalf("playground exit after SIGTERM: %v", err)
	}
	for _, p := range []*page{first, second} {
		p.waitState("disconnected", 15*time.Second, func(s uiState) bool { return !s.Connected })
	}
	first.screenshot("server-down")

	srv = testbin.StartOnPort(t, testbin.Build(t, "./apps/playground"), srv.Port, env...)
	// Writes made right after the restart must reach the pages too, whether
	// they land before or after the pages reconnect.
	putPixels(t, srv, []pixelWrite{{X: 45, Y: 45, Color: "#CF6EE4"}, {X: 2, Y: 2, Color: "#222222"}})

	for _, p := range []*page{first, second} {
		p.waitState("live again", 20*time.Second, func(s uiState) bool { return s.Connected })
	}
	var seqs []uint64
	for _, p := range []*page{first, second} {
		c := waitSameAsServer(t, p, srv, 20*time.Second)
		seqs = append(seqs, c.Seq)
		if got := p.pixelAt(45, 45); got != "#CF6EE4" {
			t.Errorf("%s: pixel written after the restart shows %s", p.label, got)
		}
		if got := p.pixelAt(12, 5); got != "#E59500" {
			t.Errorf("%s: pixel drawn before the restart shows %s", p.label, got)
		}
		p.screenshot("after-restart")
	}
	t.Logf("both pages match the server at seqs %v", seqs)

	// Both pages are fully live again: a new stroke travels between them.
	second.clickPixel(25, 40)
	second.waitSettled(10 * time.Second)
	first.waitTrue("showing a pixel drawn after the restart", 15*time.Second, hook+".pixelAt(25, 40) !== '#FFFFFF'")
	waitSameAsServer(t, first, srv, 20*time.Second)
}

// TestLargeCanvasLoadsAndPans: a 1000x1000 canvas loads with its pixels,
// the view pans with the pan tool, and a click after the pan paints the
// pixel under the pointer.
func TestLargeCanvasLoadsAndPans(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=1000", "CANVAS_HEIGHT=1000")

	written := []pixelWrite{
		{X: 0, Y: 0, Color: "#E50000"},
		{X: 999, Y: 0, Color: "#02BE01"},
		{X: 0, Y: 999, Color: "#0000EA"},
		{X: 999, Y: 999, Color: "#E5D900"},
		{X: 500, Y: 500, Color: "#820080"},
		{X: 123, Y: 876, Color: "#A06A42"},
	}
	putPixels(t, srv, written)

	pg := openPage(t, browser, srv.URL("/"), "large")
	s := pg.state()
	if s.Width != 1000 || s.Height != 1000 {
		t.Fatalf("page canvas %dx%d, want 1000x1000", s.Width, s.Height)
	}
	for _, w := range written {
		if got := pg.pixelAt(w.X, w.Y); got != w.Color {
			t.Errorf("pixel (%d,%d) shows %s, want %s", w.X, w.Y, got, w.Color)
		}
	}
	for _, px := range [][2]int{{1, 0}, {500, 501}, {998, 999}} {
		if got := pg.pixelAt(px[0], px[1]); got != white {
			t.Errorf("unwritten pixel (%d,%d) shows %s", px[0], px[1], got)
		}
	}
	pg.screenshot("loaded")

	// Zoom in with the keyboard so a pixel is several screen pixels wide and
	// a click lands on one pixel without doubt.
	for range 6 {
		before := pg.state().View.Scale
		pg.press("+")
		pg.waitState("zoomed in", 15*time.Second, func(s uiState) bool { return s.View.Scale > before })
		if pg.state().View.Scale >= 4 {
			break
		}
	}
	zoomed := pg.state().View
	if zoomed.Scale < 4 {
		t.Fatalf("scale %.3f after zooming in, want at least 4", zoomed.Scale)
	}

	// Pan with the pan tool: drag the canvas 180 px left and 120 px up.
	pg.do(chromedp.Click(chromedp.ID("tool-pan")))
	pg.waitState("pan tool on", 15*time.Second, func(s uiState) bool { return s.Tool == "pan" })
	left, top, width, height := pg.canvasRect()
	from := point{left + math.Round(width/2), top + math.Round(height/2)}
	to := point{from.X - 180, from.Y - 120}
	pg.drag(from, point{from.X - 90, from.Y - 60}, to)
	panned := pg.state().View
	if panned.Scale != zoomed.Scale {
		t.Errorf("panning changed the scale from %v to %v", zoomed.Scale, panned.Scale)
	}
	if math.Abs(panned.Ox-(zoomed.Ox-180)) > 0.01 || math.Abs(panned.Oy-(zoomed.Oy-120)) > 0.01 {
		t.Fatalf("view after panning by (-180,-120): %+v, from %+v", panned, zoomed)
	}
	if n := pg.pixelCountPainted(); n != len(written) {
		t.Fatalf("panning painted: %d pixels are not white, want %d", n, len(written))
	}
	pg.screenshot("panned")

	// Back to the brush; click the pixel now under the canvas centre.
	pg.press("b")
	pg.waitState("brush on", 15*time.Second, func(s uiState) bool { return s.Tool == "brush" })
	const lilac = "#CF6EE4"
	pg.pickColor(lilac)
	tx := int(math.Floor((width/2 - panned.Ox) / panned.Scale))
	ty := int(math.Floor((height/2 - panned.Oy) / panned.Scale))
	pg.clickPixel(tx, ty)
	pg.waitSettled(10 * time.Second)
	if got := pg.confirmedAt(tx, ty); got != lilac {
		t.Errorf("confirmed colour at (%d,%d) after clicking it = %s, want %s", tx, ty, got, lilac)
	}
	if got := serverPixel(t, srv, tx, ty); got != lilac {
		t.Errorf("server pixel (%d,%d) after clicking it = %s, want %s", tx, ty, got, lilac)
	}
	for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
		if got := serverPixel(t, srv, tx+d[0], ty+d[1]); got != white {
			t.Errorf("server pixel (%d,%d) next to the click = %s, want white", tx+d[0], ty+d[1], got)
		}
	}
	if n := pg.pixelCountPainted(); n != len(written)+1 {
		t.Errorf("after one click %d pixels are not white, want %d", n, len(written)+1)
	}
	pg.screenshot("clicked")
}

// pixelCountPainted counts non-white displayed pixels, in the page, so a
// 1000x1000 canvas is not shipped over the protocol.
func (p *page) pixelCountPainted() int {
	p.t.Helper()
	return mustEval[int](p, `(() => {
		const h = `+hook+`, s = h.state();
		let n = 0;
		for (let y = 0; y < s.height; y++) for (let x = 0; x < s.width; x++) if (h.pixelAt(x, y) !== '#FFFFFF') n++;
		return n;
	})()`)
}
