package logstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/dirlock"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/storetest"
)

func newTestStores(t *testing.T, opts StoresOptions) *Stores {
	t.Helper()
	s, err := NewStores(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStoresContractInMemory(t *testing.T) {
	storetest.RunStores(t, func(t *testing.T) storetest.Backend {
		bus := membus.New()
		return storetest.Backend{Bus: bus, New: func(t *testing.T) ports.CanvasStores {
			return newTestStores(t, StoresOptions{Options: Options{HistorySize: 1000, Bus: bus}})
		}}
	})
}

func TestStoresContractOnDisk(t *testing.T) {
	storetest.RunStores(t, func(t *testing.T) storetest.Backend {
		bus := membus.New()
		dir := t.TempDir()
		return storetest.Backend{Bus: bus, Durable: true, New: func(t *testing.T) ports.CanvasStores {
			// A tiny IdleAfter closes and reloads the canvases between the
			// suite's calls; a small SnapshotEvery checkpoints among them.
			return newTestStores(t, StoresOptions{
				Options:   Options{Dir: dir, HistorySize: 1000, Bus: bus, SnapshotEvery: 7, SyncInterval: 5 * time.Millisecond, Logger: quietLogger()},
				IdleAfter: 2 * time.Millisecond,
			})
		}}
	})
}

// The main canvas is the data directory a single Store always used; other
// canvases are folders under canvases/.
func TestStoresKeepMainInTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	old := newOpener(t, dir).open()
	before := placeN(t, old, 30, "old")
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	stores := newTestStores(t, StoresOptions{Options: Options{Dir: dir, HistorySize: 100, Bus: membus.New(), Logger: quietLogger()}})
	main, err := stores.Open(context.Background(), domain.MainSlug, testSize)
	if err != nil {
		t.Fatal(err)
	}
	history, complete, err := storetest.SinceCurrent(context.Background(), main, 0, 0)
	if err != nil || !complete || !reflect.DeepEqual(history, before) {
		t.Fatalf("main through Stores: %d events (complete %v, %v), want the %d the single store wrote", len(history), complete, err, len(before))
	}
	other, err := stores.Open(context.Background(), "other", domain.Size{Width: 3, Height: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Place(context.Background(), []domain.Write{{Pixel: domain.Pixel{X: 2, Y: 2, Color: 5}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, CanvasesDir, "other", "LOCK")); err != nil {
		t.Errorf("canvas other is not in canvases/other: %v", err)
	}
	if err := stores.Close(); err != nil {
		t.Fatal(err)
	}

	// And a single Store on the directory still opens main, next to the
	// canvases folder.
	again := newOpener(t, dir).open()
	defer again.Close()
	if got, _ := storetest.LatestSeq(context.Background(), again); got != domain.Seq(len(before)) {
		t.Errorf("main reopened as a single store: LatestSeq %d, want %d", got, len(before))
	}
}

// An idle canvas's store is closed (its lock released, its goroutine
// stopped) and loaded again by the next call, with everything it had;
// main and a canvas in use stay loaded.
func TestStoresCloseIdleCanvases(t *testing.T) {
	dir := t.TempDir()
	stores := newTestStores(t, StoresOptions{Options: Options{Dir: dir, HistorySize: 100, Bus: membus.New(), Logger: quietLogger()}, IdleAfter: -1})
	ctx := context.Background()
	size := domain.Size{Width: 4, Height: 4}
	open := func(slug domain.Slug) ports.CanvasStore {
		s, err := stores.Open(ctx, slug, size)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	main, a, b := open(domain.MainSlug), open("a"), open("b")
	var wrote []domain.Event
	for _, s := range []ports.CanvasStore{main, a, b} {
		events, err := s.Place(ctx, []domain.Write{{Pixel: domain.Pixel{X: 1, Y: 1, Color: 9}, Username: "u"}})
		if err != nil {
			t.Fatal(err)
		}
		wrote = append(wrote, events...)
	}
	if n := stores.CloseIdle(time.Hour); n != 0 {
		t.Fatalf("CloseIdle(1h) closed %d canvases used just now", n)
	}
	if n := stores.CloseIdle(0); n != 2 || stores.Loaded() != 1 {
		t.Fatalf("CloseIdle(0) closed %d, %d loaded; want a and b closed, main loaded", n, stores.Loaded())
	}
	// Closed for real: another process could take the directory now.
	lock, err := dirlock.Lock(Dir(dir, "a"), ErrLocked)
	if err != nil {
		t.Fatalf("a's directory is still locked after closing it for idleness: %v", err)
	}
	_ = lock.Close()
	p, err := a.Pixel(ctx, 1, 1)
	if err != nil || p.Color != 9 || p.Seq != wrote[1].Seq || p.Username != "u" {
		t.Fatalf("a after reloading: Pixel = %+v, %v", p, err)
	}
	if stores.Loaded() != 2 {
		t.Errorf("%d canvases loaded, want main and a", stores.Loaded())
	}
	if e, err := b.Place(ctx, []domain.Write{{Pixel: domain.Pixel{X: 0, Y: 0, Color: 1}}}); err != nil || e[0].Seq != 2 {
		t.Errorf("b after reloading: Place = %+v, %v; want seq 2", e, err)
	}
	if err := stores.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.LatestSeq(ctx, a); !errors.Is(err, ErrClosed) || !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("a store after Close: %v, want ErrClosed", err)
	}
	if _, err := stores.Open(ctx, "a", size); !errors.Is(err, ErrClosed) {
		t.Errorf("Open after Close: %v, want ErrClosed", err)
	}
}

// A canvas whose directory cannot be opened fails its own Open and no
// other's, and is not remembered: a later Open tries again.
func TestStoresDamageStaysWithItsCanvas(t *testing.T) {
	dir := t.TempDir()
	stores := newTestStores(t, StoresOptions{Options: Options{Dir: dir, HistorySize: 100, Bus: membus.New(), Logger: quietLogger()}})
	ctx := context.Background()
	bad := Dir(dir, "bad")
	if err := os.MkdirAll(bad, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, snapshotName), []byte("not a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := stores.Open(ctx, "bad", testSize); err == nil {
		t.Fatal("a canvas with a damaged snapshot opened")
	}
	good, err := stores.Open(ctx, "good", testSize)
	if err != nil {
		t.Fatalf("another canvas: %v", err)
	}
	if _, err := good.Place(ctx, []domain.Write{{Pixel: domain.Pixel{X: 0, Y: 0, Color: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(bad, snapshotName)); err != nil {
		t.Fatal(err)
	}
	if _, err := stores.Open(ctx, "bad", testSize); err != nil {
		t.Errorf("Open after the damage was removed: %v", err)
	}
}
