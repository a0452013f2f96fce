package ports

import (
	"context"
	"errors"

	"github.com/pixelplayground/pixelplayground/domain"
)

// ErrUnavailable wraps every error caused by the backing service being
// unreachable (Redis down, disk gone). Inbound adapters turn it into the
// `unavailable` error code or a 503; callers may retry.
var ErrUnavailable = errors.New("store unavailable")

// ChannelPixelUpdates is the Pub/Sub channel that carries every accepted
// event (pixels and resets) of the main canvas, in seq order, as encoded by
// internal/busmsg. The name is the old system's; every other canvas has a
// channel of its own, PixelChannel(slug).
const ChannelPixelUpdates = "pixel-updates"

// CanvasStore is the durable canvas: the single authority that orders
// writes. One instance serves one canvas (CanvasStores opens them).
type CanvasStore interface {
	// Size is the canvas size this store was opened with.
	Size() domain.Size

	// Place accepts already validated writes, in order. For each it assigns
	// the next seq and a timestamp (domain.NextTimestamp), stores the pixel
	// and who placed it, appends the event to the capped history, and
	// publishes it on the canvas's channel (PixelChannel) with the store's
	// epoch (see Head; a call's events go out as one message, see
	// busmsg.EncodeEvents), all atomically:
	// no reader or subscriber ever sees one without the others, and
	// publication order is seq order. It returns the events in the order of
	// writes.
	Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error)

	// Reset turns every pixel white as one event with its own seq, recorded
	// and published like a pixel write.
	Reset(ctx context.Context, origin domain.Origin) (domain.Event, error)

	// Snapshot returns every pixel, the seq it includes and the epoch that
	// seq is on, in one consistent read.
	Snapshot(ctx context.Context) (domain.Snapshot, error)

	// Pixel returns one pixel's colour and who last painted it; a pixel
	// never painted since the last reset is white with Seq 0.
	Pixel(ctx context.Context, x, y int) (domain.PixelInfo, error)

	// Since returns the events with seq greater than after, in seq order, at
	// most limit of them (limit <= 0 means all that are kept), read in one
	// consistent look together with the head. Complete is false when those
	// events are not all the caller misses: history no longer reaches back
	// to after+1 (it was trimmed), or the caller's position (after, on the
	// timeline epoch; "" when it cannot say) does not continue on the
	// store's timeline (domain.Head.Continues: after is ahead of the store,
	// or the epoch is another, or no epoch was given and after is above
	// Head.Base). The caller must then fall back to a snapshot.
	Since(ctx context.Context, after domain.Seq, epoch domain.Epoch, limit int) (History, error)

	// Head is the seq of the last accepted event (0 for a new canvas), the
	// timeline it is on, and that timeline's base (see domain.Head).
	//
	// The epoch changes whenever the store's history may have diverged
	// from what it published: whenever it may have lost events it had
	// already handed out (see each backend's doc for what it can tell).
	// It never changes while the store only gains events. Every read (Head,
	// Snapshot, Since) and every write sees the new epoch from the first
	// call after the loss on; the events a write publishes carry it
	// (internal/busmsg).
	Head(ctx context.Context) (domain.Head, error)

	// Ping reports whether the store is reachable now.
	Ping(ctx context.Context) error
}

// History is what CanvasStore.Since read, in one consistent look.
type History struct {
	Events   []domain.Event
	Complete bool
	Head     domain.Head
}
