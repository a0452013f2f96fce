package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Writers place pixels through a store from several goroutines while a
// test breaks Redis under them, and keep every outcome, so that the test
// can check afterwards that each acknowledged write is in the store and
// measure how long writes were refused.
//
// Every write paints a pixel of its own (the n-th write the n-th pixel, in
// a colour that is never white), so no write hides another: after the
// test, an acknowledged write whose pixel is not its colour was lost.
type Writers struct {
	place  PlaceFunc
	size   domain.Size
	period time.Duration

	mu       sync.Mutex
	next     int
	outcomes []Outcome

	stop chan struct{}
	done sync.WaitGroup
}

// Outcome is one write and what the store answered.
type Outcome struct {
	Write      domain.Write
	Start, End time.Time
	Err        error
}

// Acknowledged reports whether the store said the write was made.
func (o Outcome) Acknowledged() bool { return o.Err == nil }

// TimedOut reports whether the call gave up waiting for Redis (rather than
// being refused at once).
func (o Outcome) TimedOut() bool {
	var ne net.Error
	return errors.Is(o.Err, os.ErrDeadlineExceeded) || errors.Is(o.Err, context.DeadlineExceeded) || (errors.As(o.Err, &ne) && ne.Timeout())
}

// PlaceFunc makes one write for writer number writer (0..n-1) and says
// whether it was acknowledged (nil) or not.
type PlaceFunc func(ctx context.Context, writer int, write domain.Write) error

// StartWriters starts n goroutines that each place one pixel every period
// (bounded load, so a long test does not run out of pixels: the canvas
// must have room for every write), each call with a deadline of
// callTimeout, until Stop.
func StartWriters(t testing.TB, store ports.CanvasStore, n int, period, callTimeout time.Duration) *Writers {
	t.Helper()
	return StartWritersWith(t, store.Size(), n, period, callTimeout, func(ctx context.Context, _ int, write domain.Write) error {
		_, err := store.Place(ctx, []domain.Write{write})
		return err
	})
}

// StartWritersWith is StartWriters with writes made by place on a canvas
// of the given size: through a gateway's WebSocket, say, where writer g is
// one client.
func StartWritersWith(t testing.TB, size domain.Size, n int, period, callTimeout time.Duration, place PlaceFunc) *Writers {
	t.Helper()
	w := &Writers{place: place, size: size, period: period, stop: make(chan struct{})}
	for g := range n {
		w.done.Add(1)
		go w.run(g, callTimeout)
	}
	t.Cleanup(w.Stop)
	return w
}

func (w *Writers) run(g int, callTimeout time.Duration) {
	defer w.done.Done()
	tick := time.NewTicker(w.period)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		i := w.next
		w.next++
		w.mu.Unlock()
		if i >= w.size.Pixels() {
			return // the canvas is full: nothing more to prove with
		}
		write := domain.Write{
			Pixel:    domain.Pixel{X: i % w.size.Width, Y: i / w.size.Width, Color: colourOf(i)},
			Username: fmt.Sprintf("writer%d", g),
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		start := time.Now()
		err := w.place(ctx, g, write)
		end := time.Now()
		cancel()
		w.mu.Lock()
		w.outcomes = append(w.outcomes, Outcome{Write: write, Start: start, End: end, Err: err})
		w.mu.Unlock()
	}
}

// colourOf is write i's colour: unique for the first 2^16 pixels, never
// white.
func colourOf(i int) domain.Color { return domain.ColorFromRGB(byte(i), byte(i>>8), 0x80) }

// Stop stops the writers and waits for their calls in flight.
func (w *Writers) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.done.Wait()
}

// Outcomes are every finished write so far, in the order they ended.
func (w *Writers) Outcomes() []Outcome {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.outcomes)
}

// AcknowledgedAfter counts the writes acknowledged that started after t.
func (w *Writers) AcknowledgedAfter(t time.Time) int {
	n := 0
	for _, o := range w.Outcomes() {
		if o.Acknowledged() && o.Start.After(t) {
			n++
		}
	}
	return n
}

// Lost are the acknowledged writes whose pixel in snap is not theirs.
func (w *Writers) Lost(snap domain.Snapshot) []domain.Write {
	var lost []domain.Write
	for _, o := range w.Outcomes() {
		if o.Acknowledged() && !Holds(snap, o.Write) {
			lost = append(lost, o.Write)
		}
	}
	return lost
}

// Holds reports whether snap has write's colour at its pixel.
func Holds(snap domain.Snapshot, write domain.Write) bool {
	i := 3 * snap.Size.Index(write.X, write.Y)
	r, g, b := write.Color.RGB()
	return snap.RGB[i] == r && snap.RGB[i+1] == g && snap.RGB[i+2] == b
}

// Recovery is, for every writer that was refused after failure, how long
// from failure until the end of its first acknowledged write that started
// after that refusal: how long its pixels were refused. A writer with no
// refusal yet, or no acknowledged write since, is left out. Sorted.
func (w *Writers) Recovery(failure time.Time) []time.Duration {
	refusedAt := map[string]time.Time{}
	back := map[string]time.Duration{}
	for _, o := range w.Outcomes() { // in the order they ended
		if o.End.Before(failure) {
			continue
		}
		who := o.Write.Username
		at, refused := refusedAt[who]
		switch {
		case !o.Acknowledged() && !refused:
			refusedAt[who] = o.Start
		case o.Acknowledged() && refused && o.Start.After(at):
			if _, done := back[who]; !done {
				back[who] = o.End.Sub(failure)
			}
		}
	}
	out := make([]time.Duration, 0, len(back))
	for _, d := range back {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// Refused counts the writers refused at least once after failure.
func (w *Writers) Refused(failure time.Time) int {
	who := map[string]bool{}
	for _, o := range w.Outcomes() {
		if !o.Acknowledged() && !o.End.Before(failure) {
			who[o.Write.Username] = true
		}
	}
	return len(who)
}

// Refusals summarises the writes that failed after failure: how many, how
// many of them waited for a timeout, and the longest any failed call took.
func (w *Writers) Refusals(failure time.Time) (refused, timedOut int, longest time.Duration) {
	for _, o := range w.Outcomes() {
		if o.Acknowledged() || o.End.Before(failure) {
			continue
		}
		refused++
		if o.TimedOut() {
			timedOut++
		}
		longest = max(longest, o.End.Sub(o.Start))
	}
	return refused, timedOut, longest
}

// Percentile is the p-th percentile (0..100) of sorted durations, by
// nearest rank; 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// WaitAcknowledged waits until n writes that started after since were
// acknowledged, and fails the test after within.
func (w *Writers) WaitAcknowledged(t testing.TB, since time.Time, n int, within time.Duration) {
	t.Helper()
	if err := waitfor.Poll(within, func() error {
		if got := w.AcknowledgedAfter(since); got < n {
			return fmt.Errorf("%d of %d writes acknowledged", got, n)
		}
		return nil
	}); err != nil {
		t.Fatalf("redistest: writes not acknowledged: %v (last errors: %s)", err, w.LastErrors())
	}
}

// WaitStarted waits until n writes that started after since have ended,
// whatever their outcome, and fails the test after within.
func (w *Writers) WaitStarted(t testing.TB, since time.Time, n int, within time.Duration) {
	t.Helper()
	if err := waitfor.Poll(within, func() error {
		got := 0
		for _, o := range w.Outcomes() {
			if o.Start.After(since) {
				got++
			}
		}
		if got < n {
			return fmt.Errorf("%d of %d writes made", got, n)
		}
		return nil
	}); err != nil {
		t.Fatalf("redistest: %v", err)
	}
}

// WaitRecovered waits until every writer refused after failure has had a
// write acknowledged since (at least one must have been refused), and
// returns the recovery times (Recovery); it fails the test after within.
func (w *Writers) WaitRecovered(t testing.TB, failure time.Time, within time.Duration) []time.Duration {
	t.Helper()
	if err := waitfor.Poll(within, func() error {
		refused, back := w.Refused(failure), len(w.Recovery(failure))
		if refused == 0 || back < refused {
			return fmt.Errorf("%d of the %d writers refused are accepted again", back, refused)
		}
		return nil
	}); err != nil {
		t.Fatalf("redistest: writes not accepted again: %v (last errors: %s)", err, w.LastErrors())
	}
	return w.Recovery(failure)
}

// LastErrors are the last three refusals, for a failure message.
func (w *Writers) LastErrors() string {
	var msgs []string
	for _, o := range w.Outcomes() {
		if o.Err != nil {
			msgs = append(msgs, o.Err.Error())
		}
	}
	if len(msgs) > 3 {
		msgs = msgs[len(msgs)-3:]
	}
	return strings.Join(msgs, " | ")
}
