package rest

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
)

// HeaderOperatorToken is the alternative to `Authorization: Bearer <token>`
// for POST /api/canvas/reset.
const HeaderOperatorToken = "X-Operator-Token"

// postReset is POST /api/canvas/reset, and POST
// /api/canvases/{slug}/canvas/reset for another canvas. The store records
// and publishes the reset as an event with its own seq; the gateways turn
// it into canvas_reset for every client (the old API wiped Redis and told
// nobody). The main canvas needs the operator token; another canvas the
// operator token or its creator key, and refuses while archived.
func (a *API) postReset(ctx *fasthttp.RequestCtx, c *canvasRef) {
	if c != a.main {
		if !a.mayManage(ctx, c.info) {
			return
		}
		if c.info.Archived {
			httpx.Error(ctx, fasthttp.StatusConflict, msgArchivedWrites)
			return
		}
		a.reset(ctx, c, "creator")
		return
	}
	if len(a.token) == 0 {
		httpx.Error(ctx, fasthttp.StatusForbidden, msgResetOff)
		return
	}
	client := a.clientKey(ctx)
	if a.resetAttempts != nil {
		// Every attempt costs a token, before the token it carries is even
		// compared: a guesser gets a handful of tries, then one a minute.
		if ok, retry, err := a.resetAttempts.Take(ctx, client, 1); err == nil && !ok {
			a.log.Warn("operator reset refused: too many attempts", "client", client)
			ctx.Response.Header.Set("Retry-After", retryAfter(retry))
			httpx.Error(ctx, fasthttp.StatusTooManyRequests, msgRateLimited)
			return
		}
	}
	if !a.operator(ctx) {
		// An operator wants to know someone is guessing.
		a.log.Warn("operator reset refused: wrong or missing token", "client", client)
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="pixel-playground"`)
		httpx.Error(ctx, fasthttp.StatusUnauthorized, msgUnauthorized)
		return
	}
	a.reset(ctx, c, "operator")
}

// reset resets the canvas for someone allowed to and answers.
func (a *API) reset(ctx *fasthttp.RequestCtx, c *canvasRef, by string) {
	sctx, cancel := a.storeContext()
	e, err := c.store.Reset(sctx, domain.Origin{})
	cancel()
	if err != nil {
		a.storeFailed(ctx, "reset", err)
		return
	}
	a.log.Info("canvas reset by "+by, "canvas", string(c.info.Slug), "seq", e.Seq, "client", a.clientKey(ctx))
	httpx.BuildBody(ctx, func(b []byte) []byte {
		b = append(b, `{"success":true,"message":"Canvas reset to white","seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
		b = append(b, `,"timestamp":`...)
		b = httpx.AppendMillis(b, e.Time)
		return append(b, '}')
	})
	ctx.SetContentType(httpx.ContentTypeJSON)
}

// operator reports whether the request carries the operator token. Both
// sides are hashed first so that the comparison takes the same time
// whatever the length or content of the guess.
func (a *API) operator(ctx *fasthttp.RequestCtx) bool {
	given := presentedToken(ctx)
	if len(given) == 0 {
		return false
	}
	want := sha256.Sum256(a.token)
	got := sha256.Sum256(given)
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// presentedToken is the operator token the request carries, if any.
func presentedToken(ctx *fasthttp.RequestCtx) []byte {
	given := ctx.Request.Header.Peek(HeaderOperatorToken)
	if len(given) == 0 {
		auth := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
		if len(auth) > 7 && bytes.EqualFold(auth[:7], []byte("Bearer ")) {
			given = bytes.TrimSpace(auth[7:])
		}
	}
	return given
}

// operatorPresented reports whether the request offers an operator token
// to a server that has one.
func (a *API) operatorPresented(ctx *fasthttp.RequestCtx) bool {
	return len(a.token) > 0 && len(presentedToken(ctx)) > 0
}

// operatorAttempt charges an attempt at the operator token to the
// client's budget of them (as reset does); over it, it answers 429 and
// returns false.
func (a *API) operatorAttempt(ctx *fasthttp.RequestCtx) bool {
	if a.resetAttempts == nil {
		return true
	}
	ok, retry, err := a.resetAttempts.Take(ctx, a.clientKey(ctx), 1)
	if err == nil && !ok {
		a.log.Warn("operator token refused: too many attempts", "client", a.clientKey(ctx))
		ctx.Response.Header.Set("Retry-After", retryAfter(retry))
		httpx.Error(ctx, fasthttp.StatusTooManyRequests, msgRateLimited)
		return false
	}
	return true
}
