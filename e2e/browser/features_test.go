package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

// device is a screen a page is opened on.
type device struct {
	name          string
	width, height int64
	scale         float64
	touch         bool // a phone: mobile viewport, touch events, (pointer: coarse)
	landscape     bool
	dark          bool
}

var (
	desktop        = device{name: "desktop", width: 1440, height: 900, scale: 1}
	phonePortrait  = device{name: "phone-portrait", width: 390, height: 844, scale: 3, touch: true}
	phoneLandscape = device{name: "phone-landscape", width: 844, height: 390, scale: 3, touch: true, landscape: true}
	desktopDark    = device{name: "desktop-dark", width: 1440, height: 900, scale: 1, dark: true}
	phoneDark      = device{name: "phone-portrait-dark", width: 390, height: 844, scale: 3, touch: true, dark: true}
)

// openOn opens url in a fresh browser context emulating the device, and
// waits until the page is live.
func openOn(t *testing.T, browserCtx context.Context, url, label string, d device) *page {
	t.Helper()
	p := openTab(t, browserCtx, label)
	p.emulate(d)
	p.do(chromedp.Navigate(url))
	p.waitState("ready and live", 20*time.Second, func(s uiState) bool { return s.Ready && s.Connected })
	return p
}

// awaitJS evaluates expr, a promise, and decodes what it resolves to.
func awaitJS[T any](p *page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// waitPromise polls until the promise expr resolves to true.
func (p *page) waitPromise(what string, timeout time.Duration, expr string) {
	p.t.Helper()
	p.poll(what, timeout, func() (bool, error) { return awaitJS[bool](p, expr) })
}

// waitLaidOut waits until the canvas's place on the screen and the view
// stay the same over three animation frames in a row. After a viewport
// change the page refits its view when its ResizeObserver and pixel-ratio
// listener run, a frame or more later (later still on a loaded machine), and
// a touch aimed before that lands on another pixel.
func (p *page) waitLaidOut(timeout time.Duration) {
	p.t.Helper()
	p.waitPromise("the layout to settle", timeout, `new Promise((resolve) => {
		let last = '', same = 0;
		const tick = () => {
			const key = JSON.stringify(`+hook+`.clientPointOf(0, 0)) + JSON.stringify(document.getElementById('canvas').getBoundingClientRect());
			same = key === last ? same + 1 : 0;
			last = key;
			if (same >= 3) resolve(true); else requestAnimationFrame(tick);
		};
		tick();
	})`)
}

// nextFrame returns once the page has drawn a frame after everything
// done so far (the page draws in requestAnimationFrame).
func (p *page) nextFrame() {
	p.t.Helper()
	if _, err := awaitJS[bool](p, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`); err != nil {
		p.t.Fatalf("%s: waiting for a frame: %v", p.label, err)
	}
}

// call runs one DevTools command on the page, bounded by stepTimeout.
func (p *page) call(what string, f func(ctx context.Context) error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := f(ctx); err != nil {
		p.t.Fatalf("%s: %s: %v", p.label, what, err)
	}
}

func (p *page) emulate(d device) {
	p.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(d.scale)}
	if d.touch {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if d.landscape {
		opts = append(opts, chromedp.EmulateLandscape)
	} else {
		opts = append(opts, chromedp.EmulatePortrait)
	}
	p.do(chromedp.EmulateViewport(d.width, d.height, opts...))
	scheme := "light"
	if d.dark {
		scheme = "dark"
	}
	p.call("emulating the colour scheme", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// screenshotDir is where the feature screenshots go: $ARTIFACTS_DIR/screenshots
// when set (CI keeps it), else e2e/browser/testdata/screenshots (ignored by git).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("testdata", "screenshots")
	if a := os.Getenv("ARTIFACTS_DIR"); a != "" {
		dir = filepath.Join(a, "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	return dir
}

// keepScreenshot saves what the viewport shows as name.png in screenshotDir.
func (p *page) keepScreenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("%s: screenshot %s: %v", p.label, name, err)
	}
	path := filepath.Join(screenshotDir(p.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("saving %s: %v", path, err)
	}
	p.t.Logf("screenshot: %s", path)
}

// drawSomething writes a small picture through the API so that the
// screenshots show a canvas in use.
func drawSomething(t *testing.T, srv *testbin.Process, w, h int) {
	t.Helper()
	colors := []string{"#E50000", "#E59500", "#E5D900", "#02BE01", "#0083C7", "#0000EA", "#820080"}
	var px []pixelWrite
	for i, c := range colors {
		for x := 4; x < w-4; x++ {
			y := 4 + i*2 + (x/6)%2
			if y < h {
				px = append(px, pixelWrite{X: x, Y: y, Color: c})
			}
		}
	}
	for x := 6; x < 20 && x < w; x++ {
		for y := 24; y < 36 && y < h; y++ {
			if (x-13)*(x-13)+(y-30)*(y-30) < 36 {
				px = append(px, pixelWrite{X: x, Y: y, Color: "#222222"})
			}
		}
	}
	putPixels(t, srv, px)
}

// touchTargetsBelow44 lists the visible controls a finger can aim at that
// are smaller than 44×44 CSS pixels.
const touchTargetsBelow44 = `(() => {
	const bad = [];
	for (const el of document.querySelectorAll('button, summary, a[href], input:not([type=hidden]), select, label.current-swatch')) {
		if (el.closest('.sr-only, .skip-link')) continue;
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.height === 0) continue;
		const cs = getComputedStyle(el);
		if (cs.visibility === 'hidden' || cs.pointerEvents === 'none' || cs.opacity === '0' || cs.display === 'none') continue;
		if (r.right <= 0 || r.left >= innerWidth || r.bottom <= 0 || r.top >= innerHeight) continue;
		if (r.width < 43.5 || r.height < 43.5) bad.push((el.id || el.className || el.tagName) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
	}
	return bad;
})()`

// TestLayoutsAndScreenshots opens the page as a desktop, a phone held both
// ways and in dark mode, checks what each must hold (the canvas's share of
// a landscape phone, 44 px touch targets, no sideways scrolling, the
// guide's words for the pointer in hand) and keeps a screenshot of each.
func TestLayoutsAndScreenshots(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=64", "CANVAS_HEIGHT=64")
	drawSomething(t, srv, 64, 64)

	for _, d := range []device{desktop, phonePortrait, phoneLandscape, desktopDark, phoneDark} {
		t.Run(d.name, func(t *testing.T) {
			p := openOn(t, browser, srv.URL("/"), d.name, d)
			if coarse := mustEval[bool](p, "matchMedia('(pointer: coarse)').matches"); coarse != d.touch {
				t.Fatalf("(pointer: coarse) is %v, want %v: the emulation is not what the test means", coarse, d.touch)
			}
			// The first-visit guide speaks to the pointer in hand.
			guide := mustEval[string](p, `(document.getElementById('guide') || {}).textContent || ''`)
			want := "Click to paint"
			if d.touch {
				want = "Tap to paint"
			}
			if !strings.Contains(guide, want) {
				t.Errorf("first-visit guide %q does not say %q", guide, want)
			}
			// No developer words: the zoom is "N×", the change number is not shown.
			if z := mustEval[string](p, `document.getElementById('zoom-readout').textContent`); strings.Contains(z, "%") {
				t.Errorf("zoom readout %q is a percentage", z)
			}
			if seq := mustEval[string](p, `document.getElementById('sb-seq').textContent`); seq != "" {
				t.Errorf("status bar shows %q", seq)
			}
			if over := mustEval[bool](p, `document.documentElement.scrollWidth > innerWidth`); over {
				t.Errorf("the page scrolls sideways")
			}
			if d.touch {
				if bad := mustEval[[]string](p, touchTargetsBelow44); len(bad) > 0 {
					t.Errorf("touch targets under 44 px: %q", bad)
				}
			}
			if d.landscape {
				share := mustEval[float64](p, `document.getElementById('canvas').getBoundingClientRect().height / innerHeight`)
				if share < 0.70 {
					t.Errorf("the canvas has %.0f%% of the landscape phone's height, want at least 70%%", share*100)
				}
				t.Logf("landscape: the canvas has %.0f%% of the height", share*100)
			}
			if d.width <= 400 {
				// The artists drawer's button is the only way to that panel on a phone.
				if r := mustEval[float64](p, `document.getElementById('open-artists').getBoundingClientRect().right`); r > float64(d.width) {
					t.Errorf("the artists button ends at %.0f px, off the %d px screen", r, d.width)
				}
			}
			p.keepScreenshot(d.name)

			// "Got it" puts the guide away for good.
			p.do(chromedp.Click(chromedp.ID("guide-ok")))
			p.waitTrue("guide gone", 10*time.Second, `!document.getElementById('guide')`)
			p.do(chromedp.Reload())
			p.waitState("live again", 20*time.Second, func(s uiState) bool { return s.Ready && s.Connected })
			if mustEval[bool](p, `!!document.getElementById('guide')`) {
				t.Errorf("the guide came back after a reload")
			}
		})
	}
	// The help covers touch as well as keys.
	p := openOn(t, browser, srv.URL("/"), "help", phonePortrait)
	p.do(chromedp.Click(chromedp.ID("open-help")))
	help := mustEval[string](p, `document.getElementById('help').open ? document.getElementById('help').textContent : ''`)
	for _, w := range []string{"Tap", "Pinch", "one finger", "Scroll", "Enter"} {
		if !strings.Contains(help, w) {
			t.Errorf("the help does not mention %q", w)
		}
	}
	p.keepScreenshot("phone-portrait-help")
}

// templatePNG is a 6×4 image: a red top row with a transparent gap, a blue
// second row, the rest transparent.
func templatePNG(t *testing.T) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 6, 4))
	red := color.NRGBA{0xe5, 0x00, 0x00, 0xff}
	blue := color.NRGBA{0x00, 0x00, 0xea, 0xff}
	for x := range 6 {
		if x != 2 {
			img.SetNRGBA(x, 0, red)
		}
		img.SetNRGBA(x, 1, blue)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "heart.png")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// countWrites counts the pixel writes the page has put on its WebSocket
// (recorded by a wrapper installed before the page's own scripts).
func (p *page) countWrites() int {
	p.t.Helper()
	return mustEval[int](p, `(window.__pixelWrites || []).length`)
}

func (p *page) recordWrites() {
	p.t.Helper()
	p.call("installing the write recorder", func(ctx context.Context) error {
		_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.__pixelWrites = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  if (typeof data === 'string' && data.includes('"pixel_update"')) window.__pixelWrites.push(data);
  return send.call(this, data);
};`,
		})
		return err
	})
}

// TestTemplateIsShownAndNeverSent: an image loaded as a template is drawn
// over the canvas, kept for the next visit, leads from wrong pixel to wrong
// pixel with the wanted colour in hand, and nothing of it reaches the
// server until the person paints.
func TestTemplateIsShownAndNeverSent(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=40", "CANVAS_HEIGHT=30")
	before := getCanvas(t, srv)

	p := openTab(t, browser, "template")
	p.emulate(desktop)
	p.recordWrites()
	p.do(chromedp.Navigate(srv.URL("/")))
	p.waitState("ready and live", 20*time.Second, func(s uiState) bool { return s.Ready && s.Connected })
	p.do(chromedp.Click(chromedp.ID("guide-ok")))

	p.do(chromedp.Click(chromedp.CSS("#template-menu > summary")))
	p.do(chromedp.SetUploadFiles(chromedp.ID("template-file"), []string{templatePNG(t)}))
	p.waitTrue("template shown", 10*time.Second, `!!document.getElementById('overlay-layer').dataset.template`)
	if name := mustEval[string](p, `document.getElementById('template-name').textContent`); !strings.Contains(name, "6×4") {
		t.Errorf("template name %q does not give its size", name)
	}
	// Put it at (10, 5), full strength, by the form as a person would.
	p.do(
		chromedp.SetValue(chromedp.ID("template-x"), "10"),
		chromedp.SetValue(chromedp.ID("template-y"), "5"),
	)
	p.do(chromedp.Evaluate[chromedp.Void](`(() => { for (const id of ['template-x', 'template-y']) document.getElementById(id).dispatchEvent(new Event('input')); })()`))
	p.waitTrue("template at (10,5)", 10*time.Second, `document.getElementById('overlay-layer').dataset.template.startsWith('10,5,1,')`)

	// The layer shows the template's red over pixel (11, 5), and nothing over (12, 5) (transparent) or (9, 5).
	overlayAlpha := func(x, y int) int {
		return mustEval[int](p, fmt.Sprintf(`(() => {
			const c = %s.clientPointOf(%d, %d), l = document.getElementById('overlay-layer'), r = l.getBoundingClientRect();
			const k = l.width / r.width;
			return l.getContext('2d').getImageData(Math.floor((c.x - r.left) * k), Math.floor((c.y - r.top) * k), 1, 1).data[3];
		})()`, hook, x, y))
	}
	p.nextFrame()
	if a := overlayAlpha(11, 5); a == 0 {
		t.Errorf("nothing drawn over (11,5), where the template is red")
	}
	if a := overlayAlpha(12, 5); a != 0 {
		t.Errorf("alpha %d over (12,5), where the template is transparent", a)
	}
	if a := overlayAlpha(9, 5); a != 0 {
		t.Errorf("alpha %d over (9,5), left of the template", a)
	}
	p.keepScreenshot("template-overlay")

	// Next pixel to fix: the first one in reading order, with its colour in hand.
	p.do(chromedp.Click(chromedp.ID("template-next")))
	p.waitTrue("marked (10,5)", 10*time.Second, `document.getElementById('overlay-layer').dataset.mark === '10,5'`)
	s := p.waitState("red in hand", 10*time.Second, func(s uiState) bool { return s.Color == "#E50000" })
	if s.View.Scale < 12 {
		t.Errorf("the view did not zoom in to the pixel: scale %v", s.View.Scale)
	}
	if mustEval[bool](p, `document.getElementById('template-menu').open`) {
		t.Errorf("the template panel stayed open over the pixel it went to")
	}
	p.do(chromedp.Click(chromedp.ID("template-next-float")))
	p.waitTrue("marked (11,5)", 10*time.Second, `document.getElementById('overlay-layer').dataset.mark === '11,5'`)
	p.keepScreenshot("template-next-pixel")

	// Nothing was sent: no write on the socket, the server's canvas as it was.
	if n := p.countWrites(); n != 0 {
		t.Fatalf("%d pixel writes sent while only using the template", n)
	}
	if after := getCanvas(t, srv); after.Seq != before.Seq {
		t.Fatalf("server seq went from %d to %d while only using the template", before.Seq, after.Seq)
	}

	// Paint the pixel in view: that, and only that, is sent.
	p.clickPixel(11, 5)
	p.waitSettled(10 * time.Second)
	if n := p.countWrites(); n != 1 {
		t.Errorf("%d writes after one click, want 1", n)
	}
	if got := serverPixel(t, srv, 11, 5); got != "#E50000" {
		t.Errorf("server pixel (11,5) = %s, want red", got)
	}

	// Kept for the next visit of this canvas.
	p.do(chromedp.Reload())
	p.waitState("live again", 20*time.Second, func(s uiState) bool { return s.Ready && s.Connected })
	p.waitTrue("template restored", 10*time.Second, `(document.getElementById('overlay-layer').dataset.template || '').startsWith('10,5,1,')`)

	// An address on this site works; another site is refused with a reason.
	p.do(chromedp.Click(chromedp.CSS("#template-menu > summary")))
	p.do(chromedp.SetValue(chromedp.ID("template-url"), "https://elsewhere.example/x.png"), chromedp.Click(chromedp.CSS("#template-url-form button")))
	p.waitTrue("refused", 10*time.Second, `/this site/.test(document.getElementById('template-error').textContent)`)
	p.do(chromedp.SetValue(chromedp.ID("template-url"), "/icons/icon-192.png"), chromedp.Click(chromedp.CSS("#template-url-form button")))
	p.waitTrue("icon as template", 10*time.Second, `/192×192/.test(document.getElementById('template-name').textContent)`)
	if n := p.countWrites(); n != 0 {
		t.Errorf("%d writes after the reload, with only the template used", n)
	}
	// Esc closes the panel, as it does the other menus.
	p.do(chromedp.Focus(chromedp.ID("template-url")))
	p.press(kb.Escape)
	p.waitTrue("panel closed by Esc", 10*time.Second, `!document.getElementById('template-menu').open`)
}

// TestMinimapFollowsTheView: on a canvas larger than the view the minimap
// appears, its viewport rectangle moves with a pan, and a click on it
// moves the view there.
func TestMinimapFollowsTheView(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=1000", "CANVAS_HEIGHT=1000")
	p := openOn(t, browser, srv.URL("/"), "minimap", desktop)
	if !mustEval[bool](p, `document.getElementById('minimap').hidden`) {
		t.Errorf("the minimap is shown while the whole canvas is in view")
	}
	for range 8 {
		before := p.state().View.Scale
		p.press("+")
		p.waitState("zoomed in", 15*time.Second, func(s uiState) bool { return s.View.Scale > before })
		if p.state().View.Scale >= 4 {
			break
		}
	}
	p.waitTrue("minimap shown", 10*time.Second, `!document.getElementById('minimap').hidden`)
	rect := func() [4]float64 {
		p.nextFrame()
		var r [4]float64
		v := mustEval[string](p, `document.getElementById('minimap').dataset.viewport || ''`)
		if _, err := fmt.Sscanf(v, "%g,%g,%g,%g", &r[0], &r[1], &r[2], &r[3]); err != nil {
			t.Fatalf("minimap viewport %q: %v", v, err)
		}
		return r
	}
	r0 := rect()
	v0 := p.state().View
	p.do(chromedp.Click(chromedp.ID("tool-pan")))
	left, top, width, height := p.canvasRect()
	from := point{left + math.Round(width/2), top + math.Round(height/2)}
	p.drag(from, point{from.X - 100, from.Y - 60}, point{from.X - 200, from.Y - 120})
	v1 := p.state().View
	if v1.Ox == v0.Ox {
		t.Fatalf("the pan did not move the view: %+v", v1)
	}
	r1 := rect()
	const mapScale = 160.0 / 1000
	wantDX := (v0.Ox - v1.Ox) / v1.Scale * mapScale
	wantDY := (v0.Oy - v1.Oy) / v1.Scale * mapScale
	if math.Abs(r1[0]-r0[0]-wantDX) > 0.2 || math.Abs(r1[1]-r0[1]-wantDY) > 0.2 {
		t.Errorf("minimap rectangle moved by (%.1f,%.1f), want (%.1f,%.1f)", r1[0]-r0[0], r1[1]-r0[1], wantDX, wantDY)
	}
	p.keepScreenshot("minimap")

	// A click on the minimap centres the view there.
	m := mustEval[struct{ Left, Top float64 }](p, `(() => { const r = document.getElementById('minimap').getBoundingClientRect(); return {left: r.left, top: r.top}; })()`)
	p.do(chromedp.MouseClickXY(m.Left+120, m.Top+40))
	s := p.waitState("view moved", 10*time.Second, func(s uiState) bool { return s.View.Ox != v1.Ox })
	cx := (width/2 - s.View.Ox) / s.View.Scale
	cy := (height/2 - s.View.Oy) / s.View.Scale
	if math.Abs(cx-750) > 8 || math.Abs(cy-250) > 8 {
		t.Errorf("after a click on the minimap at (750,250) the view is centred on (%.0f,%.0f)", cx, cy)
	}
}

// TestActivityEntryShowsThePixel: clicking an entry of the activity panel
// zooms to that pixel and marks it.
func TestActivityEntryShowsThePixel(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=50", "CANVAS_HEIGHT=50")
	ada := openOn(t, browser, srv.URL("/"), "ada", desktop)
	bea := openOn(t, browser, srv.URL("/"), "bea", desktop)
	bea.setName("Bea")
	bea.clickPixel(40, 30)
	bea.waitSettled(10 * time.Second)
	ada.waitTrue("an activity entry", 15*time.Second, `!!document.querySelector('#activity button')`)
	ada.do(chromedp.Click(chromedp.CSS("#activity button")))
	ada.waitTrue("marked (40,30)", 10*time.Second, `document.getElementById('overlay-layer').dataset.mark === '40,30'`)
	s := ada.state()
	_, _, width, height := ada.canvasRect()
	cx := (width/2 - s.View.Ox) / s.View.Scale
	cy := (height/2 - s.View.Oy) / s.View.Scale
	if s.View.Scale < 12 || math.Abs(cx-40.5) > 1 || math.Abs(cy-30.5) > 1 {
		t.Errorf("after the click the view is %+v, centred on (%.1f,%.1f); want (40.5,30.5) at 12× or more", s.View, cx, cy)
	}
	ada.keepScreenshot("activity-jump")
}

// TestBudgetRingSaysWait: a stroke longer than the pixel budget empties
// the ring around the colour, which says how long to wait, and fills up
// again once everything is sent.
func TestBudgetRingSaysWait(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=50", "CANVAS_HEIGHT=50")
	p := openOn(t, browser, srv.URL("/"), "budget", desktop)
	if st := mustEval[string](p, `document.getElementById('quota').dataset.state`); st != "full" {
		t.Fatalf("budget ring %q before painting, want full", st)
	}
	// 100 pixels: two rows there and back, more than the budget holds.
	p.dragPixels([2]int{0, 10}, [2]int{49, 10}, [2]int{49, 11}, [2]int{0, 11})
	p.waitTrue("the ring says wait", 10*time.Second,
		`document.getElementById('quota').dataset.state === 'wait' && /^Wait \d+ s$/.test(document.getElementById('quota-text').textContent)`)
	p.keepScreenshot("budget-wait")
	p.waitSettled(30 * time.Second)
	p.waitTrue("the ring full again", 20*time.Second, `document.getElementById('quota').dataset.state === 'full'`)
	if txt := mustEval[string](p, `document.getElementById('quota-text').textContent`); txt != "" {
		t.Errorf("a full ring still says %q", txt)
	}
}

// TestServiceWorkerServesThePageWhileTheServerIsDown: after one visit, a
// reload while the server is down opens the page (from the worker's cache),
// which says it cannot reach the server instead of the browser's error
// page and shows the canvas as it last saw it, and goes live by itself
// when the server is back.
func TestServiceWorkerServesThePageWhileTheServerIsDown(t *testing.T) {
	browser := startBrowser(t)
	srv, env := startPlayground(t, "CANVAS_WIDTH=40", "CANVAS_HEIGHT=40")
	putPixels(t, srv, []pixelWrite{{X: 3, Y: 3, Color: "#E50000"}})
	p := openOn(t, browser, srv.URL("/"), "offline", desktop)
	p.waitPromise("the service worker in control, its cache filled", 20*time.Second,
		`!!navigator.serviceWorker.controller && caches.has('pixelplayground-shell-v1')`)
	p.waitPromise("the page's files cached", 20*time.Second,
		`caches.open('pixelplayground-shell-v1').then((c) => c.keys()).then((k) => k.length >= 50)`)
	// The API is never cached.
	if n, err := awaitJS[int](p, `caches.open('pixelplayground-shell-v1').then((c) => c.keys()).then((k) => k.filter((r) => new URL(r.url).pathname.startsWith('/api/')).length)`); err != nil || n != 0 {
		t.Errorf("%d API answers in the cache (%v)", n, err)
	}

	if err := srv.Terminate(t, 15*time.Second); err != nil {
		t.Fatalf("stopping the server: %v", err)
	}
	p.do(chromedp.Navigate(srv.URL("/")))
	p.waitTrue("the page, not the browser's error page", 15*time.Second,
		`location.protocol === 'http:' && !!document.getElementById('canvas') && !!window.__pixelPlayground`)
	p.waitState("saying the server cannot be reached", 20*time.Second, func(s uiState) bool { return s.Connection == "error" })
	text := mustEval[string](p, `document.getElementById('loading-text').textContent`)
	if !strings.Contains(text, "Can't reach the server") {
		t.Errorf("the page says %q while the server is down, want it to say it cannot reach the server", text)
	}
	t.Logf("while the server is down the page says: %q", text)
	// With the canvas as this browser last saw it (kept when the page was left).
	p.waitTrue("the last picture shown", 10*time.Second, `document.getElementById('last-seen')?.dataset.ready === 'true'`)
	if px := mustEval[[]int](p, `Array.from(document.querySelector('#last-seen canvas').getContext('2d').getImageData(3, 3, 1, 1).data)`); len(px) != 4 || px[0] != 0xe5 || px[1] != 0 || px[2] != 0 {
		t.Errorf("the last picture's pixel (3,3) is %v, want red", px)
	}
	p.keepScreenshot("offline-reload")

	testbin.StartOnPort(t, testbin.Build(t, "./apps/playground"), srv.Port, env...)
	p.waitState("live again by itself", 40*time.Second, func(s uiState) bool { return s.Ready && s.Connected })
	if got := p.pixelAt(3, 3); got != "#E50000" {
		t.Errorf("pixel (3,3) = %s after the server came back, want red", got)
	}
}
