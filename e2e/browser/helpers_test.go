package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

// testBudget bounds a whole test: the browser runs under a context with this
// deadline, so a hung page ends the test instead of the package timeout.
const testBudget = 90 * time.Second

// stepTimeout bounds one browser action (a navigation, a click, a read).
const stepTimeout = 15 * time.Second

// hook is the page's read-only test API (documented in ui/README.md).
const hook = "window.__pixelPlayground"

// findChromium returns the browser to drive, skipping the test when there
// is none, except in CI, where a missing browser is a broken setup.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium on PATH (looked for chromium, chromium-browser, google-chrome); install it with `apt-get install -y --no-install-recommends chromium`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// startBrowser launches one headless Chromium for the test, with its own
// profile, and closes it at cleanup.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		// Wider than the layout's 1100 px breakpoint, so the artists panel
		// is a column and not a drawer over the canvas.
		chromedp.WindowSize(1400, 900),
	)
	budget, cancelBudget := context.WithTimeout(context.Background(), testBudget)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(budget, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelBudget()
	})
	// The first Run starts the browser and ties its life to browserCtx, so
	// it must run without a shorter timeout of its own.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return browserCtx
}

// page is one tab in its own browser context (own localStorage, own
// cookies), as if a different person had opened the playground.
type page struct {
	t     *testing.T
	ctx   context.Context
	label string
}

// openPage opens url in a fresh browser context and waits until the page
// has loaded the canvas and caught up with the live stream.
func openPage(t *testing.T, browserCtx context.Context, url, label string) *page {
	t.Helper()
	p := openTab(t, browserCtx, label)
	p.do(chromedp.Navigate(url))
	p.waitState("ready and live", 20*time.Second, func(s uiState) bool { return s.Ready && s.Connected })
	return p
}

// openTab opens an empty tab in a fresh browser context, for a test that
// navigates it itself (to a page that is not the app, such as the lobby).
func openTab(t *testing.T, browserCtx context.Context, label string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: opening a tab: %v", label, err)
	}
	p := &page{t: t, ctx: ctx, label: label}
	p.recordPolicyViolations()
	return p
}

// recordPolicyViolations has every document of the tab note what its
// Content-Security-Policy blocked, and fails the test at its end if
// anything was: the page is meant to work entirely within its policy.
func (p *page) recordPolicyViolations() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`,
	})
	if err != nil {
		p.t.Fatalf("%s: installing the policy-violation recorder: %v", p.label, err)
	}
	p.t.Cleanup(func() {
		// A page that is gone (the test failed, the browser ended) has
		// nothing more to say.
		if got, err := evalJS[[]string](p, "window.__cspViolations || []"); err == nil && len(got) > 0 {
			p.t.Errorf("%s: the page's Content-Security-Policy blocked: %q", p.label, got)
		}
	})
}

// do runs actions on the page, bounded by stepTimeout; a failure ends the test.
func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", p.label, err)
	}
}

// evalJS evaluates expr in the page and decodes its value into T.
func evalJS[T any](p *page, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// mustEval is evalJS that ends the test on error.
func mustEval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := evalJS[T](p, expr)
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.label, expr, err)
	}
	return v
}

// uiState mirrors __pixelPlayground.state().
type uiState struct {
	Ready        bool         `json:"ready"`
	Canvas       string       `json:"canvas"`
	Connected    bool         `json:"connected"`
	Connection   string       `json:"connection"`
	ClientID     string       `json:"clientId"`
	Seq          *uint64      `json:"seq"`
	Username     string       `json:"username"`
	Width        int          `json:"width"`
	Height       int          `json:"height"`
	Users        []string     `json:"users"`
	ActiveUsers  int          `json:"activeUsers"`
	Cursors      []uiCursor   `json:"cursors"`
	PendingCount int          `json:"pendingCount"`
	Tool         string       `json:"tool"`
	Color        string       `json:"color"`
	View         viewportView `json:"view"`
}

type uiCursor struct {
	ClientID string  `json:"clientId"`
	Username string  `json:"username"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
}

type viewportView struct {
	Scale float64 `json:"scale"`
	Ox    float64 `json:"ox"`
	Oy    float64 `json:"oy"`
}

func (p *page) state() uiState {
	p.t.Helper()
	return mustEval[uiState](p, hook+".state()")
}

// waitState polls the test hook until cond holds; it reports the last state
// it saw when time runs out.
func (p *page) waitState(what string, timeout time.Duration, cond func(uiState) bool) uiState {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var last uiState
	var lastErr error
	for {
		// The hook appears only once the page's module has run, so an
		// early read may fail; keep polling until the deadline.
		s, err := evalJS[uiState](p, hook+".state()")
		if err == nil {
			last, lastErr = s, nil
			if cond(s) {
				return s
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			p.screenshot("timeout")
			p.t.Fatalf("%s: not %s within %s; last state %+v (error %v)", p.label, what, timeout, last, lastErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTrue polls a boolean JavaScript expression until it is true.
func (p *page) waitTrue(what string, timeout time.Duration, expr string) {
	p.t.Helper()
	p.poll(what, timeout, func() (bool, error) { return evalJS[bool](p, expr) })
}

// poll calls check until it answers true, failing the test (with a
// screenshot) once timeout has passed; the last error is in the message.
func (p *page) poll(what string, timeout time.Duration, check func() (bool, error)) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := check()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.screenshot("timeout")
			p.t.Fatalf("%s: not %s within %s (last error %v)", p.label, what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *page) pixelAt(x, y int) string {
	p.t.Helper()
	return mustEval[string](p, fmt.Sprintf("%s.pixelAt(%d, %d)", hook, x, y))
}

func (p *page) confirmedAt(x, y int) string {
	p.t.Helper()
	return mustEval[string](p, fmt.Sprintf("%s.confirmedAt(%d, %d)", hook, x, y))
}

// allPixels reads every displayed pixel in one round trip, row-major.
func (p *page) allPixels() []string {
	p.t.Helper()
	return mustEval[[]string](p, `(() => {
		const h = `+hook+`, s = h.state(), out = [];
		for (let y = 0; y < s.height; y++) for (let x = 0; x < s.width; x++) out.push(h.pixelAt(x, y));
		return out;
	})()`)
}

type point struct{ X, Y float64 }

// clientPoint is where pixel (x, y)'s centre is on screen right now.
func (p *page) clientPoint(x, y int) point {
	p.t.Helper()
	return mustEval[point](p, fmt.Sprintf("%s.clientPointOf(%d, %d)", hook, x, y))
}

// canvasRect is the #canvas element's bounding box in client coordinates.
func (p *page) canvasRect() (left, top, width, height float64) {
	p.t.Helper()
	r := mustEval[struct{ Left, Top, Width, Height float64 }](p,
		`(() => { const r = document.getElementById('canvas').getBoundingClientRect(); return {left: r.left, top: r.top, width: r.width, height: r.height}; })()`)
	return r.Left, r.Top, r.Width, r.Height
}

// clickPixel left-clicks the centre of pixel (x, y) with the mouse.
func (p *page) clickPixel(x, y int) {
	p.t.Helper()
	c := p.clientPoint(x, y)
	p.do(
		chromedp.MouseEvent(chromedp.MouseMoved, c.X, c.Y),
		chromedp.MouseClickXY(c.X, c.Y),
	)
}

// leftHeld marks a mouse move as made with the left button down, which is
// what a drag is to the page's pointer events.
func leftHeld(ev *input.DispatchMouseEventParams) {
	ev.Button = input.MouseButtonLeft
	ev.Buttons = 1
}

// drag presses the left button at the first point, moves through the
// others and releases at the last, all in client coordinates.
func (p *page) drag(points ...point) {
	p.t.Helper()
	first, last := points[0], points[len(points)-1]
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(chromedp.MouseMoved, first.X, first.Y),
		chromedp.MouseEvent(chromedp.MousePressed, first.X, first.Y, leftHeld, chromedp.ClickCount(1)),
	}
	for _, pt := range points[1:] {
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, pt.X, pt.Y, leftHeld))
	}
	steps = append(steps, chromedp.MouseEvent(chromedp.MouseReleased, last.X, last.Y, leftHeld, chromedp.ClickCount(1)))
	p.do(steps...)
}

// dragPixels drags across the centres of the given pixels, in order.
func (p *page) dragPixels(pixels ...[2]int) {
	p.t.Helper()
	pts := make([]point, len(pixels))
	for i, px := range pixels {
		pts[i] = p.clientPoint(px[0], px[1])
	}
	p.drag(pts...)
}

// hover moves the mouse, with no button held, to the centre of pixel (x, y).
func (p *page) hover(x, y int) {
	p.t.Helper()
	c := p.clientPoint(x, y)
	p.do(chromedp.MouseEvent(chromedp.MouseMoved, c.X, c.Y))
}

// setName types the name into the #username field with the keyboard and
// commits it with Enter, as a person would.
func (p *page) setName(name string) {
	p.t.Helper()
	p.do(
		chromedp.Click(chromedp.ID("username")),
		chromedp.KeyEvent(name),
		chromedp.KeyEvent(kb.Enter),
	)
	p.waitState("named "+name, 15*time.Second, func(s uiState) bool { return s.Username == name })
}

// pickColor clicks the palette swatch of the colour.
func (p *page) pickColor(hex string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(`.swatch[data-color="` + hex + `"]`)))
	p.waitState("holding "+hex, 15*time.Second, func(s uiState) bool { return strings.EqualFold(s.Color, hex) })
}

// press types keys on whatever has focus (the page's shortcuts listen on
// the document).
func (p *page) press(keys string) {
	p.t.Helper()
	p.do(chromedp.KeyEvent(keys))
}

// waitSettled waits until every write of the page is confirmed or undone.
func (p *page) waitSettled(timeout time.Duration) uiState {
	p.t.Helper()
	return p.waitState("settled (no pending writes)", timeout, func(s uiState) bool { return s.Connected && s.PendingCount == 0 })
}

// screenshot saves the whole page as a PNG into the test's artifact
// directory (kept with `go test -artifacts`).
func (p *page) screenshot(name string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("%s: screenshot %q failed: %v", p.label, name, err)
		return
	}
	path := filepath.Join(p.t.ArtifactDir(), fmt.Sprintf("%s-%s.png", p.label, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Errorf("saving screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot: %s", path)
}

// serverCanvas is GET /api/canvas.
type serverCanvas struct {
	Width  int               `json:"width"`
	Height int               `json:"height"`
	Seq    uint64            `json:"seq"`
	Pixels map[string]string `json:"pixels"`
}

// ordered is the snapshot row-major, in the same shape as page.allPixels.
func (c serverCanvas) ordered() []string {
	out := make([]string, 0, c.Width*c.Height)
	for y := range c.Height {
		for x := range c.Width {
			out = append(out, strings.ToUpper(c.Pixels[fmt.Sprintf("%d,%d", x, y)]))
		}
	}
	return out
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

func getCanvas(t *testing.T, srv *testbin.Process) serverCanvas {
	t.Helper()
	var c serverCanvas
	getJSON(t, srv.URL("/api/canvas"), &c)
	if c.Width == 0 || len(c.Pixels) != c.Width*c.Height {
		t.Fatalf("GET /api/canvas: %dx%d with %d pixels", c.Width, c.Height, len(c.Pixels))
	}
	return c
}

// serverPixel is GET /api/pixel/{x}/{y}'s colour.
func serverPixel(t *testing.T, srv *testbin.Process, x, y int) string {
	t.Helper()
	var px struct{ Color string }
	getJSON(t, srv.URL(fmt.Sprintf("/api/pixel/%d/%d", x, y)), &px)
	return strings.ToUpper(px.Color)
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

type pixelWrite struct {
	X     int    `json:"x"`
	Y     int    `json:"y"`
	Color string `json:"color"`
}

// putPixels writes a batch through the REST API.
func putPixels(t *testing.T, srv *testbin.Process, pixels []pixelWrite) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"pixels": pixels})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, srv.URL("/api/pixels"), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("PUT /api/pixels: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		t.Fatalf("PUT /api/pixels: %s %s", resp.Status, b)
	}
}

// diffPixels lists (up to a few) positions where the page and the server
// disagree, for a failure message that says where to look.
func diffPixels(width int, page, server []string) (count int, sample []string) {
	if len(page) != len(server) {
		return -1, []string{fmt.Sprintf("page has %d pixels, server %d", len(page), len(server))}
	}
	for i := range page {
		if !strings.EqualFold(page[i], server[i]) {
			count++
			if len(sample) < 10 {
				sample = append(sample, fmt.Sprintf("(%d,%d) page %s server %s", i%width, i/width, page[i], server[i]))
			}
		}
	}
	return count, sample
}

// waitSameAsServer polls until the page shows exactly GET /api/canvas, pixel
// for pixel, with the same seq, and returns that snapshot.
func waitSameAsServer(t *testing.T, p *page, srv *testbin.Process, timeout time.Duration) serverCanvas {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c := getCanvas(t, srv)
		s := p.state()
		shown := p.allPixels()
		n, sample := diffPixels(c.Width, shown, c.ordered())
		seqOK := s.Seq != nil && *s.Seq == c.Seq
		if n == 0 && seqOK && s.PendingCount == 0 {
			return c
		}
		if time.Now().After(deadline) {
			p.screenshot("mismatch")
			pageSeq := "null"
			if s.Seq != nil {
				pageSeq = fmt.Sprint(*s.Seq)
			}
			t.Fatalf("%s: after %s the page differs from GET /api/canvas: %d pixels differ %v; page seq %s, server seq %d; %d writes pending; connection %s",
				p.label, timeout, n, sample, pageSeq, c.Seq, s.PendingCount, s.Connection)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hasCursorOf(s uiState, clientID string) bool {
	return slices.ContainsFunc(s.Cursors, func(c uiCursor) bool { return c.ClientID == clientID })
}
