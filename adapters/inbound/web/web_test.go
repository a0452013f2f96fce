package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/pixelplayground/pixelplayground/ui"
)

var bigScript = "export const x = 1;\n" + strings.Repeat("// padding that compresses well\n", 200)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>Pixel Playground</title>")},
		"app.js":               {Data: []byte(bigScript)},
		"js/net.mjs":           {Data: []byte("export {}")},
		"style.css":            {Data: []byte("body{}")},
		"icon.svg":             {Data: []byte("<svg/>")},
		"icon.png":             {Data: []byte("\x89PNG fake")},
		"manifest.webmanifest": {Data: []byte("{}")},
		"data.json":            {Data: []byte(`{"a":1}`)},
		"config.js":            {Data: []byte("window.APP_CONFIG = 'stale file';")},
		".secret":              {Data: []byte("hidden")},
	}
}

type harness struct {
	handler fasthttp.RequestHandler
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	if o.Files == nil {
		o.Files = testFS()
	}
	w := New(o)
	r := router.New()
	w.Register(r)
	return &harness{handler: r.Handler}
}

func (h *harness) do(method, uri string, headers ...string) *fasthttp.Response {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, nil)
	h.handler(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

func TestStaticFiles(t *testing.T) {
	h := newHarness(t, Options{})
	for _, tc := range []struct{ path, contentType, body, cache string }{
		{"/", "text/html; charset=utf-8", "<!doctype html><title>Pixel Playground</title>", "no-cache"},
		{"/index.html", "text/html; charset=utf-8", "<!doctype html><title>Pixel Playground</title>", "no-cache"},
		{"/app.js", "text/javascript; charset=utf-8", bigScript, "no-cache"},
		{"/js/net.mjs", "text/javascript; charset=utf-8", "export {}", "no-cache"},
		{"/style.css", "text/css; charset=utf-8", "body{}", "no-cache"},
		{"/icon.svg", "image/svg+xml", "<svg/>", "no-cache"},
		{"/icon.png", "image/png", "\x89PNG fake", "public, max-age=86400"},
		{"/manifest.webmanifest", "application/manifest+json; charset=utf-8", "{}", "no-cache"},
		{"/data.json", "application/json; charset=utf-8", `{"a":1}`, "no-cache"},
	} {
		resp := h.do("GET", tc.path)
		if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != tc.contentType || string(resp.Body()) != tc.body {
			t.Errorf("GET %s = %d %q %.40q", tc.path, resp.StatusCode(), resp.Header.ContentType(), resp.Body())
		}
		if got := string(resp.Header.Peek("Cache-Control")); got != tc.cache {
			t.Errorf("GET %s Cache-Control %q, want %q", tc.path, got, tc.cache)
		}
		if string(resp.Header.Peek("X-Content-Type-Options")) != "nosniff" {
			t.Errorf("GET %s without nosniff", tc.path)
		}
	}
}

func TestETagAndGzip(t *testing.T) {
	h := newHarness(t, Options{})
	resp := h.do("GET", "/app.js")
	etag := string(resp.Header.Peek("ETag"))
	if !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
		if resp := h.do("GET", "/app.js", "If-None-Match", inm); resp.StatusCode() != 304 || len(resp.Body()) != 0 {
			t.Errorf("If-None-Match %s: %d", inm, resp.StatusCode())
		}
	}
	if resp := h.do("GET", "/app.js", "If-None-Match", `"stale"`); resp.StatusCode() != 200 {
		t.Errorf("stale ETag: %d", resp.StatusCode())
	}
	resp = h.do("GET", "/app.js", "Accept-Encoding", "gzip, deflate, br")
	if string(resp.Header.Peek("Content-Encoding")) != "gzip" || string(resp.Header.Peek("Vary")) != "Accept-Encoding" {
		t.Fatalf("no gzip: %s", resp.Header.String())
	}
	zr, err := gzip.NewReader(bytes.NewReader(resp.Body()))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != bigScript {
		t.Error("gzipped body differs")
	}
	if resp := h.do("GET", "/style.css", "Accept-Encoding", "gzip"); len(resp.Header.Peek("Content-Encoding")) != 0 {
		t.Error("a tiny file was gzipped")
	}
}

func TestConfigJS(t *testing.T) {
	h := newHarness(t, Options{WSURL: `wss://x.example/ws"</script><script>alert(1)//`, APIURL: "https://api.example\u2028"})
	resp := h.do("GET", "/config.js")
	body := string(resp.Body())
	if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != "text/javascript; charset=utf-8" ||
		string(resp.Header.Peek("Cache-Control")) != "no-store" {
		t.Fatalf("config.js: %d %s", resp.StatusCode(), resp.Header.String())
	}
	if strings.Contains(body, "</script>") || strings.Contains(body, "\u2028") || strings.Contains(body, "stale file") {
		t.Fatalf("config.js escapes badly: %s", body)
	}
	m := regexp.MustCompile(`^window\.APP_CONFIG = \{ WS_URL: ("(?:[^"\\]|\\.)*"), API_URL: ("(?:[^"\\]|\\.)*") \};\n$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("config.js shape: %s", body)
	}
	var ws, api string
	if json.Unmarshal([]byte(m[1]), &ws) != nil || json.Unmarshal([]byte(m[2]), &api) != nil {
		t.Fatalf("values are not JSON strings: %s", body)
	}
	if ws != `wss://x.example/ws"</script><script>alert(1)//` || api != "https://api.example\u2028" {
		t.Errorf("values round-trip to %q, %q", ws, api)
	}
	if got := string(ConfigScript("", "")); got != `window.APP_CONFIG = { WS_URL: "", API_URL: "" };`+"\n" {
		t.Errorf("empty config %q", got)
	}
	if node, err := exec.LookPath("node"); err == nil {
		// The browser's view: evaluating the script yields the same values.
		out, err := exec.Command(node, "-e", "var window={};"+body+"process.stdout.write(JSON.stringify(window.APP_CONFIG))").Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		var cfg struct{ WS_URL, API_URL string }
		if json.Unmarshal(out, &cfg) != nil || cfg.WS_URL != ws || cfg.API_URL != api {
			t.Errorf("node evaluates config.js to %s", out)
		}
	}
}

func TestNothingEscapesTheUI(t *testing.T) {
	h := newHarness(t, Options{})
	for _, path := range []string{
		"/../package.json", "/..%2fpackage.json", "/%2e%2e/package.json", "/%2e%2e%2fgo.mod", "/js/../../go.mod",
		"/..\\go.mod", "/js\\net.mjs", "//etc/passwd", "/etc/passwd", "/.secret", "/%2esecret", "/app.js%00", "/app%2ejs",
		"/nope.js", "/js/", "/js", "/index.html/", "/C:/Windows/win.ini",
	} {
		resp := h.do("GET", path)
		status := resp.StatusCode()
		if status == 200 {
			t.Errorf("GET %s served %.40q", path, resp.Body())
			continue
		}
		if status == 301 || status == 308 {
			// The router may redirect a sloppy path to a real UI file; never elsewhere.
			loc := string(resp.Header.Peek("Location"))
			if !strings.HasSuffix(loc, "/index.html") && !strings.HasSuffix(loc, "/app.js") && !strings.HasSuffix(loc, "/js/net.mjs") {
				t.Errorf("GET %s redirects to %q", path, loc)
			}
			continue
		}
		if status != 404 || string(resp.Body()) != `{"error":"Not found"}` {
			t.Errorf("GET %s = %d %s, want JSON 404", path, status, resp.Body())
		}
	}
	w := New(Options{Files: testFS()})
	for _, path := range []string{"/../index.html", "/%69ndex.html", "/js//net.mjs", "/./app.js", "/.secret"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		w.Serve(&ctx)
		if ctx.Response.StatusCode() != 404 {
			t.Errorf("Serve(%s) = %d, want 404", path, ctx.Response.StatusCode())
		}
	}
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/js/net.mjs")
	w.Serve(&ctx)
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != "export {}" {
		t.Errorf("Serve(/js/net.mjs) = %d", ctx.Response.StatusCode())
	}
}

func TestMethods(t *testing.T) {
	h := newHarness(t, Options{})
	resp := h.do("POST", "/app.js")
	if resp.StatusCode() != 405 || string(resp.Body()) != `{"error":"Method not allowed"}` {
		t.Errorf("POST /app.js = %d %s", resp.StatusCode(), resp.Body())
	}
}

func TestNewRefusesAUIWithoutIndex(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New accepted a UI without index.html")
		}
	}()
	New(Options{Files: fstest.MapFS{"app.js": {Data: []byte("x")}}})
}

// TestOverRealServer checks HEAD and keep-alive through fasthttp's server,
// which drops the body of HEAD responses but keeps their length.
func TestOverRealServer(t *testing.T) {
	h := newHarness(t, Options{})
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: h.handler, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	for _, method := range []string{"HEAD", "GET"} {
		req, resp := &fasthttp.Request{}, &fasthttp.Response{}
		req.Header.SetMethod(method)
		req.SetRequestURI("http://web/app.js")
		if method == "HEAD" {
			resp.SkipBody = true
		}
		if err := client.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != 200 || resp.Header.ContentLength() != len(bigScript) || string(resp.Header.ContentType()) != "text/javascript; charset=utf-8" {
			t.Errorf("%s /app.js: %d, length %d, type %s", method, resp.StatusCode(), resp.Header.ContentLength(), resp.Header.ContentType())
		}
		if method == "HEAD" && len(resp.Body()) != 0 {
			t.Errorf("HEAD returned a body")
		}
	}
}

// TestEmbeddedUI serves the real embedded UI: it loads, and every module
// script is JavaScript to the browser.
func TestEmbeddedUI(t *testing.T) {
	files := ui.FS()
	h := newHarness(t, Options{Files: files})
	if resp := h.do("GET", "/"); resp.StatusCode() != 200 || !bytes.Contains(bytes.ToLower(resp.Body()), []byte("<html")) && !bytes.Contains(bytes.ToLower(resp.Body()), []byte("<!doctype")) {
		t.Errorf("GET / = %d %.60q", resp.StatusCode(), resp.Body())
	}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path.Base(name), ".") {
			return err
		}
		resp := h.do("GET", "/"+name)
		if resp.StatusCode() != 200 {
			t.Errorf("GET /%s = %d", name, resp.StatusCode())
		}
		if strings.HasSuffix(name, ".js") && string(resp.Header.ContentType()) != "text/javascript; charset=utf-8" {
			t.Errorf("GET /%s is %s", name, resp.Header.ContentType())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPagePolicy(t *testing.T) {
	for _, c := range []struct {
		name, wsURL, apiURL, host string
		want                      []string // in connect-src, after 'self'
		absent                    []string // anywhere in the policy
		images                    string   // img-src, "" for none (default-src covers the page's own)
	}{
		{name: "same origin", host: "canvas.example:8080",
			want: []string{"ws://canvas.example:8080", "wss://canvas.example:8080"}},
		{name: "split apps", host: "localhost:3000", wsURL: "ws://localhost:3002/ws", apiURL: "http://localhost:3001",
			want: []string{"ws://localhost:3000", "wss://localhost:3000", "ws://localhost:3002", "http://localhost:3001"}, absent: []string{"/ws"},
			// The lobby's thumbnails are the API's canvas.png.
			images: "'self' http://localhost:3001"},
		{name: "IPv6 host", host: "[::1]:8080", want: []string{"ws://[::1]:8080"}},
		// What a client or a configuration sends cannot add a directive or a source.
		{name: "hostile config", host: "a.example", wsURL: "ws://x.example;script-src%20*/", apiURL: "javascript:alert(1)",
			want: []string{"ws://a.example"}, absent: []string{"x.example", "javascript", "script-src *"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Options{WSURL: c.wsURL, APIURL: c.apiURL})
			for _, uri := range []string{"/", "/index.html"} {
				policy := string(h.do("GET", uri, "Host", c.host).Header.Peek("Content-Security-Policy"))
				directives := map[string][]string{}
				for _, d := range strings.Split(policy, ";") {
					if f := strings.Fields(d); len(f) > 0 {
						if _, dup := directives[f[0]]; dup {
							t.Errorf("%s: directive %s twice in %q", uri, f[0], policy)
						}
						directives[f[0]] = f[1:]
					}
				}
				for name, want := range map[string]string{"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "object-src": "'none'", "frame-ancestors": "'none'", "base-uri": "'none'"} {
					if got := strings.Join(directives[name], " "); got != want {
						t.Errorf("%s: %s is %q, want %q (policy %q)", uri, name, got, want, policy)
					}
				}
				connect := directives["connect-src"]
				if len(connect) == 0 || connect[0] != "'self'" {
					t.Errorf("%s: connect-src %q does not start with 'self'", uri, connect)
				}
				for _, w := range c.want {
					if !slices.Contains(connect, w) {
						t.Errorf("%s: connect-src %q lacks %s", uri, connect, w)
					}
				}
				if got := strings.Join(directives["img-src"], " "); got != c.images {
					t.Errorf("%s: img-src %q, want %q", uri, got, c.images)
				}
				for _, a := range c.absent {
					if strings.Contains(policy, a) {
						t.Errorf("%s: policy %q contains %q", uri, policy, a)
					}
				}
			}
		})
	}
	// A Host header that is not a host[:port] adds nothing (the router
	// already redirects most such requests elsewhere; the policy must not
	// depend on that).
	w := New(Options{Files: testFS()})
	for _, host := range []string{"evil.example; script-src *", "a.example 'unsafe-inline'", "a.example\r\nX: y", strings.Repeat("a", 256)} {
		if p := w.policy(host); p != pagePolicy {
			t.Errorf("Host %q gives the policy %q", host, p)
		}
	}
	// The UI's browser suites run under the same policy, from the stand-in
	// server; a policy changed here alone would leave them testing another.
	dev, err := os.ReadFile("../../../ui/test/devserver.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(dev, []byte(`const PAGE_POLICY = "`+pagePolicy+`";`)) {
		t.Errorf("ui/test/devserver.mjs does not send the page policy %q", pagePolicy)
	}
	// Scripts, styles and images are not documents: the policy is the page's.
	h := newHarness(t, Options{})
	for _, uri := range []string{"/app.js", "/style.css", "/icon.svg", "/config.js"} {
		if p := h.do("GET", uri).Header.Peek("Content-Security-Policy"); len(p) != 0 {
			t.Errorf("%s has a policy: %s", uri, p)
		}
	}
}

// TestCanvasPages: /canvases is the lobby page and /c/{slug} the canvas
// page (index.html, the app reads the slug from its URL), with the page's
// policy; anything that is not a slug as it is, is a 404.
func TestCanvasPages(t *testing.T) {
	files := testFS()
	files["canvases.html"] = &fstest.MapFile{Data: []byte("<!doctype html><title>Canvases</title>")}
	index := "<!doctype html><title>Pixel Playground</title>"
	for _, viaRouter := range []bool{true, false} {
		w := New(Options{Files: files})
		handler := fasthttp.RequestHandler(w.Serve)
		if viaRouter {
			r := router.New()
			w.Register(r)
			handler = r.Handler
		}
		h := &harness{handler: handler}
		for _, tc := range []struct {
			uri    string
			status int
			body   string
		}{
			{"/canvases", 200, "<!doctype html><title>Canvases</title>"},
			{"/canvases.html", 200, "<!doctype html><title>Canvases</title>"},
			{"/c/night-sky", 200, index},
			{"/c/night-sky?x=3&y=4&zoom=8&invite=AbC-_1", 200, index},
			{"/c/a", 200, index},
			{"/c/main", 200, index},
			{"/c/" + strings.Repeat("a", 48), 200, index},
			{"/c/" + strings.Repeat("a", 49), 404, ""},
			{"/c/Night-Sky", 404, ""},
			{"/c/-a", 404, ""},
			{"/c/a--b", 404, ""},
			{"/c/%61", 404, ""},
			{"/c/a/b", 404, ""},
			{"/c/", 404, ""},
			{"/c/..", 404, ""},
			{"/c/a.js", 404, ""},
		} {
			for _, method := range []string{"GET", "HEAD"} {
				resp := h.do(method, tc.uri, "Host", "canvas.example")
				// The router answers some malformed paths with a redirect to
				// the cleaned one, which then is a 404.
				redirected := tc.status == 404 && viaRouter && resp.StatusCode() == 301
				if resp.StatusCode() != tc.status && !redirected {
					t.Errorf("router %v: %s %s = %d, want %d", viaRouter, method, tc.uri, resp.StatusCode(), tc.status)
					continue
				}
				if tc.status != 200 {
					if resp.StatusCode() == 200 {
						t.Errorf("router %v: %s %s served a page", viaRouter, method, tc.uri)
					}
					continue
				}
				if ct := string(resp.Header.ContentType()); ct != "text/html; charset=utf-8" {
					t.Errorf("router %v: %s %s is %s", viaRouter, method, tc.uri, ct)
				}
				if p := string(resp.Header.Peek("Content-Security-Policy")); !strings.HasPrefix(p, pagePolicy) || !strings.Contains(p, "ws://canvas.example") {
					t.Errorf("router %v: %s %s has the policy %q", viaRouter, method, tc.uri, p)
				}
				if method == "GET" && string(resp.Body()) != tc.body {
					t.Errorf("router %v: GET %s = %q, want %q", viaRouter, tc.uri, resp.Body(), tc.body)
				}
			}
		}
	}
	// A UI without a lobby page has no lobby.
	h := newHarness(t, Options{})
	if resp := h.do("GET", "/canvases"); resp.StatusCode() != 404 {
		t.Errorf("GET /canvases without canvases.html = %d", resp.StatusCode())
	}
	// The embedded UI has both pages, and both load their files by absolute
	// paths: /c/{slug} is one level down, so a relative "js/main.js" would
	// be /c/js/main.js.
	h = newHarness(t, Options{Files: ui.FS()})
	for _, uri := range []string{"/canvases", "/c/night-sky"} {
		resp := h.do("GET", uri)
		if resp.StatusCode() != 200 {
			t.Fatalf("GET %s = %d", uri, resp.StatusCode())
		}
		body := string(resp.Body())
		refs := regexp.MustCompile(`(?:src|href)="([^"#][^"]*)"`).FindAllStringSubmatch(body, -1)
		if len(refs) < 3 {
			t.Errorf("GET %s: only %d references", uri, len(refs))
		}
		for _, m := range refs {
			if !strings.HasPrefix(m[1], "/") {
				t.Errorf("GET %s: %q is relative", uri, m[1])
				continue
			}
			if r := h.do("GET", m[1]); r.StatusCode() != 200 {
				t.Errorf("GET %s: its %s = %d", uri, m[1], r.StatusCode())
			}
		}
	}
}
