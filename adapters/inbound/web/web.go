// Package web serves the browser client of the web app (and of the
// all-in-one app): the embedded UI files, `/config.js` that tells the page
// where the WebSocket and the API are.
//
// Every file is read from the embedded fs.FS once, at start-up, and served
// from memory by exact path. Nothing on disk is ever consulted, so no
// request path (`/../package.json`, `%2e%2e`, backslashes) can reach a
// file outside the UI (the old system served its own package.json).
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strings"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

// Options configures the web adapter.
type Options struct {
	// Files is the UI, index.html at its root (ui.FS()).
	Files fs.FS
	// WSURL and APIURL go to the page through /config.js. Empty means
	// "same origin": the UI derives them from its location. APIURL has no
	// /api suffix, as in the old system.
	WSURL, APIURL string
}

// Web serves the UI.
type Web struct {
	files  map[string]*file // by URL path, "/index.html"
	config *file
	// connectElsewhere lists the origins of WSURL and APIURL, which the
	// page's Content-Security-Policy must let it connect to.
	connectElsewhere string
	// imagesElsewhere is the img-src directive that lets the lobby show
	// thumbnails (canvas.png) from an API on another origin; "" when the
	// API is the page's own origin, which default-src already allows.
	imagesElsewhere string
}

// file is one response, prepared once.
type file struct {
	body         []byte
	gzipped      []byte // nil unless it is worth sending
	contentType  string
	etag         string
	cacheControl string
	page         bool // an HTML document, which gets the page's policy
}

// ConfigPath is the generated configuration script; a file of that name in
// the UI is shadowed by it.
const ConfigPath = "/config.js"

// The pages of canvases (docs/canvases.md, "The pages"): LobbyPath serves
// the UI's LobbyFile, and /c/{slug} serves index.html, the same app as /,
// which reads the slug from its URL. A UI without LobbyFile has no lobby.
const (
	LobbyPath    = "/canvases"
	LobbyFile    = "/canvases.html"
	CanvasPrefix = "/c/"
)

// gzipMinBytes is the smallest file worth compressing.
const gzipMinBytes = 1024

// New reads every file of o.Files into memory. The UI is embedded at build
// time, so an unreadable UI or one without index.html is a build defect:
// New panics, at start-up, rather than serve a page that cannot load.
func New(o Options) *Web {
	w, err := load(o)
	if err != nil {
		panic(err)
	}
	return w
}

func load(o Options) (*Web, error) {
	if o.Files == nil {
		return nil, errors.New("web: no UI files")
	}
	w := &Web{files: map[string]*file{}}
	err := fs.WalkDir(o.Files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		urlPath := "/" + name
		if urlPath == ConfigPath || !servable(urlPath) {
			return nil
		}
		body, err := fs.ReadFile(o.Files, name)
		if err != nil {
			return err
		}
		w.files[urlPath] = newFile(urlPath, body)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read UI files: %w", err)
	}
	if w.files["/index.html"] == nil {
		return nil, errors.New("web: the UI has no index.html")
	}
	w.config = newFile(ConfigPath, ConfigScript(o.WSURL, o.APIURL))
	w.config.cacheControl = "no-store" // it changes with the deployment, not the build
	for _, u := range []string{o.WSURL, o.APIURL} {
		if origin := originOf(u); origin != "" {
			w.connectElsewhere += " " + origin
		}
	}
	if origin := originOf(o.APIURL); origin != "" {
		w.imagesElsewhere = "; img-src 'self' " + origin
	}
	return w, nil
}

// originOf is scheme://host[:port] of an absolute http(s) or ws(s) URL,
// or "" for anything else (empty means same origin, which 'self' covers).
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !hostLike(u.Host) {
		return ""
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
		return u.Scheme + "://" + u.Host
	}
	return ""
}

// hostLike admits host[:port] forms only, so that nothing a client or a
// configuration sends can add a directive to the policy.
func hostLike(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// pagePolicy is the Content-Security-Policy of the page, before
// connect-src. The UI has no inline script or style and never builds
// markup from strings (names are text); the policy makes that a rule the
// browser enforces, so that a slip cannot run someone else's script. The
// page may not be framed: a framed canvas can be clicked into drawing.
// (The PNG export is a download of a blob: URL, which no fetch directive
// governs.)
// ui/test/devserver.mjs sends the same policy, so the UI's browser suites
// run under it too.
const pagePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; connect-src 'self'"

// policy is the page's Content-Security-Policy for a request to host.
// 'self' covers ws:// and wss:// to the page's own host in current
// browsers, but not in Safari before 15.4, so they are named as well.
func (w *Web) policy(host string) string {
	p := pagePolicy
	if hostLike(host) {
		p += " ws://" + host + " wss://" + host
	}
	return p + w.connectElsewhere + w.imagesElsewhere
}

// servable keeps out names a router path cannot carry or that hide files
// (dotfiles such as .DS_Store).
func servable(urlPath string) bool {
	for _, seg := range strings.Split(urlPath[1:], "/") {
		if seg == "" || seg[0] == '.' {
			return false
		}
	}
	return !strings.ContainsAny(urlPath, "{}\\?#% \t\r\n")
}

func newFile(urlPath string, body []byte) *file {
	sum := sha256.Sum256(body)
	f := &file{
		body:         body,
		contentType:  ContentType(urlPath),
		etag:         `"` + hex.EncodeToString(sum[:12]) + `"`,
		cacheControl: cacheControl(urlPath),
	}
	f.page = strings.HasPrefix(f.contentType, "text/html")
	if len(body) >= gzipMinBytes && compressible(f.contentType) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level
		_, _ = zw.Write(body)                                    // a bytes.Buffer does not fail
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			f.gzipped = buf.Bytes()
		}
	}
	return f
}

// contentTypes are set explicitly because the system's MIME table varies:
// a module script served as anything but JavaScript is refused by the
// browser.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".json":        "application/json; charset=utf-8",
	".map":         "application/json; charset=utf-8",
	".webmanifest": "application/manifest+json; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".ico":         "image/x-icon",
	".woff2":       "font/woff2",
	".woff":        "font/woff",
	".txt":         "text/plain; charset=utf-8",
	".wasm":        "application/wasm",
}

// ContentType is the Content-Type a UI file is served with.
func ContentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "json") ||
		strings.HasPrefix(contentType, "image/svg") || contentType == "application/wasm"
}

// cacheControl: the UI's file names carry no content hash, so code and
// markup are revalidated on every load (a 304 thanks to the ETag) and a
// deployment is never mixed with the previous one's modules; images and
// fonts change rarely and may be kept a day.
func cacheControl(urlPath string) string {
	switch ext := strings.ToLower(path.Ext(urlPath)); ext {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2":
		return "public, max-age=86400"
	}
	return "no-cache"
}

// ConfigScript is the body of /config.js. The values are JSON strings,
// which escape <, > and & as well as quotes, so a URL cannot end the
// string or a surrounding <script> element.
func ConfigScript(wsURL, apiURL string) []byte {
	b := []byte("window.APP_CONFIG = { WS_URL: ")
	b = jsonx.AppendString(b, wsURL)
	b = append(b, ", API_URL: "...)
	b = jsonx.AppendString(b, apiURL)
	return append(b, " };\n"...)
}

// Register adds GET and HEAD for /, /config.js, the lobby (/canvases), the
// canvas pages (/c/{slug}) and every UI file. Unknown
// paths fall to the router's NotFound, which Register sets to Serve (a JSON
// 404) unless the app set one; likewise MethodNotAllowed. /health, /ready
// and /metrics are the ops adapter's.
func (w *Web) Register(r *router.Router) {
	index := w.files["/index.html"]
	w.route(r, "/", index)
	w.route(r, ConfigPath, w.config)
	if lobby := w.files[LobbyFile]; lobby != nil {
		w.route(r, LobbyPath, lobby)
	}
	canvasPage := func(ctx *fasthttp.RequestCtx) {
		if f := w.canvasPage(string(ctx.Request.URI().PathOriginal())); f != nil {
			w.serveFile(ctx, f)
			return
		}
		httpx.NotFound(ctx)
	}
	r.GET(CanvasPrefix+"{slug}", canvasPage)
	r.HEAD(CanvasPrefix+"{slug}", canvasPage)
	for urlPath, f := range w.files {
		w.route(r, urlPath, f)
	}
	if r.NotFound == nil {
		r.NotFound = w.Serve
	}
	if r.MethodNotAllowed == nil {
		r.MethodNotAllowed = httpx.MethodNotAllowed
	}
}

func (w *Web) route(r *router.Router, urlPath string, f *file) {
	h := func(ctx *fasthttp.RequestCtx) { w.serveFile(ctx, f) }
	r.GET(urlPath, h)
	r.HEAD(urlPath, h)
}

// Serve serves a UI file by the request's exact, undecoded path, or a JSON
// 404. It is usable as a router's NotFound or on its own. A path with any
// encoding, dot segment, doubled or back slash is not a UI file name, so it
// is refused rather than cleaned into one.
func (w *Web) Serve(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		httpx.NotFound(ctx)
		return
	}
	raw := string(ctx.Request.URI().PathOriginal())
	var f *file
	switch raw {
	case "/":
		f = w.files["/index.html"]
	case ConfigPath:
		f = w.config
	case LobbyPath:
		f = w.files[LobbyFile]
	default:
		if strings.HasPrefix(raw, CanvasPrefix) {
			f = w.canvasPage(raw)
			break
		}
		if servable(raw) {
			f = w.files[raw]
		}
	}
	if f == nil {
		httpx.NotFound(ctx)
		return
	}
	w.serveFile(ctx, f)
}

// canvasPage is the page for the undecoded path /c/{slug}: index.html when
// {slug} is a slug as it is (no encoding, no trailing slash), else nil.
// Whether the canvas exists is the page's question to the API: a private
// canvas must look the same as none, and the page says so.
func (w *Web) canvasPage(raw string) *file {
	slug, ok := strings.CutPrefix(raw, CanvasPrefix)
	if !ok {
		return nil
	}
	if _, err := domain.ParseSlug(slug); err != nil {
		return nil
	}
	return w.files["/index.html"]
}

func (w *Web) serveFile(ctx *fasthttp.RequestCtx, f *file) {
	h := &ctx.Response.Header
	h.Set("Cache-Control", f.cacheControl)
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if f.page {
		h.Set("Content-Security-Policy", w.policy(string(ctx.Host())))
	}
	if f.gzipped != nil {
		h.Set("Vary", "Accept-Encoding")
	}
	if match := ctx.Request.Header.Peek("If-None-Match"); len(match) > 0 && etagMatches(match, f.etag) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(f.contentType)
	if f.gzipped != nil && ctx.Request.Header.HasAcceptEncoding("gzip") {
		h.Set("Content-Encoding", "gzip")
		ctx.Response.SetBodyRaw(f.gzipped) // shared and never modified
		return
	}
	ctx.Response.SetBodyRaw(f.body)
}

// etagMatches handles If-None-Match lists and weak validators.
func etagMatches(header []byte, etag string) bool {
	for _, part := range strings.Split(string(header), ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == etag || part == "*" {
			return true
		}
	}
	return false
}
