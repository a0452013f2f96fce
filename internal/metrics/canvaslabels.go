package metrics

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Canvas label values besides the named canvases' slugs.
const (
	// MainCanvasLabel is the main canvas's label, always.
	MainCanvasLabel = "main"
	// OtherCanvasLabel is every canvas outside the top CanvasLabelTop.
	OtherCanvasLabel = "other"
)

// CanvasLabelTop is how many canvases besides main keep their slug as the
// canvas label: with main and "other", a canvas label has at most
// CanvasLabelTop+2 values however many canvases there are.
const CanvasLabelTop = 20

// CanvasLabelWindow is how often the named canvases may change: the top
// is the canvases most written to in the last complete window, so series
// do not churn at every write.
const CanvasLabelWindow = time.Minute

// CanvasLabels maps a canvas's slug to its metric label, bounded: main is
// "main", the top canvases by activity keep their slug, every other is
// "other". Activity is what Count is told (pixels written); the named set
// is recomputed at most once per window, from the last window's counts,
// and kept as it is after a window without writes. A canvas that leaves
// the set is forgotten (its series deleted), so the label has at most
// top+2 values at any moment, however many canvases come and go. Safe for
// concurrent use.
type CanvasLabels struct {
	top    int
	now    func() time.Time
	forget func(label string)

	mu     sync.Mutex
	since  time.Time        // start of the window being counted
	counts map[string]int64 // pixels per canvas in this window
	named  map[string]bool
}

// NewCanvasLabels names at most top canvases besides main, with windows
// measured by now; forget (if not nil) is told of every label that stops
// being used, to delete its series.
func NewCanvasLabels(top int, now func() time.Time, forget func(label string)) *CanvasLabels {
	return &CanvasLabels{top: top, now: now, forget: forget, since: now(), counts: map[string]int64{}, named: map[string]bool{}}
}

// Count counts n pixels written to slug ("" is main) and calls add with
// its label. add runs under the lock that renames, so a label is never
// counted after it was forgotten.
func (l *CanvasLabels) Count(slug string, n int, add func(label string)) {
	if slug == "" || slug == MainCanvasLabel {
		add(MainCanvasLabel)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := l.now(); now.Sub(l.since) >= CanvasLabelWindow {
		l.rotate()
		l.since = now
	}
	l.counts[slug] += int64(n)
	if l.named[slug] {
		add(slug)
		return
	}
	add(OtherCanvasLabel)
}

// Label is Count without a counter: it returns the label.
func (l *CanvasLabels) Label(slug string, n int) string {
	var label string
	l.Count(slug, n, func(s string) { label = s })
	return label
}

// rotate names the top canvases of the window that ends. Called with
// l.mu held.
func (l *CanvasLabels) rotate() {
	if len(l.counts) == 0 {
		return
	}
	type count struct {
		slug string
		n    int64
	}
	all := make([]count, 0, len(l.counts))
	for s, n := range l.counts {
		all = append(all, count{s, n})
	}
	slices.SortFunc(all, func(a, b count) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.slug, b.slug)) })
	next := make(map[string]bool, l.top)
	for _, c := range all[:min(len(all), l.top)] {
		next[c.slug] = true
	}
	for s := range l.named {
		if !next[s] && l.forget != nil {
			l.forget(s)
		}
	}
	l.named = next
	l.counts = map[string]int64{}
}
