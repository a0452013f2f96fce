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
	// publishes it on the canvas's channel (PixelChannel), all atomically:
	// no reader or subscriber ever sees one without the others, and
	// publication order is seq order. It returns the events in the order of
	// writes.
	Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error)

	// Reset turns every pixel white as one event with its own seq, recorded
	// and published like a pixel write.
	Reset(ctx context.Context, origin domain.Origin) (domain.Event, error)

	// Snapshot returns every pixel and the seq it includes, in one
	// consistent read.
	Snapshot(ctx context.Context) (domain.Snapshot, error)

	// Pixel returns one pixel's colour and who last painted it; a pixel
	// never painted since the last reset is white with Seq 0.
	Pixel(ctx context.Context, x, y int) (domain.PixelInfo, error)

	// Since returns the events with seq greater than after, in seq order, at
	// most limit of them (limit <= 0 means all that are kept). complete is
	// false when history no longer reaches back to after+1 (it was trimmed,
	// or after is ahead of the store, as after data loss), in which case the
	// caller must fall back to a snapshot.
	Since(ctx context.Context, after domain.Seq, limit int) (events []domain.Event, complete bool, err error)

	// LatestSeq is the seq of the last accepted event (0 for a new canvas).
	LatestSeq(ctx context.Context) (domain.Seq, error)

	// Ping reports whether the store is reachable now.
	Ping(ctx context.Context) error
}
