package domain_test

import (
	"testing"

	"github.com/pixelplayground/pixelplayground/domain"
)

func TestHeadContinues(t *testing.T) {
	head := domain.Head{Seq: 100, Epoch: "e2", Base: 60}
	for _, tc := range []struct {
		seq   domain.Seq
		epoch domain.Epoch
		want  bool
	}{
		{100, "e2", true}, {0, "e2", true}, {99, "e2", true},
		{101, "e2", false},                    // ahead: the store lost what the reader saw
		{50, "e1", false}, {100, "e1", false}, // another timeline, whatever the seq
		{60, "", true}, {0, "", true}, // no epoch: up to Base is on every timeline
		{61, "", false}, {100, "", false},
	} {
		if got := head.Continues(tc.seq, tc.epoch); got != tc.want {
			t.Errorf("Head%+v.Continues(%d, %q) = %v, want %v", head, tc.seq, tc.epoch, got, tc.want)
		}
	}
}

func TestNextBase(t *testing.T) {
	for _, tc := range []struct {
		old      domain.Head
		hadEpoch bool
		want     domain.Seq
	}{
		{domain.Head{Seq: 500}, false, 500},                       // data from before epochs: trusted up to its head
		{domain.Head{Seq: 0}, false, 0},                           // nothing at all (new, or flushed)
		{domain.Head{Seq: 500, Epoch: "a", Base: 200}, true, 200}, // an older loss still bounds it
		{domain.Head{Seq: 150, Epoch: "a", Base: 200}, true, 150}, // this loss went further back
		{domain.Head{Seq: 900, Epoch: "a", Base: 900}, true, 900},
	} {
		if got := domain.NextBase(tc.old, tc.hadEpoch); got != tc.want {
			t.Errorf("NextBase(%+v, %v) = %d, want %d", tc.old, tc.hadEpoch, got, tc.want)
		}
	}
}
