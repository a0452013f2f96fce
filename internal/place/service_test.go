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
			if v := testutil.ToFloat64(m.PixelsAccepted.WithLabelValues(SourceREST, metrics.MainCanvasLabel)); v != tc.accepted {
				t.Errorf("accepted %v, want %v", v, tc.accepted)
			}
			if v := testutil.ToFloat64(m.PixelsAccepted.WithLabelValues(SourceWS, metrics.MainCanvasLabel)); v != 0 {
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

// budget grants from a fixed number of tokens per client, or fails.
type budget struct {
	left map[string]int
	err  error
}

func (b *budget) Take(_ context.Context, key string, n int) (bool, time.Duration, error) {
	if b.err != nil {
		return false, 0, b.err
	}
	if b.left[key] < n {
		return false, time.Second, nil
	}
	b.left[key] -= n
	return true, 0, nil
}

func TestPlaceChargesTheClientsBudget(t *testing.T) {
	placed := 0
	st := store{place: func(_ context.Context, w []domain.Write) ([]domain.Event, error) {
		placed += len(w)
		return events(w), nil
	}}
	m := metrics.New()
	b := &budget{left: map[string]int{"192.0.2.1": 3, "192.0.2.2": 3}}
	s := New(Options{Store: st, Budget: b, Metrics: m, Log: slog.New(slog.DiscardHandler)})
	two := []domain.Write{{Pixel: domain.Pixel{X: 1}}, {Pixel: domain.Pixel{X: 2}}}
	ctx := context.Background()

	if _, err := s.PlaceAs(ctx, SourceWS, "192.0.2.1", two); err != nil {
		t.Fatal(err)
	}
	_, err := s.PlaceAs(ctx, SourceREST, "192.0.2.1", two)
	var limited *RateLimited
	if !errors.As(err, &limited) || limited.RetryAfter != time.Second {
		t.Fatalf("over the budget: %v, want RateLimited after 1s", err)
	}
	if placed != 2 {
		t.Fatalf("%d pixels reached the store, want 2: a refused batch must not", placed)
	}
	if v := testutil.ToFloat64(m.PixelsRejected.WithLabelValues(reasonRateLimited)); v != 2 {
		t.Errorf("rejected as rate limited: %v, want 2", v)
	}
	if _, err := s.PlaceAs(ctx, SourceWS, "192.0.2.2", two); err != nil {
		t.Fatalf("another client was charged: %v", err)
	}
	if _, err := s.Place(ctx, SourceWS, two); err != nil {
		t.Fatalf("a write outside any budget: %v", err)
	}
	b.err = fmt.Errorf("budget: %w", ports.ErrUnavailable)
	if _, err := s.PlaceAs(ctx, SourceWS, "192.0.2.2", two[:1]); !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("budget down: %v, want unavailable", err)
	}
}

// directory records the directory's Touch calls; the rest is unused.
type directory struct {
	ports.Canvases
	touched []domain.Slug
	err     error
}

func (d *directory) Touch(_ context.Context, slug domain.Slug, _ time.Time) error {
	d.touched = append(d.touched, slug)
	return d.err
}

func TestPlaceOnACanvas(t *testing.T) {
	var mainPlaced, otherPlaced int
	mainStore := store{place: func(_ context.Context, w []domain.Write) ([]domain.Event, error) {
		mainPlaced += len(w)
		return events(w), nil
	}}
	other := Canvas{Slug: "art", Store: store{place: func(_ context.Context, w []domain.Write) ([]domain.Event, error) {
		otherPlaced += len(w)
		return events(w), nil
	}}}
	m := metrics.New()
	b := &budget{left: map[string]int{"192.0.2.1": 3}}
	dir := &directory{}
	s := New(Options{Store: mainStore, Budget: b, Canvases: dir, Metrics: m, Log: slog.New(slog.DiscardHandler)})
	two := []domain.Write{{Pixel: domain.Pixel{X: 1}}, {Pixel: domain.Pixel{X: 2}}}
	ctx := context.Background()

	if _, err := s.PlaceOn(ctx, other, SourceREST, "192.0.2.1", two); err != nil {
		t.Fatal(err)
	}
	if otherPlaced != 2 || mainPlaced != 0 {
		t.Fatalf("placed %d on the canvas and %d on main; want 2 and 0", otherPlaced, mainPlaced)
	}
	if len(dir.touched) != 1 || dir.touched[0] != "art" {
		t.Fatalf("touched %v, want [art]", dir.touched)
	}
	// One budget for every canvas: main gets what is left of it.
	var limited *RateLimited
	if _, err := s.PlaceAs(ctx, SourceWS, "192.0.2.1", two); !errors.As(err, &limited) {
		t.Fatalf("main after spending the budget on another canvas: %v, want RateLimited", err)
	}
	if _, err := s.PlaceAs(ctx, SourceWS, "192.0.2.1", two[:1]); err != nil || mainPlaced != 1 {
		t.Fatalf("main: %v, placed %d", err, mainPlaced)
	}
	if len(dir.touched) != 1 {
		t.Errorf("main was touched in the directory: %v", dir.touched)
	}

	// An archived canvas takes nothing and charges nothing.
	b.left["192.0.2.3"] = 2
	archived := other
	archived.Archived = true
	if _, err := s.PlaceOn(ctx, archived, SourceREST, "192.0.2.3", two); !errors.Is(err, ErrArchived) || !errors.Is(err, ports.ErrArchived) {
		t.Fatalf("archived: %v, want ErrArchived", err)
	}
	if otherPlaced != 2 || b.left["192.0.2.3"] != 2 {
		t.Fatalf("an archived canvas's write reached the store (%d) or the budget (%d left)", otherPlaced, b.left["192.0.2.3"])
	}
	if v := testutil.ToFloat64(m.PixelsRejected.WithLabelValues(reasonArchived)); v != 2 {
		t.Errorf("rejected as archived: %v, want 2", v)
	}

	// A directory that cannot be told is not the write's failure.
	dir.err = fmt.Errorf("dir: %w", ports.ErrUnavailable)
	if _, err := s.PlaceOn(ctx, other, SourceREST, "", two); err != nil {
		t.Fatalf("directory down: %v", err)
	}
	if s.Main().Slug != domain.MainSlug || s.Main().Store == nil {
		t.Errorf("Main() = %+v", s.Main())
	}
}
