package place

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

// StoreTimeout bounds one store call made for a client, so a hung backend
// turns into an `unavailable` answer instead of a stuck client.
const StoreTimeout = 5 * time.Second

// Sources of writes, the PixelsAccepted metric's label values.
const (
	SourceWS   = "ws"
	SourceREST = "rest"
)

// reasonUnavailable is the PixelsRejected label for writes the store did not
// take; the WebSocket error code of the same name, so both sources add up.
const (
	reasonUnavailable = "unavailable"
	reasonRateLimited = "rate_limited"
)

// RateLimited refuses writes over the client's pixel budget.
type RateLimited struct {
	// RetryAfter is when the budget will hold the writes;
	// domain.Forever when there are more of them than the burst.
	RetryAfter time.Duration
}

func (e *RateLimited) Error() string {
	if e.RetryAfter == domain.Forever {
		return "more pixels at once than the budget ever holds"
	}
	return fmt.Sprintf("pixel budget spent; enough again in %v", e.RetryAfter)
}

// ErrFailed wraps a store failure that is not an outage (a bug, a corrupt
// answer); clients get a generic error, the log gets the details.
var ErrFailed = errors.New("place: the store failed")

// ErrArchived refuses writes to an archived canvas (readable, never
// written again). It wraps ports.ErrArchived. The REST API answers it with
// 409; the gateway should send its own error code (`archived`).
var ErrArchived = fmt.Errorf("place: %w: it takes no writes", ports.ErrArchived)

// reasonArchived is the PixelsRejected label of writes to an archived
// canvas.
const reasonArchived = "archived"

// Canvas is where PlaceOn writes: one canvas's store (ports.CanvasStores
// gives one per canvas) and what the directory says of it.
type Canvas struct {
	// Slug names the canvas; "" or domain.MainSlug is the main canvas.
	Slug domain.Slug
	// Store is the canvas's store.
	Store ports.CanvasStore
	// Archived canvases refuse every write with ErrArchived.
	Archived bool
}

// Service places validated writes.
type Service struct {
	store    ports.CanvasStore
	budget   ports.Budget
	dir      ports.Canvases
	archived prometheus.Counter
	limited  prometheus.Counter
	overIP   prometheus.Counter
	log      *slog.Logger
	timeout  time.Duration
	errors   prometheus.Counter
	rejected prometheus.Counter
	accepted *prometheus.CounterVec // by source and canvas
	canvases *metrics.CanvasLabels
}

// Options configures a Service. Timeout defaults to StoreTimeout.
type Options struct {
	Store ports.CanvasStore
	// Budget, if not nil, is every client's pixel allowance across all its
	// connections and the REST API (IP_PIXEL_RATE, IP_PIXEL_BURST).
	Budget ports.Budget
	// Canvases, if not nil, is told of every accepted write to a canvas
	// other than main (Touch: the lobby's last activity, coalesced by the
	// directory). Its failures are logged, never the write's.
	Canvases ports.Canvases
	Metrics  *metrics.Metrics
	Log      *slog.Logger
	Timeout  time.Duration
}

// New builds the Service.
func New(o Options) *Service {
	if o.Timeout <= 0 {
		o.Timeout = StoreTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{
		store:    o.Store,
		budget:   o.Budget,
		dir:      o.Canvases,
		archived: o.Metrics.PixelsRejected.WithLabelValues(reasonArchived),
		limited:  o.Metrics.PixelsRejected.WithLabelValues(reasonRateLimited),
		overIP:   o.Metrics.RateLimited.WithLabelValues("ip"),
		log:      o.Log,
		timeout:  o.Timeout,
		errors:   o.Metrics.StoreErrors,
		rejected: o.Metrics.PixelsRejected.WithLabelValues(reasonUnavailable),
		accepted: o.Metrics.PixelsAccepted,
		canvases: o.Metrics.Canvases,
	}
}

// Size is the main canvas, the one Place and PlaceAs write to.
func (s *Service) Size() domain.Size { return s.store.Size() }

// Main is the main canvas as PlaceOn takes it.
func (s *Service) Main() Canvas { return Canvas{Slug: domain.MainSlug, Store: s.store} }

// Place is PlaceAs for a client outside any pixel budget.
func (s *Service) Place(ctx context.Context, source string, writes []domain.Write) ([]domain.Event, error) {
	return s.PlaceAs(ctx, source, "", writes)
}

// PlaceAs is PlaceOn for the main canvas.
func (s *Service) PlaceAs(ctx context.Context, source, client string, writes []domain.Write) ([]domain.Event, error) {
	return s.PlaceOn(ctx, s.Main(), source, client, writes)
}

// PlaceOn places writes, already validated against c's size, on the canvas
// c. An archived canvas refuses them with ErrArchived before anything is
// charged. Otherwise it charges the client's pixel budget (client is its
// clientip key; "" is charged nothing): one budget for every canvas, so
// spreading writes over canvases buys no more pixels. Then it hands them
// to the canvas's store as one atomic call (they land whole or not at all)
// and returns their events in the order of writes. Over the budget it
// returns a *RateLimited. A store failure wraps ports.ErrUnavailable when
// the store is unreachable or too slow (the client may retry), or
// ErrFailed otherwise. Every refusal has been counted and, if worth it,
// logged here, so callers only word it.
func (s *Service) PlaceOn(ctx context.Context, c Canvas, source, client string, writes []domain.Write) ([]domain.Event, error) {
	if c.Archived {
		s.archived.Add(float64(len(writes)))
		return nil, ErrArchived
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if s.budget != nil && client != "" {
		ok, retry, err := s.budget.Take(ctx, client, len(writes))
		if err != nil {
			return nil, s.failed(source, len(writes), err)
		}
		if !ok {
			s.overIP.Inc()
			s.limited.Add(float64(len(writes)))
			return nil, &RateLimited{RetryAfter: retry}
		}
	}
	events, err := c.Store.Place(ctx, writes)
	if err == nil && len(events) != len(writes) {
		err = fmt.Errorf("store returned %d events for %d writes", len(events), len(writes))
	}
	if err != nil {
		return nil, s.failed(source, len(writes), err)
	}
	if source == SourceWS || source == SourceREST {
		// The canvas label is bounded: main, the most active canvases,
		// "other" (metrics.CanvasLabels).
		s.canvases.Count(string(c.Slug), len(writes), func(canvas string) {
			s.accepted.WithLabelValues(source, canvas).Add(float64(len(writes)))
		})
	}
	if len(events) > 0 {
		s.touch(ctx, c.Slug, events[len(events)-1].Time)
	}
	return events, nil
}

// touch tells the directory that a canvas other than main was written to.
func (s *Service) touch(ctx context.Context, slug domain.Slug, at domain.Timestamp) {
	if s.dir == nil || slug == "" || slug == domain.MainSlug {
		return
	}
	if err := s.dir.Touch(ctx, slug, at.Time()); err != nil {
		s.log.Debug("canvas activity not recorded", "canvas", string(slug), "err", err)
	}
}

// failed counts a store (or budget) failure and maps it.
func (s *Service) failed(source string, writes int, err error) error {
	s.errors.Inc()
	s.rejected.Add(float64(writes))
	if errors.Is(err, ports.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		// Counted, not logged at warning level: during an outage every
		// write fails, and one line per write would flood the log.
		s.log.Debug("store unavailable", "op", "place", "source", source, "err", err)
		return fmt.Errorf("%w: %w", ports.ErrUnavailable, err)
	}
	s.log.Error("pixel write failed", "source", source, "err", err)
	return fmt.Errorf("%w: %w", ErrFailed, err)
}
