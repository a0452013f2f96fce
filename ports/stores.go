package ports

import (
	"context"
	"errors"

	"github.com/pixelplayground/pixelplayground/domain"
)

// ErrSizeMismatch reports a canvas opened with another size than the one it
// has. The backends' own size errors wrap it.
var ErrSizeMismatch = errors.New("the canvas has another size")

// PixelChannel is the Pub/Sub channel of one canvas's events (see
// CanvasStore.Place): ChannelPixelUpdates for the main canvas, the old
// system's name, and "pixel-updates:<slug>" for every other.
func PixelChannel(slug domain.Slug) string {
	if slug == domain.MainSlug {
		return ChannelPixelUpdates
	}
	return ChannelPixelUpdates + ":" + string(slug)
}

// CanvasStores opens the store of each canvas: one CanvasStore per canvas,
// with its own seq, history, snapshot and channel (PixelChannel). Nothing of
// one canvas is ever seen through another's store. It is safe for
// concurrent use.
type CanvasStores interface {
	// Open returns the store of the canvas slug, making an empty canvas of
	// size if there is none yet. It is idempotent: the same slug gives the
	// same store (or a view of the same state) however often it is opened,
	// by however many callers, and nobody has to release it. A canvas that
	// has another size is an error wrapping ErrSizeMismatch; a string that
	// is not a slug (domain.ParseSlug) is an error too.
	//
	// Resources: a backend may free what an idle canvas holds (the embedded
	// store: the canvas in memory, its open files, a goroutine) and load it
	// again on the next call through a store it returned; that is
	// invisible to callers except as latency.
	Open(ctx context.Context, slug domain.Slug, size domain.Size) (CanvasStore, error)

	// Close closes every store the factory opened (the embedded stores
	// write their final snapshots). The stores it returned must not be
	// used afterwards; those that notice fail with ErrUnavailable.
	Close() error
}
