package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/busmsg"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Backend is one empty backend for the factory suite.
type Backend struct {
	// New makes a factory on the backend's data; the suite closes it (a
	// factory it leaves open is closed through t.Cleanup by the caller or
	// left to the test's end).
	New func(t *testing.T) ports.CanvasStores
	// Bus is where the stores publish.
	Bus ports.Bus
	// Durable says that a factory made by a later New, once the earlier
	// one is closed, finds every canvas as it was (not so in memory).
	Durable bool
}

// StoresFactory makes a fresh, empty backend whose stores keep at least
// 1000 events of history each.
type StoresFactory func(t *testing.T) Backend

// The canvases of the suite: the main canvas (its old keys, directory and
// channel) and two others, of different sizes.
var (
	sizeMain  = domain.Size{Width: 8, Height: 6}
	sizeAlpha = domain.Size{Width: 5, Height: 9}
	sizeBeta  = domain.Size{Width: 12, Height: 3}
)

const (
	slugAlpha domain.Slug = "alpha"
	slugBeta  domain.Slug = "beta-2"
)

// RunStores runs the contract of ports.CanvasStores: canvases are
// isolated from each other (seq, history, snapshot, pixels, published
// events), the same slug opens the same canvas, each keeps its size.
func RunStores(t *testing.T, newBackend StoresFactory) {
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, newBackend) })
	t.Run("ConcurrentCanvases", func(t *testing.T) { testConcurrentCanvases(t, newBackend) })
	t.Run("SameSlugSameCanvas", func(t *testing.T) { testSameSlug(t, newBackend) })
	t.Run("SizePerCanvas", func(t *testing.T) { testSizePerCanvas(t, newBackend) })
	t.Run("BadSlug", func(t *testing.T) { testBadSlug(t, newBackend) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, newBackend) })
	t.Run("PixelChannel", testPixelChannel)
}

func openStore(t *testing.T, f ports.CanvasStores, slug domain.Slug, size domain.Size) ports.CanvasStore {
	t.Helper()
	s, err := f.Open(ctx(t), slug, size)
	if err != nil {
		t.Fatalf("Open(%q, %v): %v", slug, size, err)
	}
	return s
}

func closeStores(t *testing.T, f ports.CanvasStores) {
	t.Helper()
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// listenAll subscribes to the channels of slugs at once; the function it
// returns waits for n more events on slug's channel, and fails the test if
// an event arrives on a channel that nobody writes to.
func listenAll(t *testing.T, bus ports.Bus, slugs ...domain.Slug) (next func(slug domain.Slug, n int) []domain.Event) {
	t.Helper()
	subCtx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	chans := map[string]chan []byte{}
	names := make([]string, 0, len(slugs))
	for _, s := range slugs {
		name := ports.PixelChannel(s)
		chans[name] = make(chan []byte, 10000)
		names = append(names, name)
	}
	err := bus.Subscribe(subCtx, names, func(m ports.Message) {
		ch, ok := chans[m.Channel]
		if !ok {
			t.Errorf("message on channel %q, not subscribed", m.Channel)
			return
		}
		ch <- append([]byte(nil), m.Payload...)
	}, nil)
	if err != nil {
		t.Fatalf("Subscribe(%v): %v", names, err)
	}
	return func(slug domain.Slug, n int) []domain.Event {
		t.Helper()
		ch := chans[ports.PixelChannel(slug)]
		out := make([]domain.Event, 0, n)
		deadline := time.After(timeout)
		for len(out) < n {
			select {
			case p := <-ch:
				batch, _, err := busmsg.DecodeEvents(p)
				if err != nil {
					t.Fatalf("payload %q on %s does not decode: %v", p, ports.PixelChannel(slug), err)
				}
				out = append(out, batch...)
			case <-deadline:
				t.Fatalf("received %d of %d events on %s within %s", len(out), n, ports.PixelChannel(slug), timeout)
			}
		}
		return out
	}
}

// canvasUnderTest is one canvas of the isolation test, with what was done
// to it.
type canvasUnderTest struct {
	slug   domain.Slug
	size   domain.Size
	store  ports.CanvasStore
	events []domain.Event
	colour domain.Color // every pixel this canvas gets has it, and no other canvas's
}

func testIsolation(t *testing.T, newBackend StoresFactory) {
	b := newBackend(t)
	f := b.New(t)
	defer closeStores(t, f)
	next := listenAll(t, b.Bus, domain.MainSlug, slugAlpha, slugBeta)
	canvases := []*canvasUnderTest{
		{slug: domain.MainSlug, size: sizeMain, colour: 0x110000},
		{slug: slugAlpha, size: sizeAlpha, colour: 0x002200},
		{slug: slugBeta, size: sizeBeta, colour: 0x000033},
	}
	for _, c := range canvases {
		c.store = openStore(t, f, c.slug, c.size)
		if got := latest(t, c.store); got != 0 {
			t.Fatalf("%s: LatestSeq of a new canvas = %d", c.slug, got)
		}
	}
	// Interleaved writes, a different number to each canvas, and a reset
	// of one of them in the middle.
	for round := 0; round < 6; round++ {
		for i, c := range canvases {
			for k := 0; k <= i; k++ {
				x, y := (round+k)%c.size.Width, (round*k)%c.size.Height
				w := write(x, y, c.colour+domain.Color(round), string(c.slug), fmt.Sprint(round, "-", k))
				c.events = append(c.events, place(t, c.store, w)...)
			}
		}
		if round == 3 {
			canvases[1].events = append(canvases[1].events, reset(t, canvases[1].store, domain.Origin{WriteID: "reset-alpha"}))
		}
	}
	for _, c := range canvases {
		checkCanvasAlone(t, c, next)
	}
	// Nothing else was published anywhere: one marker per canvas is the
	// next message on each channel.
	for _, c := range canvases {
		place(t, c.store, write(0, 0, c.colour, "marker", "marker-"+string(c.slug)))
	}
	for _, c := range canvases {
		if e := next(c.slug, 1)[0]; e.Origin.WriteID != "marker-"+string(c.slug) {
			t.Errorf("%s: an extra event was published on its channel: %+v", c.slug, e)
		}
	}
}

// checkCanvasAlone checks that c shows exactly its own events.
func checkCanvasAlone(t *testing.T, c *canvasUnderTest, next func(domain.Slug, int) []domain.Event) {
	t.Helper()
	for i, e := range c.events {
		if e.Seq != domain.Seq(i+1) {
			t.Errorf("%s: seqs %v, want 1..%d: another canvas's writes took seqs", c.slug, seqs(c.events), len(c.events))
			break
		}
	}
	if got := latest(t, c.store); got != domain.Seq(len(c.events)) {
		t.Errorf("%s: LatestSeq = %d, want %d", c.slug, got, len(c.events))
	}
	if history, complete := since(t, c.store, 0, 0); !complete || !reflect.DeepEqual(history, c.events) {
		t.Errorf("%s: Since(0) = seqs %v (complete=%v), want its own events only, seqs %v", c.slug, seqs(history), complete, seqs(c.events))
	}
	if got := c.store.Size(); got != c.size {
		t.Errorf("%s: Size() = %v, want %v", c.slug, got, c.size)
	}
	want := domain.CanvasFromSnapshot(domain.BlankSnapshot(c.size))
	for _, e := range c.events {
		want.Apply(e)
	}
	wantSnap := want.Snapshot()
	snap := snapshot(t, c.store)
	if snap.Size != c.size || snap.Seq != domain.Seq(len(c.events)) || !reflect.DeepEqual(snap.RGB, wantSnap.RGB) {
		t.Errorf("%s: the snapshot (size %v, seq %d) is not the canvas's own events applied to white", c.slug, snap.Size, snap.Seq)
	}
	for y := 0; y < c.size.Height; y++ {
		for x := 0; x < c.size.Width; x++ {
			p := pixel(t, c.store, x, y)
			if p.Color != wantSnap.At(x, y) || (p.Seq != 0 && p.Username != string(c.slug)) {
				t.Errorf("%s: Pixel(%d,%d) = %+v, not its own", c.slug, x, y, p)
			}
		}
	}
	if published := next(c.slug, len(c.events)); !reflect.DeepEqual(published, c.events) {
		t.Errorf("%s: published on %s seqs %v, want its own events, seqs %v", c.slug, ports.PixelChannel(c.slug), seqs(published), seqs(c.events))
	}
}

// testConcurrentCanvases writes to two canvases from several goroutines at
// once: each gets gap-free seqs of its own.
func testConcurrentCanvases(t *testing.T, newBackend StoresFactory) {
	b := newBackend(t)
	f := b.New(t)
	defer closeStores(t, f)
	const writers, rounds = 4, 30
	slugs := []domain.Slug{slugAlpha, slugBeta}
	var mu sync.Mutex
	got := map[domain.Slug][]domain.Seq{}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		for _, slug := range slugs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Every writer opens the canvas itself: concurrent opens of
				// one slug are one canvas.
				s, err := f.Open(context.Background(), slug, sizeAlpha)
				if err != nil {
					t.Errorf("Open(%s): %v", slug, err)
					return
				}
				for r := 0; r < rounds; r++ {
					events, err := s.Place(context.Background(), []domain.Write{write(r%sizeAlpha.Width, w, domain.Color(r), "w", ""), write(w, r%sizeAlpha.Height, 1, "w", "")})
					if err != nil {
						t.Errorf("%s: Place: %v", slug, err)
						return
					}
					mu.Lock()
					got[slug] = append(got[slug], seqs(events)...)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	for _, slug := range slugs {
		s := openStore(t, f, slug, sizeAlpha)
		want := 2 * writers * rounds
		if l := latest(t, s); l != domain.Seq(want) {
			t.Errorf("%s: LatestSeq = %d after %d writes", slug, l, want)
		}
		seen := map[domain.Seq]bool{}
		for _, q := range got[slug] {
			if q < 1 || q > domain.Seq(want) || seen[q] {
				t.Fatalf("%s: seq %d is a duplicate or outside 1..%d", slug, q, want)
			}
			seen[q] = true
		}
	}
}

func testSameSlug(t *testing.T, newBackend StoresFactory) {
	b := newBackend(t)
	f := b.New(t)
	defer closeStores(t, f)
	one := openStore(t, f, slugAlpha, sizeAlpha)
	e1 := place(t, one, write(1, 2, 0xABCDEF, "one", "1"))
	two := openStore(t, f, slugAlpha, sizeAlpha)
	if got := latest(t, two); got != e1[0].Seq {
		t.Fatalf("the same slug opened again: LatestSeq = %d, want %d", got, e1[0].Seq)
	}
	e2 := place(t, two, write(2, 1, 0x123456, "two", "2"))
	if e2[0].Seq != e1[0].Seq+1 {
		t.Errorf("a write through the second store got seq %d, want %d", e2[0].Seq, e1[0].Seq+1)
	}
	if history, _ := since(t, one, 0, 0); !reflect.DeepEqual(history, append(e1, e2...)) {
		t.Errorf("the first store's history = seqs %v, want both writes", seqs(history))
	}
	if p := pixel(t, one, 2, 1); p.Color != 0x123456 || p.Username != "two" {
		t.Errorf("the first store's Pixel(2,1) = %+v, want the second store's write", p)
	}
	if other := openStore(t, f, slugBeta, sizeAlpha); latest(t, other) != 0 {
		t.Errorf("another slug is not a new canvas")
	}
}

func testSizePerCanvas(t *testing.T, newBackend StoresFactory) {
	b := newBackend(t)
	f := b.New(t)
	alpha := openStore(t, f, slugAlpha, sizeAlpha)
	beta := openStore(t, f, slugBeta, sizeBeta)
	if alpha.Size() != sizeAlpha || beta.Size() != sizeBeta {
		t.Fatalf("sizes %v and %v, want %v and %v", alpha.Size(), beta.Size(), sizeAlpha, sizeBeta)
	}
	place(t, alpha, write(4, 8, 1, "a", ""))
	place(t, beta, write(11, 2, 2, "b", ""))
	checkMismatch := func(f ports.CanvasStores, when string) {
		t.Helper()
		for _, c := range []struct {
			slug domain.Slug
			size domain.Size
		}{{slugAlpha, sizeBeta}, {slugBeta, sizeAlpha}, {slugAlpha, domain.Size{Width: 5, Height: 10}}} {
			if _, err := f.Open(ctx(t), c.slug, c.size); !errors.Is(err, ports.ErrSizeMismatch) {
				t.Errorf("%s: Open(%s, %v) = %v, want an error wrapping ports.ErrSizeMismatch", when, c.slug, c.size, err)
			}
		}
		if s := openStore(t, f, slugAlpha, sizeAlpha); s.Size() != sizeAlpha || pixel(t, s, 4, 8).Color != 1 {
			t.Errorf("%s: alpha after refused opens: size %v, Pixel(4,8) %+v", when, s.Size(), pixel(t, s, 4, 8))
		}
	}
	checkMismatch(f, "open")
	closeStores(t, f)
	if !b.Durable {
		return
	}
	again := b.New(t)
	defer closeStores(t, again)
	checkMismatch(again, "reopened")
}

func testBadSlug(t *testing.T, newBackend StoresFactory) {
	b := newBackend(t)
	f := b.New(t)
	defer closeStores(t, f)
	for _, bad := range []domain.Slug{"", "../alpha", "Alpha", "a/b", "a b", "-a", "a--b", "{x}", "a:b"} {
		if s, err := f.Open(ctx(t), bad, sizeAlpha); err == nil {
			t.Errorf("Open(%q) = %v, want an error: not a slug", bad, s)
		}
	}
}

func testReopen(t *testing.T, newBackend StoresFactory) {
	b := newBackend(t)
	f := b.New(t)
	type saved struct {
		slug   domain.Slug
		size   domain.Size
		events []domain.Event
		snap   domain.Snapshot
	}
	var all []*saved
	for i, c := range []struct {
		slug domain.Slug
		size domain.Size
	}{{domain.MainSlug, sizeMain}, {slugAlpha, sizeAlpha}, {slugBeta, sizeBeta}} {
		s := openStore(t, f, c.slug, c.size)
		sv := &saved{slug: c.slug, size: c.size}
		for k := 0; k < 3+4*i; k++ {
			sv.events = append(sv.events, place(t, s, write(k%c.size.Width, k%c.size.Height, domain.Color(i<<16|k), string(c.slug), fmt.Sprint(k)))...)
		}
		sv.snap = snapshot(t, s)
		all = append(all, sv)
	}
	closeStores(t, f)
	if !b.Durable {
		return
	}
	again := b.New(t)
	defer closeStores(t, again)
	for _, sv := range all {
		s := openStore(t, again, sv.slug, sv.size)
		if history, complete := since(t, s, 0, 0); !complete || !reflect.DeepEqual(history, sv.events) {
			t.Errorf("%s reopened: history seqs %v (complete=%v), want %v", sv.slug, seqs(history), complete, seqs(sv.events))
		}
		if snap := snapshot(t, s); !reflect.DeepEqual(snap, sv.snap) {
			t.Errorf("%s reopened: snapshot at seq %d differs from the one before (seq %d)", sv.slug, snap.Seq, sv.snap.Seq)
		}
		if e := place(t, s, write(0, 0, 7, "after", "")); e[0].Seq != domain.Seq(len(sv.events)+1) {
			t.Errorf("%s reopened: the next write got seq %d, want %d", sv.slug, e[0].Seq, len(sv.events)+1)
		}
	}
}

func testPixelChannel(t *testing.T) {
	if got := ports.PixelChannel(domain.MainSlug); got != ports.ChannelPixelUpdates {
		t.Errorf("PixelChannel(main) = %q, want the old %q", got, ports.ChannelPixelUpdates)
	}
	if got := ports.PixelChannel(slugAlpha); got != "pixel-updates:alpha" {
		t.Errorf("PixelChannel(alpha) = %q", got)
	}
}
