package place

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
)

// A thousand canvases written to, over several minutes, give the accepted
// counter at most CanvasLabelTop+2 canvas label values: main, the most
// active canvases, other.
func TestAThousandCanvasesKeepTheCanvasLabelBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := metrics.New()
	m.Canvases = metrics.NewCanvasLabels(metrics.CanvasLabelTop, func() time.Time { return now }, m.ForgetCanvas)
	st := store{place: func(_ context.Context, w []domain.Write) ([]domain.Event, error) { return events(w), nil }}
	s := New(Options{Store: st, Metrics: m, Log: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	one := []domain.Write{{Pixel: domain.Pixel{X: 1}}}

	const canvases = 1000
	for minute := range 5 {
		for i := range canvases {
			c := Canvas{Slug: domain.Slug(fmt.Sprintf("canvas-%d", i)), Store: st}
			// The busiest canvases move on every minute, so the named set
			// changes too.
			writes := 1
			if (i+minute*7)%canvases < 30 {
				writes = 5
			}
			for range writes {
				source := SourceREST
				if i%2 == 0 {
					source = SourceWS
				}
				if _, err := s.PlaceOn(ctx, c, source, "", one); err != nil {
					t.Fatal(err)
				}
			}
			now = now.Add(time.Minute / canvases)
		}
		if _, err := s.Place(ctx, SourceWS, one); err != nil {
			t.Fatal(err)
		}
		if n := len(canvasLabels(t, m)); n > metrics.CanvasLabelTop+2 {
			t.Fatalf("minute %d: %d canvas label values, want at most %d", minute, n, metrics.CanvasLabelTop+2)
		}
	}
	labels := canvasLabels(t, m)
	if len(labels) > metrics.CanvasLabelTop+2 {
		t.Fatalf("%d canvas label values for %d canvases, want at most %d", len(labels), canvases, metrics.CanvasLabelTop+2)
	}
	if !labels[metrics.MainCanvasLabel] || !labels[metrics.OtherCanvasLabel] || len(labels) < metrics.CanvasLabelTop {
		t.Fatalf("canvas labels %v: want main, other and named canvases", labels)
	}
	total := testutil.ToFloat64(m.PixelsAccepted.WithLabelValues(SourceWS, metrics.MainCanvasLabel))
	if total != 5 {
		t.Fatalf("main's accepted pixels %v, want 5", total)
	}
}

// canvasLabels are the canvas label's values on the accepted counter now.
func canvasLabels(t *testing.T, m *metrics.Metrics) map[string]bool {
	t.Helper()
	labels := map[string]bool{}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "pixel_pixels_accepted_total" {
			continue
		}
		for _, series := range f.GetMetric() {
			for _, l := range series.GetLabel() {
				if l.GetName() == "canvas" {
					labels[l.GetValue()] = true
				}
			}
		}
	}
	return labels
}
