package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Messages of the canvases' endpoints.
const (
	msgNoCanvas        = "Canvas not found"
	msgBadName         = "Invalid canvas name: 1 to 40 characters, something visible"
	msgNotCreator      = "Forbidden: the canvas's creator key (X-Creator-Key) is required"
	msgMainFixed       = "Forbidden: the main canvas cannot be changed"
	msgArchived        = "Canvas is archived: its settings cannot change"
	msgArchivedWrites  = "Canvas is archived: it can be read, not written"
	msgTooManyCanvases = "Too many canvases: this server holds no more"
	msgCreationLimit   = "Too many canvases created from this address, try again later"
	msgNoFreeSlug      = "No free address for this name, choose another name"
	msgSizeFixed       = "The size of a canvas cannot change"
	msgPublicNoInvite  = "Canvas is public: it has no invite (make it private first)"
	msgBadQuery        = "Invalid query: q at most 100 bytes, limit a whole number"
)

// retryFullSeconds is the Retry-After of a full directory: an hour, a
// guess (canvases are not freed by time, only by an operator).
const retryFullSeconds = "3600"

// maxQueryBytes bounds ?q=.
const maxQueryBytes = 100

// rateJSON is a canvas's own pixel rate on the wire.
type rateJSON struct {
	PerSecond float64 `json:"perSecond"`
	Burst     int     `json:"burst"`
}

// canvasJSON is a canvas on the wire: GET /api/canvases's items, GET,
// PATCH and DELETE /api/canvases/{slug}, and POST /api/canvases with its
// secrets.
type canvasJSON struct {
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Private   bool      `json:"private"`
	PixelRate *rateJSON `json:"pixelRate,omitempty"` // only a rate of its own
	// Online is how many are on it now, on every gateway (Options.Online;
	// 0 without it).
	Online       int   `json:"online"`
	Created      int64 `json:"created"`      // Unix ms; 0 for main
	LastActivity int64 `json:"lastActivity"` // Unix ms; 0 for main
	Archived     bool  `json:"archived"`
	// URL is the canvas's page, with the invite when it is given.
	URL        string `json:"url"`
	CreatorKey string `json:"creatorKey,omitempty"`
	Invite     string `json:"invite,omitempty"`
}

func toJSON(c domain.CanvasInfo, invite string) canvasJSON {
	out := canvasJSON{Slug: string(c.Slug), Name: c.Name, Width: c.Size.Width, Height: c.Size.Height,
		Private: c.Private, Archived: c.Archived, URL: pageURL(c.Slug, invite), Invite: invite}
	if c.PixelRate != (domain.RateRule{}) {
		out.PixelRate = &rateJSON{PerSecond: c.PixelRate.PerSecond, Burst: c.PixelRate.Burst}
	}
	if !c.Created.IsZero() {
		out.Created = c.Created.UnixMilli()
	}
	if !c.LastActive.IsZero() {
		out.LastActivity = c.LastActive.UnixMilli()
	}
	return out
}

// pageURL is a canvas's page: / for main, /c/{slug} for the others, with
// ?invite= when one is given.
func pageURL(slug domain.Slug, invite string) string {
	if slug == domain.MainSlug {
		return "/"
	}
	u := "/c/" + string(slug)
	if invite != "" {
		u += "?invite=" + url.QueryEscape(invite)
	}
	return u
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // the types above always marshal
		httpx.Error(ctx, fasthttp.StatusInternalServerError, msgInternal)
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	httpx.WriteJSON(ctx, status, b)
}

// listCanvases is GET /api/canvases[?q=text][&limit=n]: public canvases
// that are not archived, most recently active first.
func (a *API) listCanvases(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	q := ports.ListQuery{Search: string(args.Peek("q"))}
	if len(q.Search) > maxQueryBytes {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadQuery)
		return
	}
	if v := args.Peek("limit"); v != nil {
		n, ok := pathCoordinate(string(v))
		if !ok {
			httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadQuery)
			return
		}
		q.Limit = n
	}
	sctx, cancel := a.storeContext()
	list, err := a.dir.List(sctx, q)
	var online map[domain.Slug]int
	if err == nil && a.online != nil {
		if online, err = a.online(sctx); err != nil {
			a.log.Debug("online counts unavailable", "err", err)
			online, err = nil, nil
		}
	}
	cancel()
	if err != nil {
		a.directoryFailed(ctx, "list", err)
		return
	}
	out := struct {
		Canvases []canvasJSON `json:"canvases"`
	}{Canvases: make([]canvasJSON, 0, len(list))}
	for _, c := range list {
		j := toJSON(c, "")
		j.Online = online[c.Slug]
		out.Canvases = append(out.Canvases, j)
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// createBody is POST /api/canvases.
type createBody struct {
	Name      json.RawMessage `json:"name"`
	Width     int             `json:"width"`
	Height    int             `json:"height"`
	Private   bool            `json:"private"`
	PixelRate *rateJSON       `json:"pixelRate"`
}

// decodeJSON reads the body into v, refusing anything but one JSON value
// of the right shape; it has answered 400 when it returns false.
func decodeJSON(ctx *fasthttp.RequestCtx, v any) bool {
	d := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
	if err := d.Decode(v); err != nil || d.More() {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadFormat)
		return false
	}
	return true
}

// specError answers a spec the domain's rules refuse.
func (a *API) specError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, domain.ErrBadCanvasName):
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadName)
	case errors.Is(err, domain.ErrBadCanvasSize):
		httpx.Error(ctx, fasthttp.StatusBadRequest, fmt.Sprintf(
			"Invalid canvas size: width and height each a whole number from 1 to %d (both left out: %d×%d)",
			a.maxSide(), min(domain.DefaultCanvasSide, a.maxSide()), min(domain.DefaultCanvasSide, a.maxSide())))
	case errors.Is(err, domain.ErrBadPixelRate):
		r := a.rules.ServerPixelRate
		httpx.Error(ctx, fasthttp.StatusBadRequest, fmt.Sprintf(
			"Invalid pixel rate: perSecond above 0 and at most %v, burst from 1 to %d", r.PerSecond, r.Burst))
	default:
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadFormat)
	}
}

func (a *API) maxSide() int {
	if a.rules.MaxSide <= 0 || a.rules.MaxSide > domain.MaxSide {
		return domain.MaxSide
	}
	return a.rules.MaxSide
}

// createCanvas is POST /api/canvases: 201 with the canvas, its creator
// key and, for a private one, its invite. Checked in this order: the body
// (400), the client's creation budget (429), the total (429).
func (a *API) createCanvas(ctx *fasthttp.RequestCtx) {
	var body createBody
	if !decodeJSON(ctx, &body) {
		return
	}
	name, present, err := stringField(body.Name)
	if err != nil || !present {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadName)
		return
	}
	spec := domain.CanvasSpec{Name: name, Size: domain.Size{Width: body.Width, Height: body.Height}, Private: body.Private}
	if body.PixelRate != nil {
		spec.PixelRate = domain.RateRule{PerSecond: body.PixelRate.PerSecond, Burst: body.PixelRate.Burst}
		if spec.PixelRate == (domain.RateRule{}) {
			spec.PixelRate.Burst = -1 // {} is not "the server's": refuse it
		}
	}
	spec, err = a.rules.Check(spec)
	if err != nil {
		a.specError(ctx, err)
		return
	}
	client := a.clientKey(ctx)
	if a.creations != nil {
		ok, retry, err := a.creations.Take(ctx, client, 1)
		if err != nil {
			a.storeFailed(ctx, "creation budget", err)
			return
		}
		if !ok {
			a.m.RateLimited.WithLabelValues("canvases").Inc()
			ctx.Response.Header.Set("Retry-After", retryAfter(retry))
			httpx.Error(ctx, fasthttp.StatusTooManyRequests, msgCreationLimit)
			return
		}
	}
	sctx, cancel := a.storeContext()
	info, secrets, err := a.dir.Create(sctx, spec, ports.CanvasLimits{MaxCanvases: a.maxCanvases})
	cancel()
	if err != nil {
		a.directoryFailed(ctx, "create", err)
		return
	}
	a.log.Info("canvas created", "canvas", string(info.Slug), "size", info.Size.String(), "private", info.Private, "client", client)
	out := toJSON(info, secrets.Invite)
	out.CreatorKey = secrets.CreatorKey
	ctx.Response.Header.Set("Location", "/api/canvases/"+string(info.Slug))
	writeJSON(ctx, fasthttp.StatusCreated, out)
}

// stringField reads an optional JSON string.
func stringField(raw json.RawMessage) (string, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, err
	}
	return s, true, nil
}

// getCanvasInfo is GET /api/canvases/{slug}: the canvas, archived or not;
// a private one only with its invite or creator key.
func (a *API) getCanvasInfo(ctx *fasthttp.RequestCtx) {
	info, ok := a.lookup(ctx)
	if !ok {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, toJSON(info, ""))
}

// patchBody is PATCH /api/canvases/{slug}: fields left out stay as they
// are; "pixelRate": null goes back to the server's rate.
type patchBody struct {
	Name      json.RawMessage `json:"name"`
	Private   *bool           `json:"private"`
	PixelRate json.RawMessage `json:"pixelRate"`
	Width     json.RawMessage `json:"width"`
	Height    json.RawMessage `json:"height"`
}

// manageTarget finds the canvas a management request names and checks
// that the caller may change it; it has answered when ok is false.
func (a *API) manageTarget(ctx *fasthttp.RequestCtx) (domain.CanvasInfo, bool) {
	slug, err := domain.ParseSlug(pathString(ctx.UserValue("slug")))
	if err != nil {
		httpx.Error(ctx, fasthttp.StatusNotFound, msgNoCanvas)
		return domain.CanvasInfo{}, false
	}
	info := a.main.info
	if slug != domain.MainSlug {
		sctx, cancel := a.storeContext()
		info, err = a.dir.Get(sctx, slug)
		cancel()
		if err != nil {
			a.directoryFailed(ctx, "get", err)
			return domain.CanvasInfo{}, false
		}
	}
	return info, a.mayManage(ctx, info)
}

// patchCanvas is PATCH /api/canvases/{slug}: name, private, pixelRate.
// Making a canvas private issues its invite, returned as "invite".
func (a *API) patchCanvas(ctx *fasthttp.RequestCtx) {
	var body patchBody
	if !decodeJSON(ctx, &body) {
		return
	}
	patch, ok := a.checkPatch(ctx, body)
	if !ok {
		return
	}
	info, ok := a.manageTarget(ctx)
	if !ok {
		return
	}
	sctx, cancel := a.storeContext()
	defer cancel()
	updated, err := a.dir.Update(sctx, info.Slug, patch)
	if err != nil {
		a.directoryFailed(ctx, "update", err)
		return
	}
	invite := ""
	if updated.Private && !info.Private {
		if invite, err = a.dir.RotateInvite(sctx, info.Slug); err != nil {
			a.directoryFailed(ctx, "invite", err)
			return
		}
	}
	a.log.Info("canvas settings changed", "canvas", string(info.Slug), "client", a.clientKey(ctx))
	writeJSON(ctx, fasthttp.StatusOK, toJSON(updated, invite))
}

// checkPatch validates a PATCH body against the server's rules; it has
// answered 400 when ok is false.
func (a *API) checkPatch(ctx *fasthttp.RequestCtx, body patchBody) (ports.CanvasPatch, bool) {
	var patch ports.CanvasPatch
	if len(body.Width) > 0 || len(body.Height) > 0 {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgSizeFixed)
		return patch, false
	}
	name, present, err := stringField(body.Name)
	if err != nil {
		httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadName)
		return patch, false
	}
	if present {
		if name, err = domain.NormalizeCanvasName(name); err != nil {
			a.specError(ctx, err)
			return patch, false
		}
		patch.Name = &name
	}
	patch.Private = body.Private
	if len(body.PixelRate) > 0 {
		var rate domain.RateRule
		if string(body.PixelRate) != "null" {
			var r rateJSON
			if err := json.Unmarshal(body.PixelRate, &r); err != nil {
				httpx.Error(ctx, fasthttp.StatusBadRequest, msgBadFormat)
				return patch, false
			}
			rate = domain.RateRule{PerSecond: r.PerSecond, Burst: r.Burst}
			if rate == (domain.RateRule{}) {
				rate.Burst = -1 // {} is not null: refuse it
			}
		}
		if err := domain.CheckCanvasPixelRate(rate, a.rules.ServerPixelRate); err != nil {
			a.specError(ctx, err)
			return patch, false
		}
		patch.PixelRate = &rate
	}
	return patch, true
}

// deleteCanvas is DELETE /api/canvases/{slug}: the canvas is archived
// (read-only, off the list; its pixels are kept), and returned.
func (a *API) deleteCanvas(ctx *fasthttp.RequestCtx) {
	info, ok := a.manageTarget(ctx)
	if !ok {
		return
	}
	sctx, cancel := a.storeContext()
	defer cancel()
	if err := a.dir.Archive(sctx, info.Slug); err != nil {
		a.directoryFailed(ctx, "archive", err)
		return
	}
	a.log.Info("canvas archived", "canvas", string(info.Slug), "client", a.clientKey(ctx))
	info.Archived = true
	writeJSON(ctx, fasthttp.StatusOK, toJSON(info, ""))
}

// rotateInvite is POST /api/canvases/{slug}/invite: a private canvas gets
// a new invite, and the old one stops working at once.
func (a *API) rotateInvite(ctx *fasthttp.RequestCtx) {
	info, ok := a.manageTarget(ctx)
	if !ok {
		return
	}
	if !info.Private {
		httpx.Error(ctx, fasthttp.StatusConflict, msgPublicNoInvite)
		return
	}
	sctx, cancel := a.storeContext()
	invite, err := a.dir.RotateInvite(sctx, info.Slug)
	cancel()
	if err != nil {
		a.directoryFailed(ctx, "invite", err)
		return
	}
	a.log.Info("canvas invite rotated", "canvas", string(info.Slug), "client", a.clientKey(ctx))
	writeJSON(ctx, fasthttp.StatusOK, struct {
		Slug   string `json:"slug"`
		Invite string `json:"invite"`
		URL    string `json:"url"`
	}{string(info.Slug), invite, pageURL(info.Slug, invite)})
}
