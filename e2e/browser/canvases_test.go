package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestCanvasFromTheLobby is a new canvas's whole life in the real
// playground: created from the lobby's form, drawn on from two pages (each
// sees the other's pixels, and the main canvas is untouched), shared as a
// link that opens the same canvas, and listed in the lobby with its
// thumbnail.
func TestCanvasFromTheLobby(t *testing.T) {
	browser := startBrowser(t)
	srv, _ := startPlayground(t)

	// The lobby: create a canvas; the page moves to it.
	ada := openTab(t, browser, "ada")
	ada.do(
		chromedp.Navigate(srv.URL("/canvases")),
		chromedp.WaitVisible(`#nc-name`),
		chromedp.SetValue(`#nc-name`, "Night Sky"),
		chromedp.SetValue(`#nc-width`, "64"),
		chromedp.SetValue(`#nc-height`, "48"),
		chromedp.Click(`#nc-submit`),
	)
	st := ada.waitState("the new canvas, live", 20*time.Second, func(s uiState) bool {
		return s.Ready && s.Connected && s.Canvas != "" && s.Canvas != "main"
	})
	slug := st.Canvas
	if st.Width != 64 || st.Height != 48 {
		t.Fatalf("the new canvas is %dx%d, want 64x48", st.Width, st.Height)
	}
	if path := mustEval[string](ada, "location.pathname"); path != "/c/"+slug {
		t.Fatalf("after creating, the page is at %s, want /c/%s", path, slug)
	}

	// Two artists on it.
	grace := openPage(t, browser, srv.URL("/c/"+slug), "grace")
	const red, blue = "#E50000", "#0083C7"
	ada.pickColor(red)
	grace.pickColor(blue)
	ada.clickPixel(3, 4)
	grace.clickPixel(60, 40)
	grace.waitTrue("showing ada's pixel", 20*time.Second, fmt.Sprintf("%s.pixelAt(3, 4) === %q", hook, red))
	ada.waitTrue("showing grace's pixel", 20*time.Second, fmt.Sprintf("%s.pixelAt(60, 40) === %q", hook, blue))
	ada.waitSettled(10 * time.Second)
	grace.waitSettled(10 * time.Second)

	var onCanvas struct{ Pixels map[string]string }
	getJSON(t, srv.URL("/api/canvases/"+slug+"/canvas"), &onCanvas)
	if onCanvas.Pixels["3,4"] != red || onCanvas.Pixels["60,40"] != blue {
		t.Fatalf("the server's canvas %s has (3,4)=%s (60,40)=%s", slug, onCanvas.Pixels["3,4"], onCanvas.Pixels["60,40"])
	}
	if main := getCanvas(t, srv); main.Seq != 0 {
		t.Fatalf("the main canvas changed (seq %d): canvases are not isolated", main.Seq)
	}

	// Share: the link names this canvas and a spot, and opens it.
	ada.do(chromedp.Click(`#share`))
	ada.waitTrue("a share link", 10*time.Second, `document.getElementById("share-url").value !== ""`)
	link := mustEval[string](ada, `document.getElementById("share-url").value`)
	u, err := url.Parse(link)
	if err != nil || u.Path != "/c/"+slug || u.Query().Get("x") == "" || u.Query().Get("zoom") == "" {
		t.Fatalf("share link %q: want /c/%s with a position", link, slug)
	}
	friend := openPage(t, browser, link, "friend")
	if got := friend.state().Canvas; got != slug {
		t.Fatalf("the shared link opened canvas %q, want %q", got, slug)
	}
	friend.waitTrue("showing the drawing", 20*time.Second, fmt.Sprintf("%s.pixelAt(3, 4) === %q", hook, red))

	// The lobby lists it, with a thumbnail that loaded.
	lobby := openTab(t, browser, "lobby")
	lobby.do(chromedp.Navigate(srv.URL("/canvases")))
	card := fmt.Sprintf(`document.querySelector('a.canvas-card[data-slug=%q]')`, slug)
	lobby.waitTrue("the canvas listed with its thumbnail", 20*time.Second,
		card+` !== null && `+card+`.querySelector("img").complete && `+card+`.querySelector("img").naturalWidth > 0`)
	if name := mustEval[string](lobby, card+`.querySelector(".cc-name").textContent`); !strings.Contains(name, "Night Sky") {
		t.Fatalf("the lobby names it %q", name)
	}
	lobby.screenshot("lobby")
	ada.screenshot("canvas-page")
}
