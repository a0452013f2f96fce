package ws

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// The sequencer's decisions, input by input, without a socket, a store or a
// goroutine. Each step is written as the hub would carry it out:
// "jump TO (from FROM, why)", "deliver SEQS", "repair after N",
// "replayed N", joined with "; " in that order ("" when nothing happens).

func ev(seq domain.Seq) domain.Event {
	return domain.Event{Kind: domain.PixelPlaced, Seq: seq}
}

func evs(from, to domain.Seq) []domain.Event {
	var out []domain.Event
	for s := from; s <= to; s++ {
		out = append(out, ev(s))
	}
	return out
}

func (s step) String() string {
	var parts []string
	if j := s.jump; j != nil {
		why := map[jumpReason]string{gapTooLarge: "gap too large", historyGone: "history gone", storeBehind: "store behind", epochChanged: "epoch " + string(j.epoch)}[j.why]
		if j.events > 0 {
			why += fmt.Sprintf(", %d events", j.events)
		}
		parts = append(parts, fmt.Sprintf("jump %d (from %d, %s)", j.to, j.from, why))
	}
	if len(s.deliver) > 0 {
		seqs := make([]string, len(s.deliver))
		for i, e := range s.deliver {
			seqs[i] = fmt.Sprint(e.Seq)
		}
		parts = append(parts, "deliver "+strings.Join(seqs, " "))
	}
	if s.repair {
		parts = append(parts, fmt.Sprintf("repair after %d", s.repairAfter))
	}
	if s.replayed > 0 {
		parts = append(parts, fmt.Sprintf("replayed %d", s.replayed))
	}
	return strings.Join(parts, "; ")
}

// An input to the sequencer at a time (relative to the test's start).
type input struct {
	name string
	do   func(*sequencer, time.Time) step
}

func recv(seqs ...domain.Seq) input {
	return recvOn(testEpoch, seqs...)
}

// testEpoch is the timeline the table's sequencers start on.
const testEpoch = "A"

// recvOn is recv of events published on the timeline epoch.
func recvOn(epoch domain.Epoch, seqs ...domain.Seq) input {
	events := make([]domain.Event, len(seqs))
	for i, s := range seqs {
		events[i] = ev(s)
	}
	return input{fmt.Sprint("received ", seqs, " on ", epoch), func(s *sequencer, now time.Time) step { return s.received(events, epoch, now) }}
}

func repairedWith(events []domain.Event, complete bool, latest domain.Seq) input {
	return repairedOn(testEpoch, testEpoch, events, complete, latest, 0)
}

// repairedOn is the result of a repair asked for on the timeline asked,
// read when the store was on the timeline epoch whose base is base.
func repairedOn(asked, epoch domain.Epoch, events []domain.Event, complete bool, latest, base domain.Seq) input {
	r := repairResult{events: events, complete: complete, head: domain.Head{Seq: latest, Epoch: epoch, Base: base}, asked: asked}
	return input{fmt.Sprintf("repaired (asked on %s) %d events complete=%v latest=%d on %s", asked, len(events), complete, latest, epoch),
		func(s *sequencer, now time.Time) step { return s.repaired(r, now) }}
}

func repairFailed() input {
	return input{"repair failed", func(s *sequencer, now time.Time) step { return s.repaired(repairResult{failed: true}, now) }}
}

func synced(latest domain.Seq) input { return syncedOn(testEpoch, latest, 0) }

// syncedOn is a sync that read the head latest on the timeline epoch,
// whose base is base.
func syncedOn(epoch domain.Epoch, latest, base domain.Seq) input {
	head := domain.Head{Seq: latest, Epoch: epoch, Base: base}
	return input{fmt.Sprint("synced ", latest, " on ", epoch, " (base ", base, ")"), func(s *sequencer, now time.Time) step { return s.synced(head, now) }}
}

func resubscribed(latest domain.Seq) input {
	head := domain.Head{Seq: latest, Epoch: testEpoch}
	return input{fmt.Sprint("resubscribed ", latest), func(s *sequencer, now time.Time) step { return s.resubscribed(head, now) }}
}

type want struct {
	at   time.Duration
	in   input
	step string
}

func TestSequencer(t *testing.T) {
	const backoff = time.Second
	for _, tc := range []struct {
		name       string
		last       domain.Seq
		maxPending int // default maxPending
		maxReplay  int // default maxReplay
		steps      []want
		// After the steps: the sequencer's position and how many early
		// events it still holds.
		endLast    domain.Seq
		endPending int
	}{
		{name: "in order", steps: []want{
			{in: recv(1, 2, 3), step: "deliver 1 2 3"},
			{in: recv(4), step: "deliver 4"},
		}, endLast: 4},
		{name: "duplicates dropped", last: 5, steps: []want{
			{in: recv(3, 5), step: ""},
			{in: recv(6, 6, 4), step: "deliver 6"},
		}, endLast: 6},
		{name: "early event held until the repair fills the gap", steps: []want{
			{in: recv(3), step: "repair after 0"},
			{in: recv(4), step: ""}, // a repair is in flight: held, no second repair
			// Replaying 1 leaves a gap before the held 3 and 4 for a moment,
			// which asks for another repair: harmless, it brings duplicates.
			{in: repairedWith(evs(1, 2), true, 4), step: "deliver 1 2 3 4; repair after 1; replayed 2"},
			{in: repairedWith(evs(2, 4), true, 4), step: "replayed 3"},
		}, endLast: 4},
		{name: "repair overlapping held events delivers each once", steps: []want{
			{in: recv(3), step: "repair after 0"},
			{in: repairedWith(evs(1, 4), true, 4), step: "deliver 1 2 3 4; repair after 1; replayed 4"},
		}, endLast: 4},
		{name: "live events fill the gap before the repair returns", steps: []want{
			{in: recv(2), step: "repair after 0"},
			{in: recv(1), step: "deliver 1 2"},
			{in: repairedWith(evs(1, 2), true, 2), step: "replayed 2"},
			{in: recv(3), step: "deliver 3"},
		}, endLast: 3},
		{name: "held events beyond the repair start the next repair", steps: []want{
			{in: recv(2), step: "repair after 0"},
			{in: recv(5), step: ""},
			{in: repairedWith(evs(1, 2), true, 5), step: "deliver 1 2; repair after 2; replayed 2"},
			{in: repairedWith(evs(3, 4), true, 5), step: "deliver 3 4 5; repair after 3; replayed 2"},
		}, endLast: 5},
		{name: "history trimmed: jump to just before what it still holds", last: 2, steps: []want{
			{in: recv(10), step: "repair after 2"},
			{in: repairedWith(evs(6, 10), false, 10), step: "jump 5 (from 2, history gone); deliver 6 7 8 9 10; repair after 6; replayed 5"},
			{in: recv(11), step: "deliver 11"},
		}, endLast: 11},
		{name: "history empty: jump to the store's latest", last: 2, steps: []want{
			{in: recv(9), step: "repair after 2"},
			{in: repairedWith(nil, false, 9), step: "jump 9 (from 2, history gone)"},
			{in: recv(10), step: "deliver 10"},
		}, endLast: 10},
		{name: "gap larger than the replay limit: jump to the store's latest", maxReplay: 3, steps: []want{
			{in: recv(10), step: "repair after 0"},
			{in: repairedWith(evs(1, 4), true, 10), step: "jump 10 (from 0, gap too large, 4 events)"},
			{in: recv(11), step: "deliver 11"},
		}, endLast: 11},
		{name: "gap too large: held events beyond the jump follow it", maxReplay: 3, steps: []want{
			{in: recv(10, 12), step: "repair after 0"},
			{in: repairedWith(evs(1, 4), true, 11), step: "jump 11 (from 0, gap too large, 4 events); deliver 12"},
		}, endLast: 12},
		{name: "exactly the replay limit is replayed", maxReplay: 3, steps: []want{
			{in: recv(4), step: "repair after 0"},
			{in: repairedWith(evs(1, 3), true, 4), step: "deliver 1 2 3 4; repair after 1; replayed 3"},
		}, endLast: 4},
		{name: "gap too large but live events caught up meanwhile: no jump", maxReplay: 3, steps: []want{
			{in: recv(2), step: "repair after 0"},
			{in: recv(1, 3, 4, 5), step: "deliver 1 2 3 4 5"},
			{in: repairedWith(evs(1, 4), true, 4), step: ""},
		}, endLast: 5},
		{name: "store went backwards: jump back and forget held events", steps: []want{
			{in: recv(1, 2, 3, 4, 5), step: "deliver 1 2 3 4 5"},
			{in: recv(8), step: "repair after 5"},
			{in: synced(2), step: "jump 2 (from 5, store behind)"},
			{in: recv(3, 4), step: "deliver 3 4"}, // the store's new 3 and 4
		}, endLast: 4},
		{name: "store lost everything", last: 3, steps: []want{
			{in: synced(0), step: "jump 0 (from 3, store behind)"},
			{in: recv(1), step: "deliver 1"},
		}, endLast: 1},
		{name: "failed repair retried only after the back-off", steps: []want{
			{in: recv(2), step: "repair after 0"},
			{in: repairFailed(), step: ""},
			{at: backoff / 2, in: recv(3), step: ""},
			{at: backoff / 2, in: resubscribed(3), step: ""},
			{at: backoff, in: recv(4), step: "repair after 0"},
			{at: backoff, in: repairedWith(evs(1, 4), true, 4), step: "deliver 1 2 3 4; replayed 4"},
		}, endLast: 4},
		{name: "sync with no progress twice triggers a repair", last: 5, steps: []want{
			{in: synced(8), step: ""}, // 6 to 8 may merely be in flight
			{in: synced(8), step: "repair after 5"},
			{in: synced(8), step: ""}, // one repair at a time
		}, endLast: 5},
		{name: "sync with progress in between waits another look", last: 5, steps: []want{
			{in: synced(8), step: ""},
			{in: recv(6), step: "deliver 6"},
			{in: synced(9), step: ""},
			{in: synced(9), step: "repair after 6"},
		}, endLast: 6},
		{name: "a fresh gateway behind the store repairs at the first sync", steps: []want{
			{in: synced(3), step: "repair after 0"},
		}},
		{name: "sync level with the store does nothing", last: 5, steps: []want{
			{in: synced(5), step: ""},
			{in: synced(5), step: ""},
		}, endLast: 5},
		{name: "bus resubscribed: repair at once", last: 5, steps: []want{
			{in: resubscribed(8), step: "repair after 5"},
			{in: repairedWith(evs(6, 8), true, 8), step: "deliver 6 7 8; replayed 3"},
			{in: resubscribed(8), step: ""},
		}, endLast: 8},
		{name: "held events bounded by maxPending", maxPending: 2, steps: []want{
			{in: recv(3, 4, 5), step: "repair after 0"}, // 5 is not held
			{in: repairedWith(evs(1, 2), true, 5), step: "deliver 1 2 3 4; repair after 1; replayed 2"},
			{in: repairedWith(evs(2, 5), true, 5), step: "deliver 5; replayed 4"},
		}, endLast: 5},
		{name: "an event dropped beyond maxPending is found by the sync", maxPending: 2, steps: []want{
			{in: recv(3, 4, 5), step: "repair after 0"},
			{in: repairedWith(evs(1, 2), true, 5), step: "deliver 1 2 3 4; repair after 1; replayed 2"},
			{in: repairFailed(), step: ""},
			{in: synced(5), step: ""}, // progress since the last look
			{in: synced(5), step: ""}, // stalled, but in the failed repair's back-off
			{at: backoff, in: synced(5), step: "repair after 4"},
			{at: backoff, in: repairedWith(evs(5, 5), true, 5), step: "deliver 5; replayed 1"},
		}, endLast: 5},
		{name: "held events stay held while a repair is in flight", last: 1, steps: []want{
			{in: recv(3), step: "repair after 1"},
			{in: recv(5, 7), step: ""},
		}, endLast: 1, endPending: 3},
		// A new timeline reuses seqs already delivered on the old one: they
		// are new events, not duplicates. (Before epochs, seqs 4 and 5 of
		// the new timeline were dropped here, and clients kept the lost 4
		// and 5.)
		// A new timeline reuses seqs already delivered on the old one: they
		// are new events, not duplicates. (Before epochs, seqs 4 and 5 of
		// the new timeline were dropped here, and clients kept the lost 4
		// and 5.) Its first live event makes the sequencer read the store:
		// the new timeline's base (3) says where its own events start.
		{name: "new timeline reuses delivered seqs", steps: []want{
			{in: recv(1, 2, 3, 4, 5), step: "deliver 1 2 3 4 5"},
			{in: recvOn("B", 4), step: "repair after 5"},
			{in: repairedOn("A", "B", nil, false, 4, 3), step: "jump 3 (from 5, epoch B); repair after 3"},
			{in: recvOn("B", 5, 6), step: ""},
			{in: repairedOn("B", "B", evs(4, 6), true, 6, 3), step: "deliver 4 5 6; replayed 3"},
			{in: recv(6), step: "repair after 6"}, // and back: any change of timeline is one
			{in: repairedOn("B", "A", nil, false, 6, 5), step: "jump 5 (from 6, epoch A); repair after 5"},
		}, endLast: 5},
		// A failover: the gateway delivered up to 8 on the old timeline;
		// the new one (base 4) took 5 and 6 before the gateway's bus
		// reached the new master, and the first live event is 7. 5 and 6
		// are replayed with their writers' echoes. (Before, the jump went
		// to 6, just before the first live event, and their writers never
		// heard their writes were accepted.)
		{name: "a new timeline seen first by a live event: its own events before it are replayed from its base", last: 8, steps: []want{
			{in: recvOn("B", 7), step: "repair after 8"},
			{in: repairedOn("A", "B", nil, false, 7, 4), step: "jump 4 (from 8, epoch B); repair after 4"},
			{in: repairedOn("B", "B", evs(5, 7), true, 7, 4), step: "deliver 5 6 7; replayed 3"},
		}, endLast: 7},
		{name: "an event without an epoch does not judge the timeline", last: 3, steps: []want{
			{in: recvOn("", 4), step: "deliver 4"},
			{in: recvOn("", 4), step: ""},
		}, endLast: 4},
		// A Redis restarted with nothing lost: the new timeline's base is
		// the surviving head.
		{name: "sync finds a new timeline even ahead of the gateway: its events above the old position follow", last: 5, steps: []want{
			{in: syncedOn("B", 9, 5), step: "jump 5 (from 5, epoch B); repair after 5"},
			{in: recvOn("B", 6, 7, 8, 9), step: "deliver 6 7 8 9"},
			{in: repairedOn("B", "B", evs(6, 9), true, 9, 5), step: "replayed 4"},
		}, endLast: 9},
		// A failover to a replica that had 4: the gateway delivered up to 8
		// on the old timeline, the new one has 5 and 6 of its own, written
		// before the gateway's bus reached the new master. They are
		// replayed (with their writers' echoes), not covered by the
		// snapshot. (Before, the jump went to 6 and their writers never
		// heard their writes were accepted.)
		{name: "sync finds a new timeline behind the gateway: its own events are replayed from its base", last: 8, steps: []want{
			{in: syncedOn("B", 6, 4), step: "jump 4 (from 8, epoch B); repair after 4"},
			{in: repairedOn("B", "B", evs(5, 6), true, 6, 4), step: "deliver 5 6; replayed 2"},
			{in: recvOn("B", 7), step: "deliver 7"},
		}, endLast: 7},
		// Redis restarted with nothing lost and a write went through before
		// the gateway saw it: its echo is delivered, not dropped as below
		// the jump.
		{name: "a new timeline seen by a sync before its first event: the event is delivered", last: 1, steps: []want{
			{in: syncedOn("B", 2, 1), step: "jump 1 (from 1, epoch B); repair after 1"},
			{in: recvOn("B", 2), step: "deliver 2"},
		}, endLast: 2},
		{name: "a new timeline whose first events never arrive is repaired on it at once", last: 3, steps: []want{
			{in: syncedOn("B", 5, 3), step: "jump 3 (from 3, epoch B); repair after 3"},
			{in: repairedOn("B", "B", evs(4, 5), true, 5, 3), step: "deliver 4 5; replayed 2"},
		}, endLast: 5},
		{name: "a new timeline's live event during a repair waits for that repair", last: 2, steps: []want{
			{in: recv(5), step: "repair after 2"},
			{in: recvOn("B", 3), step: ""},
			// The repair comes back, read when the store was on B: move.
			{in: repairedOn("A", "B", evs(3, 5), false, 3, 2), step: "jump 2 (from 2, epoch B); repair after 2"},
			{in: recvOn("B", 4), step: ""},
			{in: repairedOn("B", "B", evs(3, 4), true, 4, 2), step: "deliver 3 4; replayed 2"},
		}, endLast: 4},
		{name: "a repair read for a timeline left meanwhile is ignored", last: 2, steps: []want{
			{in: recv(5), step: "repair after 2"},
			{in: synced(2), step: ""},
			{in: syncedOn("B", 3, 2), step: "jump 2 (from 2, epoch B); repair after 2"},
			{in: repairedOn("A", "A", evs(3, 5), true, 5, 0), step: ""},
			{in: recvOn("B", 3), step: "deliver 3"},
		}, endLast: 3},
		{name: "repair finds a new timeline", last: 2, steps: []want{
			{in: recv(5), step: "repair after 2"},
			{in: repairedOn("A", "B", evs(3, 3), false, 3, 2), step: "jump 2 (from 2, epoch B); repair after 2"},
			{in: recvOn("B", 3, 4), step: "deliver 3 4"},
		}, endLast: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSequencer(tc.last, testEpoch, backoff)
			if tc.maxPending > 0 {
				s.maxPending = tc.maxPending
			}
			if tc.maxReplay > 0 {
				s.maxReplay = tc.maxReplay
			}
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, w := range tc.steps {
				if got := w.in.do(s, t0.Add(w.at)).String(); got != w.step {
					t.Fatalf("step %d (%s at +%v): got %q, want %q", i, w.in.name, w.at, got, w.step)
				}
			}
			if s.last != tc.endLast || len(s.pending) != tc.endPending {
				t.Fatalf("ends at %d holding %d events, want %d holding %d", s.last, len(s.pending), tc.endLast, tc.endPending)
			}
		})
	}
}

// A live event must not allocate a step: the sequencer reuses its output.
func TestSequencerLiveEventsDoNotAllocate(t *testing.T) {
	s := newSequencer(0, testEpoch, time.Second)
	now := time.Now()
	batch := []domain.Event{ev(1)}
	s.received(batch, testEpoch, now)
	allocs := testing.AllocsPerRun(100, func() {
		batch[0].Seq = s.last + 1
		s.received(batch, testEpoch, now)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per live event", allocs)
	}
}
