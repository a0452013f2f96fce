package e2e

import (
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
