package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
)

// colorScheme has the page's prefers-color-scheme answer theme ("light" or
// "dark"), as a system setting would.
func (p *page) colorScheme(theme string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: theme}},
	})
	if err != nil {
		p.t.Fatalf("%s: emulating the %s theme: %v", p.label, theme, err)
	}
	// Colours change with a short transition: measure the new theme, not a blend.
	p.waitTrue(theme+" theme", 5*time.Second, `matchMedia('(prefers-color-scheme: `+theme+`)').matches &&
		document.getAnimations().every((a) => a.playState !== 'running')`)
}

// swatchContrastJS measures, for every colour swatch on the page (palette,
// recent colours, the current colour), the contrast between the border as
// it is painted (its colour over the swatch's own background, for a
// translucent one) and the panel behind the swatch, by WCAG's formula.
const swatchContrastJS = `(() => {
	const rgba = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
	const over = (top, under) => top.slice(0, 3).map((c, i) => c * top[3] + under[i] * (1 - top[3]));
	const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
	const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
	const backdrop = (el) => { for (let n = el.parentElement; n; n = n.parentElement) { const c = rgba(getComputedStyle(n).backgroundColor); if (c && c[3] > 0) return c; } return [255, 255, 255, 1]; };
	const out = [];
	for (const el of document.querySelectorAll('.swatch, .current-chip')) {
		const cs = getComputedStyle(el);
		if (el.getBoundingClientRect().width === 0) continue;
		const fill = rgba(cs.backgroundColor), edge = rgba(cs.borderTopColor), width = parseFloat(cs.borderTopWidth);
		const panel = backdrop(el);
		const painted = width > 0 && edge ? over(edge, over(fill, panel)) : over(fill, panel);
		out.push({ what: (el.dataset.color || el.id) + ' border ' + cs.borderTopColor + ' ' + width + 'px', ratio: ratio(painted, panel) });
	}
	return out;
})()`

type swatchContrast struct {
	What  string  `json:"what"`
	Ratio float64 `json:"ratio"`
}

// TestSwatchBordersStandOutInBothThemes: every colour swatch's border has at
// least 3:1 contrast against its panel (WCAG 1.4.11 for the outline of a
// control), in the light and in the dark theme. Before, the near-black
// default colour had 1.09:1 against the dark panel: invisible.
func TestSwatchBordersStandOutInBothThemes(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=32", "CANVAS_HEIGHT=32")
	pg := openPage(t, browser, srv.URL("/"), "swatches")
	pg.clickPixel(3, 3) // a recent colour too
	for _, theme := range []string{"light", "dark"} {
		pg.colorScheme(theme)
		got := mustEval[[]swatchContrast](pg, swatchContrastJS)
		if len(got) < 17 {
			t.Fatalf("%s: measured %d swatches, want the 16 of the palette, a recent one and the current colour", theme, len(got))
		}
		for _, s := range got {
			if s.Ratio < 3 {
				t.Errorf("%s theme: swatch %s has %.2f:1 against its panel, want at least 3:1", theme, s.What, s.Ratio)
			}
		}
		pg.screenshot(theme)
	}
}

// axeSource is axe-core (ui/package.json's devDependencies, installed by
// `npm ci --prefix ui`), skipping the test when it is not installed, except
// in CI, where that is a broken setup.
func axeSource(t *testing.T) string {
	t.Helper()
	path := filepath.Join(testbin.ModuleRoot(t), "ui", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(path)
	if err != nil {
		msg := "axe-core is not installed (" + err.Error() + "); run `npm ci --prefix ui`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return string(b)
}

// axeSerious runs axe-core on the page as it is now and lists its serious
// and critical violations, each with a few of the elements concerned.
func (p *page) axeSerious(src string) []string {
	p.t.Helper()
	if !mustEval[bool](p, `typeof window.axe === 'object'`) {
		// Injected through the DevTools protocol, as a console would: the
		// page's own policy (scripts from its origin only) stays as it is.
		mustEval[bool](p, src+";\ntrue")
	}
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
		r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) =>
			v.impact + ' ' + v.id + ': ' + v.help + ' (' + v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ') + ')'))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: running axe-core: %v", p.label, err)
	}
	return got
}

// TestAccessibilityAxe: axe-core finds no serious or critical violation on
// the canvas page (with a pixel painted, so the activity and recent colours
// are filled in) and on the lobby, in the light and the dark theme.
func TestAccessibilityAxe(t *testing.T) {
	src := axeSource(t)
	browser := startBrowser(t)
	srv, _ := startPlayground(t, "CANVAS_WIDTH=32", "CANVAS_HEIGHT=32")

	canvas := openPage(t, browser, srv.URL("/"), "axe-canvas")
	canvas.clickPixel(4, 4)
	canvas.waitSettled(10 * time.Second)
	canvas.waitTrue("the activity entry", 5*time.Second, `document.querySelectorAll('#activity li').length > 0`)
	lobby := openTab(t, browser, "axe-lobby")
	lobby.do(chromedp.Navigate(srv.URL("/canvases")), chromedp.WaitVisible(`#nc-name`))

	for _, p := range []*page{canvas, lobby} {
		for _, theme := range []string{"light", "dark"} {
			p.colorScheme(theme)
			for _, v := range p.axeSerious(src) {
				t.Errorf("%s, %s theme: %s", p.label, theme, v)
			}
		}
	}
}
