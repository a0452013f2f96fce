package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"strings"
	"testing"

	"github.com/pixelplayground/pixelplayground/ui"
)

// TestInstallableApp: the embedded UI is an installable web app as served:
// the pages link the manifest, the manifest is served as one and every
// icon it names is a PNG of the size it says; the service worker is a
// script at the root, so its scope can be the whole site.
func TestInstallableApp(t *testing.T) {
	h := newHarness(t, Options{Files: ui.FS()})
	for _, page := range []string{"/", "/canvases", "/c/night-sky"} {
		if body := h.do("GET", page).Body(); !bytes.Contains(body, []byte(`<link rel="manifest" href="/manifest.webmanifest">`)) {
			t.Errorf("GET %s does not link the manifest", page)
		}
	}
	resp := h.do("GET", "/manifest.webmanifest")
	if ct := string(resp.Header.ContentType()); resp.StatusCode() != 200 || ct != "application/manifest+json; charset=utf-8" {
		t.Fatalf("GET /manifest.webmanifest = %d %s", resp.StatusCode(), ct)
	}
	var m struct {
		Name, StartURL, Display string
		Icons                   []struct{ Src, Sizes, Type, Purpose string }
	}
	body := resp.Body()
	if enc := resp.Header.Peek("Content-Encoding"); len(enc) > 0 {
		t.Fatalf("manifest answered %s without asking", enc)
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	var raw map[string]any
	_ = json.Unmarshal(body, &raw)
	if raw["start_url"] != "/" || raw["display"] != "standalone" || m.Name == "" {
		t.Errorf("manifest start_url %v, display %v, name %q", raw["start_url"], raw["display"], m.Name)
	}
	purposes := map[string]bool{}
	for _, ic := range m.Icons {
		purposes[ic.Purpose] = true
		r := h.do("GET", ic.Src)
		if r.StatusCode() != 200 || string(r.Header.ContentType()) != "image/png" {
			t.Errorf("GET %s = %d %s", ic.Src, r.StatusCode(), r.Header.ContentType())
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(r.Body()))
		if err != nil || fmt.Sprintf("%dx%d", cfg.Width, cfg.Height) != ic.Sizes {
			t.Errorf("%s is %dx%d (%v), the manifest says %s", ic.Src, cfg.Width, cfg.Height, err, ic.Sizes)
		}
	}
	if !purposes["any"] || !purposes["maskable"] {
		t.Errorf("icon purposes %v, want any and maskable", purposes)
	}
	sw := h.do("GET", "/sw.js")
	if sw.StatusCode() != 200 || string(sw.Header.ContentType()) != "text/javascript; charset=utf-8" {
		t.Errorf("GET /sw.js = %d %s", sw.StatusCode(), sw.Header.ContentType())
	}
	// Revalidated on every load, so a deployment's new worker is found at once.
	if cc := string(sw.Header.Peek("Cache-Control")); cc != "no-cache" {
		t.Errorf("/sw.js Cache-Control %q", cc)
	}
	if !strings.Contains(string(sw.Body()), "addEventListener('fetch'") {
		t.Errorf("/sw.js is not the service worker")
	}
}
