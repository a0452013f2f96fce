package ws

// This file is the choice of a canvas on the upgrade: `?canvas=slug`
// (and `&invite=` for a private one) is looked up in the directory and
// refused before the upgrade, in JSON, exactly as the REST API refuses it:
// an unknown canvas and a private one without a valid invite are the same
// 404, so a private canvas's existence does not leak.

import (
	"context"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Refusals of the upgrade (REST's words for the same answers).
const (
	msgNoCanvas  = "Canvas not found"
	msgBadCanvas = "Invalid canvas: lower-case letters, digits and single hyphens, 1 to 48 bytes"
	msgShutdown  = "Gateway is shutting down"
	msgBadEpoch  = "Invalid epoch: at most 32 bytes"
)

func noRelease() {}

// resolve is the hub of the canvas the request asks for, held until
// release is called. It has answered the request when ok is false.
func (s *Server) resolve(ctx *fasthttp.RequestCtx) (hub *Hub, release func(), ok bool) {
	raw := ctx.QueryArgs().Peek("canvas")
	if len(raw) == 0 || string(raw) == string(domain.MainSlug) {
		return s.gw.main, noRelease, true
	}
	slug, err := domain.ParseSlug(string(raw))
	if err != nil {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadCanvas)
		return nil, nil, false
	}
	if !s.gw.serves() {
		httpx.Error(ctx, fasthttp.StatusNotFound, msgNoCanvas)
		return nil, nil, false
	}
	cctx, cancel := context.WithTimeout(context.Background(), storeCallTimeout)
	defer cancel()
	info, err := s.gw.o.Canvases.Get(cctx, slug)
	if err == nil && info.Private {
		// No cache: a revoked invite stops working at once.
		err = s.gw.o.Canvases.CheckInvite(cctx, slug, string(ctx.QueryArgs().Peek("invite")))
	}
	var store ports.CanvasStore
	if err == nil {
		store, err = s.gw.o.Stores.Open(cctx, slug, info.Size)
	}
	if err == nil {
		hub, release, err = s.gw.acquire(cctx, info, store)
	}
	switch {
	case err == nil:
		return hub, release, true
	case errors.Is(err, ports.ErrNoCanvas):
		httpx.Error(ctx, fasthttp.StatusNotFound, msgNoCanvas)
	case errors.Is(err, errDraining):
		httpx.Error(ctx, fasthttp.StatusServiceUnavailable, msgShutdown)
	default:
		s.gw.log.Warn("upgrade refused: canvas unavailable", "canvas", string(slug), "err", err)
		httpx.Error(ctx, fasthttp.StatusServiceUnavailable, msgUnavailable)
	}
	return nil, nil, false
}
