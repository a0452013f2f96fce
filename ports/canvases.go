package ports

import (
	"context"
	"errors"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// Errors of the canvas directory. Backends wrap them (errors.Is finds
// them); an unreachable backend is ErrUnavailable instead.
var (
	// ErrNoCanvas: no such canvas, or one the caller may not know about.
	// A private canvas answers a wrong invite (CheckInvite) or a wrong
	// creator key (CheckCreator) with it, exactly as a canvas that does
	// not exist, so that its existence never leaks. The main canvas is not
	// in the directory: every method answers ErrNoCanvas for it.
	ErrNoCanvas = errors.New("no such canvas")
	// ErrCanvasExists: Create looked for a free slug and found none. It
	// picks the name's slug, or the first of slug-2, slug-3, … up to
	// slug-MaxSlugSuffix that is neither taken nor reserved, so this only
	// happens when all of those are taken.
	ErrCanvasExists = errors.New("canvas exists")
	// ErrTooManyCanvases: Create would pass the total limit.
	ErrTooManyCanvases = errors.New("too many canvases")
	// ErrArchived: the canvas is archived, so its settings cannot change.
	ErrArchived = errors.New("canvas archived")
	// ErrForbidden: a wrong creator key for a public canvas.
	ErrForbidden = errors.New("not the canvas's creator")
)

// MaxSlugSuffix bounds the suffixes Create tries (see ErrCanvasExists).
const MaxSlugSuffix = 1000

// TouchWindow is how far Touch may coalesce: a canvas's LastActive, as
// Get and List report it, is never more than this behind the latest
// Touch, so List's order by activity is right to within it.
const TouchWindow = time.Minute

// List's bounds on how many canvases one call returns.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

// CanvasLimits are the limits Create enforces atomically with the
// creation. The per-creator budget (canvases per client address per day)
// is not one of them: it is the caller's, a Budget.
type CanvasLimits struct {
	// MaxCanvases bounds how many canvases the directory holds, archived
	// ones included (they keep their data); 0 means no limit.
	MaxCanvases int
}

// CanvasSecrets are the tokens Create hands out, once: the directory keeps
// only their SHA-256 (domain.TokenHash), so they cannot be told again.
type CanvasSecrets struct {
	// CreatorKey allows changing the settings, rotating the invite and
	// archiving.
	CreatorKey string
	// Invite is the key to a private canvas; "" for a public one.
	Invite string
}

// CanvasPatch changes some settings of a canvas; nil fields stay as they
// are. Like CanvasSpec, it is validated by the caller against the
// server's rules (domain.NormalizeCanvasName, domain.CheckCanvasPixelRate).
type CanvasPatch struct {
	Name      *string
	Private   *bool
	PixelRate *domain.RateRule
}

// ListQuery selects canvases for List.
type ListQuery struct {
	// Search, if not empty, keeps canvases whose name or slug contains it,
	// compared case-insensitively (surrounding spaces ignored).
	Search string
	// Limit is how many at most: <= 0 means DefaultListLimit, and more
	// than MaxListLimit means MaxListLimit.
	Limit int
}

// Canvases is the directory of canvases: their descriptions, their
// secrets (as hashes) and their order by activity. It stores; the rules
// on names, sizes and rates are the domain's (domain.CanvasRules), applied
// by the caller before Create and Update (a backend still refuses a name
// that is not normalised and a size outside domain.NewSize, wrapping the
// domain's errors). The main canvas is implicit and never in the
// directory (domain.MainCanvas describes it); no slug it holds is
// reserved (domain.Slug.Reserved). Times are kept in UTC to the
// microsecond.
type Canvases interface {
	// Create adds a canvas from a checked spec (domain.CanvasRules.Check).
	// Its slug is derived from the name (domain.SlugFromName), made
	// unique and never reserved by appending -2, -3, … (see
	// ErrCanvasExists), all atomically with the check of limits: twenty
	// concurrent creations of one name get twenty distinct slugs. Created
	// and LastActive are now. It returns the canvas and its secrets, each
	// a fresh 128-bit random token; Invite only for a private canvas.
	Create(ctx context.Context, spec domain.CanvasSpec, limits CanvasLimits) (domain.CanvasInfo, CanvasSecrets, error)

	// Get returns a canvas, archived ones included (Archived says so),
	// private ones included: Get is the server's, and whether a caller
	// may see a private canvas is CheckInvite's or CheckCreator's answer.
	Get(ctx context.Context, slug domain.Slug) (domain.CanvasInfo, error)

	// List returns public canvases that are not archived, most recently
	// active first (canvases as active as each other in an order of the
	// backend's), filtered by q.Search, at most q.Limit.
	List(ctx context.Context, q ListQuery) ([]domain.CanvasInfo, error)

	// Update changes the settings in patch and returns the canvas as it
	// now is; ErrArchived for an archived canvas. A canvas made public
	// forgets its invite; one made private has none until RotateInvite
	// issues one (CheckInvite refuses every token until then).
	Update(ctx context.Context, slug domain.Slug, patch CanvasPatch) (domain.CanvasInfo, error)

	// Archive makes a canvas read-only and takes it off List; archiving an
	// archived canvas is not an error.
	Archive(ctx context.Context, slug domain.Slug) error

	// Idle returns the canvases that are not archived, private ones
	// included, whose LastActive is before before, least recently active
	// first (canvases as active as each other in an order of the
	// backend's), at most limit: <= 0 or more than MaxListLimit means
	// MaxListLimit. It is what archiving idle canvases reads; since
	// LastActive may lag by TouchWindow, so may Idle.
	Idle(ctx context.Context, before time.Time, limit int) ([]domain.Slug, error)

	// RotateInvite issues a new invite token and returns it; the old one
	// stops working at once (CheckInvite refuses it from the moment
	// RotateInvite returns). Allowed on an archived canvas: revoking a
	// leaked link is still needed. On a public canvas the token only
	// matters once the canvas is made private.
	RotateInvite(ctx context.Context, slug domain.Slug) (string, error)

	// Touch records activity at at. It is cheap and may coalesce: a
	// canvas's LastActive may lag the latest Touch by up to TouchWindow,
	// never more, and never moves back (an earlier at changes nothing).
	// Touching a canvas that does not exist or is archived does nothing;
	// only an unreachable backend is an error.
	Touch(ctx context.Context, slug domain.Slug, at time.Time) error

	// CheckCreator reports whether key is the canvas's creator key: nil if
	// it is (archived or not), ErrForbidden if not on a public canvas,
	// ErrNoCanvas if not on a private one or if there is no such canvas.
	CheckCreator(ctx context.Context, slug domain.Slug, key string) error

	// CheckInvite reports whether the holder of token may see the canvas:
	// nil for any token on a public canvas, and on a private one (archived
	// or not) for its current invite only; ErrNoCanvas otherwise, the same
	// answer as for a canvas that does not exist.
	CheckInvite(ctx context.Context, slug domain.Slug, token string) error
}
