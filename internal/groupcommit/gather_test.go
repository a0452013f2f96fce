package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

var testSize = domain.Size{Width: 100, Height: 100}

// fakeStore assigns seqs like a store and records every Place call. With
// hold set, each call waits for a token on release before it answers, so
// a test decides how long the store is "in flight".
type fakeStore struct {
	ports.CanvasStore // only Size and Place are used
	hold              bool
	release           chan struct{}

	mu    sync.Mutex
	seq   domain.Seq
	calls []call
	// fail, if set, answers the next call: the first applied writes'
	// events and err.
	fail func(writes []domain.Write) (applied int, err error)
}

type call struct {
	writes []domain.Write
	at     time.Time
	ctx    context.Context
}

func newFake(hold bool) *fakeStore { return &fakeStore{hold: hold, release: make(chan struct{})} }

func (f *fakeStore) Size() domain.Size { return testSize }

func (f *fakeStore) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call{writes: slices.Clone(writes), at: time.Now(), ctx: ctx})
	f.mu.Unlock()
	if f.hold {
		<-f.release
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	applied, err := len(writes), error(nil)
	if f.fail != nil {
		applied, err = f.fail(writes)
		f.fail = nil
	}
	events := make([]domain.Event, applied)
	for i, w := range writes[:applied] {
		f.seq++
		events[i] = domain.Event{Kind: domain.PixelPlaced, Seq: f.seq, Pixel: w.Pixel, Username: w.Username}
	}
	return events, err
}

func (f *fakeStore) callsNow() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// writesOf is n writes by user, told apart by their x.
func writesOf(user string, xs ...int) []domain.Write {
	w := make([]domain.Write, len(xs))
	for i, x := range xs {
		w[i] = domain.Write{Pixel: domain.Pixel{X: x, Y: 1, Color: domain.Color(x)}, Username: user}
	}
	return w
}

// outcome is one Place's answer, delivered on a channel.
type outcome struct {
	events []domain.Event
	err    error
}

// place starts a Place in its own goroutine and waits until it has
// either returned or blocked (joined a batch, or is in the store).
func place(ctx context.Context, s ports.CanvasStore, writes []domain.Write) chan outcome {
	out := make(chan outcome, 1)
	go func() {
		events, err := s.Place(ctx, writes)
		out <- outcome{events, err}
	}()
	synctest.Wait()
	return out
}

// answered is the outcome if the Place has returned.
func answered(out chan outcome) (outcome, bool) {
	select {
	case o := <-out:
		return o, true
	default:
		return outcome{}, false
	}
}

func mustAnswer(t *testing.T, out chan outcome) outcome {
	t.Helper()
	o, ok := answered(out)
	if !ok {
		t.Fatal("the Place has not returned")
	}
	return o
}

// wantOwn checks that o is exactly the events of writes, in their order,
// with consecutive seqs from first.
func wantOwn(t *testing.T, o outcome, writes []domain.Write, first domain.Seq) {
	t.Helper()
	if o.err != nil {
		t.Fatalf("Place: %v", o.err)
	}
	if len(o.events) != len(writes) {
		t.Fatalf("%d events for %d writes", len(o.events), len(writes))
	}
	for i, e := range o.events {
		if e.Pixel != writes[i].Pixel || e.Username != writes[i].Username || e.Seq != first+domain.Seq(i) {
			t.Fatalf("event %d is %+v, want the pixel %+v of %s with seq %d", i, e, writes[i].Pixel, writes[i].Username, first+domain.Seq(i))
		}
	}
}

// wantPixels checks that o is exactly the events of writes, in their
// order, with consecutive seqs.
func wantPixels(t *testing.T, o outcome, writes []domain.Write) {
	t.Helper()
	if o.err != nil || len(o.events) == 0 {
		t.Fatalf("Place: %v, %d events", o.err, len(o.events))
	}
	wantOwn(t, o, writes, o.events[0].Seq)
}

func wantCallWrites(t *testing.T, c call, parts ...[]domain.Write) {
	t.Helper()
	if want := slices.Concat(parts...); !slices.Equal(c.writes, want) {
		t.Fatalf("the store call carried %v, want %v", c.writes, want)
	}
}

func TestLoneWritesGoAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(false)
		s := New(f, Options{Window: time.Millisecond, Max: 8})
		start := time.Now()
		for i := range 3 {
			w := writesOf("solo", i)
			events, err := s.Place(context.Background(), w)
			wantOwn(t, outcome{events, err}, w, domain.Seq(i+1))
		}
		calls := f.callsNow()
		if len(calls) != 3 {
			t.Fatalf("%d store calls for 3 sequential writes, want 3", len(calls))
		}
		for i, c := range calls {
			if d := c.at.Sub(start); d != 0 {
				t.Errorf("write %d reached the store after %v; a lone write must not wait", i, d)
			}
		}
	})
}

func TestWritesGatherWhileACallIsInFlightAndLeaveWhenItReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 100})
		start := time.Now()
		ctx := context.Background()
		a, b, c := writesOf("a", 1), writesOf("b", 2, 3), writesOf("c", 4)
		outA := place(ctx, s, a)
		outB := place(ctx, s, b)
		outC := place(ctx, s, c)
		if n := len(f.callsNow()); n != 1 {
			t.Fatalf("%d store calls while the first is in flight, want 1 (b and c gathering)", n)
		}
		f.release <- struct{}{}
		synctest.Wait()
		wantOwn(t, mustAnswer(t, outA), a, 1)
		calls := f.callsNow()
		if len(calls) != 2 {
			t.Fatalf("%d store calls, want 2: b and c together once a's returned", len(calls))
		}
		wantCallWrites(t, calls[1], b, c)
		if d := calls[1].at.Sub(start); d != 0 {
			t.Errorf("the gathered batch left after %v, want at once when the store was free again", d)
		}
		f.release <- struct{}{}
		synctest.Wait()
		wantOwn(t, mustAnswer(t, outB), b, 2)
		wantOwn(t, mustAnswer(t, outC), c, 4)
	})
}

func TestABatchLeavesAfterTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		const window = 3 * time.Millisecond
		s := New(f, Options{Window: window, Max: 100})
		ctx := context.Background()
		outA := place(ctx, s, writesOf("a", 1)) // in flight until released
		time.Sleep(time.Millisecond)
		joined := time.Now()
		b := writesOf("b", 2)
		outB := place(ctx, s, b)
		time.Sleep(window - time.Nanosecond)
		synctest.Wait()
		if n := len(f.callsNow()); n != 1 {
			t.Fatalf("%d store calls before the window passed, want 1", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		calls := f.callsNow()
		if len(calls) != 2 {
			t.Fatalf("%d store calls once the window passed, want 2", len(calls))
		}
		if d := calls[1].at.Sub(joined); d != window {
			t.Errorf("b left %v after it joined, want the window, %v", d, window)
		}
		wantCallWrites(t, calls[1], b)
		f.release <- struct{}{}
		f.release <- struct{}{}
		synctest.Wait()
		if o := mustAnswer(t, outA); o.err != nil {
			t.Fatal(o.err)
		}
		// Two calls were in flight at once: which got seq 1 is up to the
		// release order; b gets its own event either way.
		wantPixels(t, mustAnswer(t, outB), b)
	})
}

func TestABatchLeavesWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 3})
		ctx := context.Background()
		start := time.Now()
		place(ctx, s, writesOf("a", 1))
		b, c, d, e := writesOf("b", 2, 3), writesOf("c", 4), writesOf("d", 5, 6), writesOf("e", 7, 8)
		outB := place(ctx, s, b)
		outC := place(ctx, s, c) // fills b's batch: it leaves at once
		calls := f.callsNow()
		if len(calls) != 2 {
			t.Fatalf("%d store calls, want 2: the full batch left", len(calls))
		}
		wantCallWrites(t, calls[1], b, c)
		outD := place(ctx, s, d)
		place(ctx, s, e) // does not fit with d: d's batch leaves, e starts the next
		calls = f.callsNow()
		if len(calls) != 3 {
			t.Fatalf("%d store calls, want 3: d's batch left when e did not fit", len(calls))
		}
		wantCallWrites(t, calls[2], d)
		for _, c := range calls {
			if c.at != start {
				t.Errorf("a call waited %v; full batches leave at once", c.at.Sub(start))
			}
		}
		for range 3 {
			f.release <- struct{}{}
		}
		synctest.Wait()
		// The order the three calls were released in is the order they
		// were assigned seqs; each caller's events are its own either way.
		wantPixels(t, mustAnswer(t, outB), b)
		wantPixels(t, mustAnswer(t, outC), c)
		wantPixels(t, mustAnswer(t, outD), d)
		f.release <- struct{}{} // e's batch, sent when the store was free
		synctest.Wait()
	})
}

func TestALargePlaceGoesAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 3})
		ctx := context.Background()
		place(ctx, s, writesOf("a", 1))
		big := writesOf("big", 2, 3, 4, 5)
		outBig := place(ctx, s, big)
		calls := f.callsNow()
		if len(calls) != 2 {
			t.Fatalf("%d store calls, want 2: more than Max writes go at once, alone", len(calls))
		}
		wantCallWrites(t, calls[1], big)
		f.release <- struct{}{}
		f.release <- struct{}{}
		synctest.Wait()
		if o := mustAnswer(t, outBig); o.err != nil || len(o.events) != 4 {
			t.Fatalf("the large Place: %v, %d events", o.err, len(o.events))
		}
	})
}

func TestACallerThatGivesUpWhileGatheringIsNeverSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 100})
		place(context.Background(), s, writesOf("a", 1))
		quitter, cancel := context.WithCancel(context.Background())
		outB := place(quitter, s, writesOf("b", 2))
		c := writesOf("c", 3)
		outC := place(context.Background(), s, c)
		cancel()
		synctest.Wait()
		o := mustAnswer(t, outB)
		if !errors.Is(o.err, ports.ErrUnavailable) || !errors.Is(o.err, context.Canceled) || o.events != nil {
			t.Fatalf("the caller that gave up: %v, %v; want unavailable (context canceled) and no events", o.events, o.err)
		}
		f.release <- struct{}{}
		synctest.Wait()
		calls := f.callsNow()
		if len(calls) != 2 {
			t.Fatalf("%d store calls, want 2", len(calls))
		}
		wantCallWrites(t, calls[1], c) // b's write is not in it
		f.release <- struct{}{}
		synctest.Wait()
		wantOwn(t, mustAnswer(t, outC), c, 2)
	})
}

func TestEveryoneGivingUpDropsTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Millisecond, Max: 100})
		outA := place(context.Background(), s, writesOf("a", 1))
		quitter, cancel := context.WithCancel(context.Background())
		outB := place(quitter, s, writesOf("b", 2))
		cancel()
		synctest.Wait()
		if o := mustAnswer(t, outB); !errors.Is(o.err, ports.ErrUnavailable) {
			t.Fatalf("b: %v", o.err)
		}
		time.Sleep(10 * time.Millisecond) // past the window
		f.release <- struct{}{}
		synctest.Wait()
		mustAnswer(t, outA)
		if n := len(f.callsNow()); n != 1 {
			t.Fatalf("%d store calls, want 1: the emptied batch is never sent", n)
		}
	})
}

func TestACallerThatGivesUpAfterItsBatchLeftGetsTheOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 100})
		quitter, cancel := context.WithCancel(context.Background())
		a := writesOf("a", 1)
		outA := place(quitter, s, a)
		cancel()
		synctest.Wait()
		if _, ok := answered(outA); ok {
			t.Fatal("the caller returned while its write was in the store; it must wait for the outcome")
		}
		if err := f.callsNow()[0].ctx.Err(); err != nil {
			t.Fatalf("the caller's cancellation reached the store call: %v", err)
		}
		f.release <- struct{}{}
		synctest.Wait()
		wantOwn(t, mustAnswer(t, outA), a, 1)
	})
}

func TestTheBatchCarriesTheEarliestDeadlineAndNoCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 100})
		place(context.Background(), s, writesOf("a", 1))
		now := time.Now()
		soon, cancelSoon := context.WithDeadline(context.Background(), now.Add(2*time.Second))
		defer cancelSoon()
		later, cancelLater := context.WithDeadline(context.Background(), now.Add(3*time.Second))
		defer cancelLater()
		place(later, s, writesOf("later", 2))
		place(soon, s, writesOf("soon", 3))
		place(context.Background(), s, writesOf("never", 4))
		f.release <- struct{}{}
		synctest.Wait()
		calls := f.callsNow()
		if len(calls) != 2 {
			t.Fatalf("%d store calls, want 2", len(calls))
		}
		d, ok := calls[1].ctx.Deadline()
		if !ok || !d.Equal(now.Add(2*time.Second)) {
			t.Fatalf("the batch's deadline is %v (%v), want the earliest caller's, %v", d, ok, now.Add(2*time.Second))
		}
		cancelSoon()
		if err := calls[1].ctx.Err(); err != nil {
			t.Fatalf("a caller's cancellation reached the batch: %v", err)
		}
		f.release <- struct{}{}
		synctest.Wait()
	})
}

func TestACallerWithLittleTimeLeftGoesAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 100})
		place(context.Background(), s, writesOf("a", 1))
		hurry, cancel := context.WithTimeout(context.Background(), MinShare-time.Millisecond)
		defer cancel()
		h := writesOf("hurry", 2)
		outH := place(hurry, s, h)
		calls := f.callsNow()
		if len(calls) != 2 {
			t.Fatalf("%d store calls, want 2: a caller with less than MinShare left is not gathered", len(calls))
		}
		wantCallWrites(t, calls[1], h)
		f.release <- struct{}{}
		f.release <- struct{}{}
		synctest.Wait()
		if o := mustAnswer(t, outH); o.err != nil {
			t.Fatal(o.err)
		}
	})
}

func TestAWriteOffTheCanvasFailsOnlyItsCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 100})
		place(context.Background(), s, writesOf("a", 1))
		bad := writesOf("bad", 5, testSize.Width)
		outBad := place(context.Background(), s, bad)
		o := mustAnswer(t, outBad)
		if !errors.Is(o.err, domain.ErrOutOfBounds) {
			t.Fatalf("a write off the canvas: %v, want out of bounds", o.err)
		}
		c := writesOf("c", 3)
		outC := place(context.Background(), s, c)
		f.release <- struct{}{}
		synctest.Wait()
		wantCallWrites(t, f.callsNow()[1], c)
		f.release <- struct{}{}
		synctest.Wait()
		wantOwn(t, mustAnswer(t, outC), c, 2)
	})
}

func TestAFailedCallFailsItsCallersAndOnlyThem(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(true)
		s := New(f, Options{Window: time.Second, Max: 100})
		outA := place(context.Background(), s, writesOf("a", 1))
		b, c, d := writesOf("b", 2, 3), writesOf("c", 4, 5), writesOf("d", 6)
		outB := place(context.Background(), s, b)
		outC := place(context.Background(), s, c)
		outD := place(context.Background(), s, d)
		boom := fmt.Errorf("%w: boom", ports.ErrUnavailable)
		// The batch b+c+d fails after applying its first three writes, as
		// a store that splits large calls may.
		f.release <- struct{}{} // a's call
		synctest.Wait()
		f.mu.Lock()
		f.fail = func([]domain.Write) (int, error) { return 3, boom }
		f.mu.Unlock()
		f.release <- struct{}{} // b+c+d
		synctest.Wait()
		if o := mustAnswer(t, outA); o.err != nil {
			t.Fatal(o.err)
		}
		wantOwn(t, mustAnswer(t, outB), b, 2) // wholly applied: succeeded
		oc := mustAnswer(t, outC)
		if !errors.Is(oc.err, boom) || len(oc.events) != 1 || oc.events[0].Pixel != c[0].Pixel {
			t.Fatalf("c, half applied: %v, %v; want the error and its one applied event", oc.events, oc.err)
		}
		od := mustAnswer(t, outD)
		if !errors.Is(od.err, boom) || od.events != nil {
			t.Fatalf("d, not applied: %v, %v; want the error alone", od.events, od.err)
		}
	})
}

func TestOffMeansTheStoreItself(t *testing.T) {
	f := newFake(false)
	for _, o := range []Options{{}, {Window: time.Millisecond}, {Max: 10}, {Window: time.Millisecond, Max: 1}} {
		if s := New(f, o); s != ports.CanvasStore(f) {
			t.Errorf("New with %+v wrapped the store", o)
		}
	}
}

// fakeStores opens one fakeStore per slug.
type fakeStores struct {
	ports.CanvasStores
	mu     sync.Mutex
	stores map[domain.Slug]*fakeStore
}

func (f *fakeStores) Open(_ context.Context, slug domain.Slug, size domain.Size) (ports.CanvasStore, error) {
	if size != testSize {
		return nil, ports.ErrSizeMismatch
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stores[slug] == nil {
		f.stores[slug] = newFake(false)
	}
	return f.stores[slug], nil
}

func TestStoresGiveOneGatheringStorePerCanvas(t *testing.T) {
	inner := &fakeStores{stores: map[domain.Slug]*fakeStore{}}
	if NewStores(inner, Options{}) != ports.CanvasStores(inner) {
		t.Fatal("NewStores with gathering off wrapped the factory")
	}
	stores := NewStores(inner, Options{Window: time.Millisecond, Max: 10})
	ctx := context.Background()
	main1, err := stores.Open(ctx, domain.MainSlug, testSize)
	if err != nil {
		t.Fatal(err)
	}
	main2, _ := stores.Open(ctx, domain.MainSlug, testSize)
	other, _ := stores.Open(ctx, "other", testSize)
	if _, ok := main1.(*Store); !ok || main1 != main2 || main1 == other {
		t.Fatalf("Open gave %p, %p for main and %p for other; want one gathering store per canvas", main1, main2, other)
	}
	if main1.(*Store).Unwrap() != ports.CanvasStore(inner.stores[domain.MainSlug]) {
		t.Fatal("main's gathering store does not wrap main's store")
	}
	if _, err := stores.Open(ctx, domain.MainSlug, domain.Size{Width: 1, Height: 1}); !errors.Is(err, ports.ErrSizeMismatch) {
		t.Fatalf("Open with another size: %v, want the factory's size mismatch", err)
	}
}

// BenchmarkLoneWrite is what the decorator adds to a write that finds the
// store idle, against a store that answers at once:
//
//	go test -run '^$' -bench LoneWrite -benchmem ./internal/groupcommit
func BenchmarkLoneWrite(b *testing.B) {
	w := writesOf("solo", 1)
	for _, tc := range []struct {
		name string
		opts Options
	}{{"plain", Options{}}, {"group commit", Options{Window: time.Millisecond, Max: DefaultMax}}} {
		b.Run(tc.name, func(b *testing.B) {
			s := New(newFake(false), tc.opts)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for b.Loop() {
				if _, err := s.Place(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
