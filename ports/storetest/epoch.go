package storetest

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
)

// testEpochStable: while a store only gains events, its epoch never
// changes: every read sees the one the first read saw, and every
// published event carries it.
func testEpochStable(t *testing.T, open Factory) {
	s, bus := open(t, small)
	next := listenEpochs(t, bus)
	first := head(t, s)
	if first.Seq != 0 || first.Base != 0 {
		t.Errorf("Head of a new canvas = %+v, want seq 0 and base 0 (nothing is known of an earlier timeline)", first)
	}
	var written []domain.Event
	for i := 0; i < 6; i++ {
		written = append(written, place(t, s, write(i, 0, domain.Color(i), "a", ""), write(i, 1, 1, "b", ""))...)
		if i == 3 {
			written = append(written, reset(t, s, domain.Origin{WriteID: "r"}))
		}
		if h := head(t, s); h.Epoch != first.Epoch || h.Base != first.Base {
			t.Fatalf("after writes Head = %+v, want epoch %q and base %d unchanged", h, first.Epoch, first.Base)
		}
		if snap := snapshot(t, s); snap.Epoch != first.Epoch {
			t.Fatalf("Snapshot epoch = %q, want %q", snap.Epoch, first.Epoch)
		}
		if h := sinceOn(t, s, 0, first.Epoch, 0); h.Head.Epoch != first.Epoch || !h.Complete {
			t.Fatalf("Since(0, %q) = head %+v complete=%v, want the same epoch, complete", first.Epoch, h.Head, h.Complete)
		}
	}
	events, epochs := next(len(written))
	if !reflect.DeepEqual(events, written) {
		t.Fatalf("published seqs %v, want %v", seqs(events), seqs(written))
	}
	for i, e := range epochs {
		if e != first.Epoch {
			t.Fatalf("event seq %d was published with epoch %q, want %q", events[i].Seq, e, first.Epoch)
		}
	}
}

// testSinceEpochs: a caller on another timeline never gets a complete
// history, and one that names none only up to the base.
func testSinceEpochs(t *testing.T, open Factory) {
	s, _ := open(t, small)
	for i := 0; i < 5; i++ {
		place(t, s, write(i, 0, 1, "a", ""))
	}
	h := head(t, s)
	for _, after := range []domain.Seq{0, 2, 5} {
		if got := sinceOn(t, s, after, h.Epoch+"x", 0); got.Complete {
			t.Errorf("Since(%d) on another epoch is complete", after)
		}
		if got := sinceOn(t, s, after, h.Epoch, 0); !got.Complete || len(got.Events) != int(5-after) || got.Head != h {
			t.Errorf("Since(%d) on the store's epoch = %d events, complete=%v, head %+v; want %d, complete, head %+v", after, len(got.Events), got.Complete, got.Head, 5-after, h)
		}
		got := sinceOn(t, s, after, "", 0)
		if want := after <= h.Base; got.Complete != want {
			t.Errorf("Since(%d) without an epoch (base %d): complete=%v, want %v", after, h.Base, got.Complete, want)
		}
	}
}

// LossFactory opens a fresh store like Factory, and checkpoint: it records
// the store's state now, and the restore function it returns makes the
// canvas lose everything written after the checkpoint, as a backend loses
// it in production (each backend its own way: a failover to a replica that
// had only the checkpoint, a machine that lost its unsynced log), and
// returns the store (and bus) that serve the canvas from then on.
type LossFactory func(t *testing.T, cfg Config) (s ports.CanvasStore, bus ports.Bus, checkpoint func() (restore func() (ports.CanvasStore, ports.Bus)))

// RunLoss checks what a store promises when it loses events it had
// published: a new epoch, whose base is at most what survived, seen by
// every read; no history across the loss for a caller on the old
// timeline; new events published with the new epoch, reusing the lost
// seqs.
func RunLoss(t *testing.T, open LossFactory) {
	s, _, checkpoint := open(t, small)
	for i := 0; i < 4; i++ {
		place(t, s, write(i, 0, 0x111111, "kept", ""))
	}
	before := head(t, s)
	restore := checkpoint()
	lost := place(t, s, write(0, 1, 0xBADBAD, "lost", ""), write(1, 1, 0xBADBAD, "lost", ""))
	old := head(t, s)
	if old.Epoch != before.Epoch || old.Seq != lost[1].Seq {
		t.Fatalf("before the loss Head = %+v, want epoch %q at seq %d", old, before.Epoch, lost[1].Seq)
	}

	s, bus := restore()
	next := listenEpochs(t, bus)
	after := head(t, s)
	if after.Epoch == old.Epoch {
		t.Fatalf("after losing seqs %v the epoch is still %q: a client holding them cannot tell", seqs(lost), old.Epoch)
	}
	if after.Seq != before.Seq || after.Base > before.Seq {
		t.Errorf("after the loss Head = %+v, want seq %d and a base at most %d", after, before.Seq, before.Seq)
	}
	if snap := snapshot(t, s); snap.Epoch != after.Epoch || snap.Seq != after.Seq || snap.At(0, 1) != domain.White {
		t.Errorf("after the loss Snapshot = seq %d epoch %q, (0,1) %s; want seq %d epoch %q, (0,1) white", snap.Seq, snap.Epoch, snap.At(0, 1), after.Seq, after.Epoch)
	}
	// The old timeline's callers, at any seq, must reload.
	for _, at := range []domain.Seq{0, before.Seq, old.Seq} {
		if h := sinceOn(t, s, at, old.Epoch, 0); h.Complete || h.Head.Epoch != after.Epoch {
			t.Errorf("Since(%d) on the lost epoch: complete=%v head %+v; want incomplete on epoch %q", at, h.Complete, h.Head, after.Epoch)
		}
	}
	if h := sinceOn(t, s, old.Seq, "", 0); h.Complete {
		t.Errorf("Since(%d) without an epoch is complete, though seqs %v were lost", old.Seq, seqs(lost))
	}
	afterLoss(t, s, next, before, lost, after)
}

// afterLoss: new events take the lost seqs again, on the new epoch, which
// then stays, and the new timeline adds up to its snapshot.
func afterLoss(t *testing.T, s ports.CanvasStore, next func(int) ([]domain.Event, []domain.Epoch), before domain.Head, lost []domain.Event, after domain.Head) {
	t.Helper()
	again := place(t, s, write(5, 5, 0x00AA00, "new", ""))
	if again[0].Seq != lost[0].Seq {
		t.Errorf("the first write after the loss got seq %d, want %d (the first lost one)", again[0].Seq, lost[0].Seq)
	}
	events, epochs := next(1)
	if events[0].Seq != again[0].Seq || epochs[0] != after.Epoch {
		t.Errorf("published seq %d on epoch %q, want seq %d on %q", events[0].Seq, epochs[0], again[0].Seq, after.Epoch)
	}
	if h := head(t, s); h.Epoch != after.Epoch || h.Base != after.Base {
		t.Errorf("after a write on the new timeline Head = %+v, want epoch %q base %d", h, after.Epoch, after.Base)
	}
	if h := sinceOn(t, s, before.Seq, after.Epoch, 0); !h.Complete || len(h.Events) != 1 || h.Events[0].Pixel != again[0].Pixel {
		t.Errorf("Since(%d) on the new epoch = %d events complete=%v, want the new write", before.Seq, len(h.Events), h.Complete)
	}
	if h := sinceOn(t, s, after.Base, "", 0); !h.Complete {
		t.Errorf("Since(base %d) without an epoch is incomplete; every timeline agrees up to the base", after.Base)
	}
	final := snapshot(t, s)
	want := domain.CanvasFromSnapshot(domain.BlankSnapshot(small.Size))
	history := sinceOn(t, s, 0, final.Epoch, 0)
	if !history.Complete {
		t.Fatalf("Since(0) on the current epoch is incomplete")
	}
	for _, e := range history.Events {
		want.Apply(e)
	}
	if !bytes.Equal(want.Snapshot().RGB, final.RGB) {
		t.Errorf("the history on the new timeline does not add up to its snapshot: a lost event survived somewhere")
	}
}
