package e2e

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestExportDownloadsTheCanvas: the export menu saves the canvas as a PNG
// at 1× (one image pixel per canvas pixel) and scaled up (a block per
// pixel), each exactly the canvas the server holds. It also shows that the
// page's Content-Security-Policy is in force: an injected inline script is
// refused.
func TestExportDownloadsTheCanvas(t *testing.T) {
	browserCtx := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=40", "CANVAS_HEIGHT=30")
	painted := []pixelWrite{{0, 0, "#E50000"}, {39, 0, "#0083C7"}, {0, 29, "#02BE01"}, {39, 29, "#222222"}, {17, 11, "#820080"}}
	putPixels(t, srv, painted)

	p := openPage(t, browserCtx, srv.URL("/"), "exporter")
	p.waitTrue("showing the painted pixels", 15*time.Second, fmt.Sprintf("%s.pixelAt(17, 11) === %q", hook, "#820080"))

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorAllow,
		BrowserContextID: chromedp.FromContext(p.ctx).BrowserContextID,
		DownloadPath:     dir,
	}); err != nil {
		t.Fatalf("allowing downloads: %v", err)
	}

	server := getCanvas(t, srv).ordered()
	for _, scale := range []int{1, 4} {
		before := pngsIn(t, dir)
		p.do(
			chromedp.Click(chromedp.CSS("#export-menu > summary")),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-export-scale="%d"]`, scale))),
		)
		path := waitNewPNG(t, dir, before, 15*time.Second)
		if !strings.HasSuffix(path, fmt.Sprintf("-%dx.png", scale)) {
			t.Errorf("the %d× export is named %s", scale, filepath.Base(path))
		}
		img := decodePNG(t, path)
		if b := img.Bounds(); b.Dx() != 40*scale || b.Dy() != 30*scale {
			t.Fatalf("the %d× export is %dx%d, want %dx%d", scale, b.Dx(), b.Dy(), 40*scale, 30*scale)
		}
		wrong := 0
		for y := range 30 {
			for x := range 40 {
				want := server[y*40+x]
				// Every image pixel of the block, not just one corner.
				for dy := range scale {
					for dx := range scale {
						if got := hexAt(img, x*scale+dx, y*scale+dy); got != want {
							if wrong < 5 {
								t.Errorf("%d× export: canvas pixel (%d,%d) has %s at image (%d,%d), the server holds %s", scale, x, y, got, x*scale+dx, y*scale+dy, want)
							}
							wrong++
						}
					}
				}
			}
		}
		if wrong > 0 {
			t.Fatalf("%d× export: %d image pixels differ from the server's canvas", scale, wrong)
		}
	}
	p.screenshot("after-export")

	// The policy is real: an inline script injected into the page does not
	// run, and the browser reports it.
	ran := mustEval[bool](p, `(() => {
		const s = document.createElement('script');
		s.textContent = 'window.__inlineRan = true';
		document.body.appendChild(s);
		return window.__inlineRan === true;
	})()`)
	if ran {
		t.Fatal("an inline script ran: the page has no Content-Security-Policy in force")
	}
	p.waitTrue("the refused inline script reported", 5*time.Second, "window.__cspViolations.some((v) => v.startsWith('script-src'))")
	mustEval[int](p, "(window.__cspViolations = []).length") // seen on purpose
}

func pngsIn(t *testing.T, dir string) map[string]bool {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	return seen
}

// waitNewPNG waits for a finished download (Chromium writes *.crdownload
// and renames it at the end) that was not in before.
func waitNewPNG(t *testing.T, dir string, before map[string]bool, within time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for n := range pngsIn(t, dir) {
			if !before[n] {
				return n
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	t.Fatalf("no new PNG in the download folder within %s; it holds %v", within, entries)
	return ""
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", filepath.Base(path), err)
	}
	return img
}

// hexAt is the colour at (x, y) as '#RRGGBB'; a pixel that is not opaque
// is reported as such, since the export must not have any.
func hexAt(img image.Image, x, y int) string {
	r, g, b, a := img.At(img.Bounds().Min.X+x, img.Bounds().Min.Y+y).RGBA()
	if a != 0xffff {
		return fmt.Sprintf("alpha %d", a>>8)
	}
	return fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
}
