package rest

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/internal/httpx"
)

// CORS settings. Credentials are never allowed: the only secret, the
// operator token, travels in a header the caller sets explicitly.
const (
	corsMethods = "GET, PUT, POST, OPTIONS"
	corsHeaders = "Content-Type, Authorization, " + HeaderOperatorToken
	corsExpose  = HeaderCanvasWidth + ", " + HeaderCanvasHeight + ", " + HeaderCanvasSeq + ", " + HeaderCanvasEpoch
	corsMaxAge  = "600"

	corsCanvasMethods = "GET, PUT, POST, PATCH, DELETE, OPTIONS"
	corsCanvasHeaders = corsHeaders + ", " + HeaderCreatorKey + ", " + HeaderCanvasInvite
)

type corsPolicy struct {
	any     bool
	origins [][]byte
}

func newCORSPolicy(origins []string) corsPolicy {
	var p corsPolicy
	for _, o := range origins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		switch o {
		case "":
		case "*":
			p.any = true
		default:
			p.origins = append(p.origins, []byte(o))
		}
	}
	if len(p.origins) == 0 {
		p.any = true
	}
	return p
}

// allowOrigin is the Access-Control-Allow-Origin value for origin, or nil
// if it is not allowed.
func (p corsPolicy) allowOrigin(origin []byte) []byte {
	if p.any {
		return []byte("*")
	}
	for _, o := range p.origins {
		if bytes.EqualFold(o, origin) {
			return origin
		}
	}
	return nil
}

// corsPath reports whether a path is the API's: the page and the
// WebSocket are same-origin or do not use CORS.
func corsPath(path []byte) bool {
	return bytes.HasPrefix(path, []byte("/api/")) || bytes.Equal(path, []byte("/api")) ||
		bytes.Equal(path, []byte("/health")) || bytes.Equal(path, []byte("/ready"))
}

// CORS wraps next (usually the router's Handler) with CORS for the API's
// paths: it answers preflights itself (the router would send 405 or an
// empty 200) and adds the allow and expose headers to every API response.
// origins are exact origins such as "https://pixels.example.com" or "*";
// empty means "*".
func CORS(origins []string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	policy := newCORSPolicy(origins)
	return func(ctx *fasthttp.RequestCtx) {
		if !corsPath(ctx.Path()) {
			next(ctx)
			return
		}
		origin := ctx.Request.Header.Peek("Origin")
		if ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0 {
			preflight(ctx, policy, origin)
			return
		}
		next(ctx)
		if len(origin) == 0 {
			return
		}
		h := &ctx.Response.Header
		if !policy.any {
			h.Add("Vary", "Origin")
		}
		if allow := policy.allowOrigin(origin); allow != nil {
			h.SetBytesV("Access-Control-Allow-Origin", allow)
			h.Set("Access-Control-Expose-Headers", corsExpose)
		}
	}
}

func preflight(ctx *fasthttp.RequestCtx, policy corsPolicy, origin []byte) {
	h := &ctx.Response.Header
	if !policy.any {
		h.Add("Vary", "Origin")
	}
	allow := policy.allowOrigin(origin)
	if allow == nil {
		httpx.Error(ctx, fasthttp.StatusForbidden, "Origin not allowed")
		return
	}
	h.SetBytesV("Access-Control-Allow-Origin", allow)
	if bytes.HasPrefix(ctx.Path(), []byte("/api/canvases")) {
		// The canvases' endpoints take more; the old ones answer as they did.
		h.Set("Access-Control-Allow-Methods", corsCanvasMethods)
		h.Set("Access-Control-Allow-Headers", corsCanvasHeaders)
	} else {
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
	}
	h.Set("Access-Control-Max-Age", corsMaxAge)
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}
