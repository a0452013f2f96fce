package rest

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Headers of the per-canvas endpoints.
const (
	// HeaderCanvasInvite carries a private canvas's invite, the
	// alternative to ?invite=.
	HeaderCanvasInvite = "X-Canvas-Invite"
	// HeaderCreatorKey carries a canvas's creator key (PATCH, DELETE, a
	// new invite, reset). Never in the URL: URLs end up in logs.
	HeaderCreatorKey = "X-Creator-Key"
)

// canvasRef is the canvas a request is about: what the directory says of
// it, its store and the shared snapshot reads of that store. Every canvas
// endpoint has one handler taking it; the old paths give the main canvas's
// (onMain), the /api/canvases/{slug}/ paths the one they name (onSlug).
type canvasRef struct {
	info  domain.CanvasInfo
	store ports.CanvasStore
	snaps *sharedSnapshots
}

// canvasHandler serves one endpoint for a canvas.
type canvasHandler func(ctx *fasthttp.RequestCtx, c *canvasRef)

func (c *canvasRef) placeCanvas() place.Canvas {
	return place.Canvas{Slug: c.info.Slug, Store: c.store, Archived: c.info.Archived}
}

// onMain serves h for the main canvas.
func (a *API) onMain(h canvasHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) { h(ctx, a.main) }
}

// onSlug serves h for the canvas the path names, if the caller may see it.
func (a *API) onSlug(h canvasHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		info, ok := a.lookup(ctx)
		if !ok {
			return
		}
		c, ok := a.open(ctx, info)
		if ok {
			h(ctx, c)
		}
	}
}

// lookup finds the canvas the path names and checks that the caller may
// see it: a private canvas needs its invite (?invite= or X-Canvas-Invite)
// or its creator key. An unknown canvas and a private one without either
// get the same 404. It has answered when ok is false.
func (a *API) lookup(ctx *fasthttp.RequestCtx) (domain.CanvasInfo, bool) {
	slug, err := domain.ParseSlug(pathString(ctx.UserValue("slug")))
	if err != nil {
		httpx.Error(ctx, fasthttp.StatusNotFound, msgNoCanvas)
		return domain.CanvasInfo{}, false
	}
	if slug == domain.MainSlug {
		return a.main.info, true
	}
	sctx, cancel := a.storeContext()
	defer cancel()
	info, err := a.dir.Get(sctx, slug)
	if err != nil {
		a.directoryFailed(ctx, "get", err)
		return domain.CanvasInfo{}, false
	}
	if !info.Private {
		return info, true
	}
	err = ports.ErrNoCanvas
	if invite := a.invite(ctx); invite != "" {
		err = a.dir.CheckInvite(sctx, slug, invite)
	}
	if key := ctx.Request.Header.Peek(HeaderCreatorKey); len(key) > 0 && errors.Is(err, ports.ErrNoCanvas) {
		err = a.dir.CheckCreator(sctx, slug, string(key))
	}
	if err != nil {
		a.directoryFailed(ctx, "check invite", err)
		return domain.CanvasInfo{}, false
	}
	return info, true
}

// invite is the invite the request carries, "" if none.
func (a *API) invite(ctx *fasthttp.RequestCtx) string {
	if v := ctx.QueryArgs().Peek("invite"); len(v) > 0 {
		return string(v)
	}
	return string(ctx.Request.Header.Peek(HeaderCanvasInvite))
}

// open returns the canvas's store (the same one for every request, as
// ports.CanvasStores promises) with its shared snapshot reads.
func (a *API) open(ctx *fasthttp.RequestCtx, info domain.CanvasInfo) (*canvasRef, bool) {
	if info.Slug == domain.MainSlug {
		return a.main, true
	}
	sctx, cancel := a.storeContext()
	store, err := a.stores.Open(sctx, info.Slug, info.Size)
	cancel()
	if err != nil {
		a.storeFailed(ctx, "open", err)
		return nil, false
	}
	a.snapsMu.Lock()
	defer a.snapsMu.Unlock()
	snaps, ok := a.canvasSnaps[info.Slug]
	if !ok {
		snaps = &sharedSnapshots{load: store.Snapshot, newContext: a.storeContext}
		a.canvasSnaps[info.Slug] = snaps
	}
	return &canvasRef{info: info, store: store, snaps: snaps}, true
}

// mayManage checks that the request may change the canvas: the operator
// token, or the canvas's creator key (X-Creator-Key). The main canvas is
// nobody's to change. It has answered when it returns false.
func (a *API) mayManage(ctx *fasthttp.RequestCtx, info domain.CanvasInfo) bool {
	if info.Slug == domain.MainSlug {
		httpx.Error(ctx, fasthttp.StatusForbidden, msgMainFixed)
		return false
	}
	if a.operatorPresented(ctx) {
		if ok := a.operatorAttempt(ctx); !ok {
			return false // answered: too many attempts
		}
		if a.operator(ctx) {
			return true
		}
	}
	sctx, cancel := a.storeContext()
	err := a.dir.CheckCreator(sctx, info.Slug, string(ctx.Request.Header.Peek(HeaderCreatorKey)))
	cancel()
	if err != nil {
		a.directoryFailed(ctx, "check creator", err)
		return false
	}
	return true
}

// directoryFailed answers a failed directory call: an unknown (or hidden)
// canvas is a 404, a wrong creator key a 403, an archived canvas a 409; an
// outage is what storeFailed says.
func (a *API) directoryFailed(ctx *fasthttp.RequestCtx, op string, err error) {
	switch {
	case errors.Is(err, ports.ErrNoCanvas):
		httpx.Error(ctx, fasthttp.StatusNotFound, msgNoCanvas)
	case errors.Is(err, ports.ErrForbidden):
		httpx.Error(ctx, fasthttp.StatusForbidden, msgNotCreator)
	case errors.Is(err, ports.ErrArchived):
		httpx.Error(ctx, fasthttp.StatusConflict, msgArchived)
	case errors.Is(err, ports.ErrTooManyCanvases):
		ctx.Response.Header.Set("Retry-After", retryFullSeconds)
		httpx.Error(ctx, fasthttp.StatusTooManyRequests, msgTooManyCanvases)
	case errors.Is(err, ports.ErrCanvasExists):
		httpx.Error(ctx, fasthttp.StatusConflict, msgNoFreeSlug)
	default:
		a.storeFailed(ctx, "directory "+op, err)
	}
}

func pathString(v any) string {
	s, _ := v.(string)
	return s
}
