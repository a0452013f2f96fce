package place

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

// store is a CanvasStore whose Place answers as told; the rest is unused.
type store struct {
	ports.CanvasStore
	place func(ctx context.Context, writes []domain.Write) ([]domain.Event, error)
}

func (s store) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	return s.place(ctx, writes)
}

func events(writes []domain.Write) []domain.Event {
	out := make([]domain.Event, len(writes))
	for i, w := range writes {
		out[i] = domain.Event{Seq: domain.Seq(i + 1), Pixel: w.Pixel}
	}
	return out
}

func TestPlace(t *testing.T) {
	two := []domain.Write{{Pixel: domain.Pixel{X: 1}}, {Pixel: domain.Pixel{X: 2}}}
	for _, tc := range []struct {
		name                        string
		place                       func(context.Context, []domain.Write) ([]domain.Event, error)
		unavailable, failed         bool
		accepted, rejected, errsCnt float64
	}{
		{name: "accepted", place: func(_ context.Context, w []domain.Write) ([]domain.Event, error) { return events(w), nil },
			accepted: 2},
		{name: "store down", place: func(context.Context, []domain.Write) ([]domain.Event, error) {
			return nil, fmt.Errorf("dial: %w", ports.ErrUnavailable)
		}, unavailable: true, rejected: 2, errsCnt: 1},
		{name: "store too slow", place: func(ctx context.Context, _ []domain.Write) ([]domain.Event, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, unavailable: true, rejected: 2, errsCnt: 1},
		{name: "store broken", place: func(context.Context, []domain.Write) ([]domain.Event, error) {
			return nil, errors.New("WRONGTYPE")
		}, failed: true, rejected: 2, errsCnt: 1},
		{name: "store answers short", place: func(_ context.Context, w []domain.Write) ([]domain.Event, error) {
			return events(w[:1]), nil
		}, failed: true, rejected: 2, errsCnt: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New()
			s := New(Options{Store: store{place: tc.place}, Metrics: m, Timeout: 20 * time.Millisecond,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			got, err := s.Place(context.Background(), SourceREST, two)
			if errors.Is(err, ports.ErrUnavailable) != tc.unavailable || errors.Is(err, ErrFailed) != tc.failed {
				t.Fatalf("err = %v, want unavailable %v, failed %v", err, tc.unavailable, tc.failed)
			}
			if err == nil && len(got) != len(two) {
				t.Fatalf("%d events for %d writes", len(got), len(two))
			}
			if v := testutil.ToFloat64(m.PixelsAccepted.WithLabelValues(SourceREST)); v != tc.accepted {
				t.Errorf("accepted %v, want %v", v, tc.accepted)
			}
			if v := testutil.ToFloat64(m.PixelsAccepted.WithLabelValues(SourceWS)); v != 0 {
				t.Errorf("counted %v under the other source", v)
			}
			if v := testutil.ToFloat64(m.PixelsRejected.WithLabelValues(reasonUnavailable)); v != tc.rejected {
				t.Errorf("rejected %v, want %v", v, tc.rejected)
			}
			if v := testutil.ToFloat64(m.StoreErrors); v != tc.errsCnt {
				t.Errorf("store errors %v, want %v", v, tc.errsCnt)
			}
		})
	}
}
