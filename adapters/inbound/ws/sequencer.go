package ws

import (
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// This file is the gateway's ordering logic on its own: which canvas event
// goes out next, when to repair a gap from history and when to give up on
// replaying and jump. It is pure (events and the time in, decisions out; no
// goroutines, sockets, store or clock) so that every branch can be tested
// from a table. The hub's delivery goroutine (delivery.go) feeds it and
// carries out what it decides.

// maxPending bounds events held while a gap is repaired; beyond it the
// sequencer drops them and relies on the repair fetching them too.
const maxPending = 100_000

// sequencer delivers seq N+1 only after N. An event that arrives early waits
// in pending while the missing ones are fetched from history; duplicates are
// dropped. It is not safe for concurrent use: one goroutine owns it.
//
// Seqs order events within one timeline of the store (domain.Epoch). When
// the store starts another (it lost events it had published, and hands
// their seqs out again), a live event, a repair or a sync shows a new
// epoch: the sequencer then jumps to that timeline (every client reloads
// its snapshot) and from there on takes the new timeline's events, also
// those whose seqs it already delivered on the old one: they are not
// duplicates.
type sequencer struct {
	last         domain.Seq   // the last event delivered (or jumped to)
	epoch        domain.Epoch // the timeline last is on; "" until the store was read
	pending      map[domain.Seq]domain.Event
	repairing    bool       // a repair is in flight; its result comes back through repaired
	progressMark domain.Seq // what had been delivered at the previous sync
	retryAfter   time.Time  // a failed repair is not retried before this

	backoff    time.Duration // wait after a failed repair (the sync interval)
	maxPending int           // most early events held; beyond, the repair fetches them too
	maxReplay  int           // most events a repair replays; beyond, jump

	out step // reused between calls so a live event costs no allocation
}

// step is what the hub must do after one input, in this order: jump (if
// set), deliver the events, start a repair (if set). Every input yields at
// most one jump and one repair, and a jump always comes before deliveries,
// so this fixed order is the order the decisions were made in.
type step struct {
	jump    *jump
	deliver []domain.Event
	// repair asks for history after repairAfter on the timeline
	// repairEpoch; the hub fetches it and hands the result back through
	// repaired.
	repair      bool
	repairAfter domain.Seq
	repairEpoch domain.Epoch
	// replayed counts the events a repair brought (for the Replayed metric),
	// duplicates included.
	replayed int
}

// jump moves the gateway to seq to on timeline epoch without delivering
// what lies between: every client is told `resumed` with recovered=false
// and reloads its snapshot. to may be below from (the store lost data).
type jump struct {
	to, from domain.Seq
	epoch    domain.Epoch // the timeline after the jump
	why      jumpReason
	events   int // for gapTooLarge: how many events the repair found
}

type jumpReason int

const (
	// gapTooLarge: more missed events than maxReplay; replaying them
	// through every client's send queue would close them all as slow.
	gapTooLarge jumpReason = iota + 1
	// historyGone: history no longer reaches back to what was delivered.
	historyGone
	// storeBehind: the store's latest seq is below what was delivered (it
	// lost data or was reset).
	storeBehind
	// epochChanged: the store is on another timeline (domain.Epoch): what
	// was delivered may not exist any more, whatever the seqs say.
	epochChanged
)

// repairResult is what a repair read from the store.
type repairResult struct {
	events   []domain.Event
	complete bool        // history reached back to the seq asked for, on the timeline asked for
	head     domain.Head // the store's head, read with the events
	asked    domain.Epoch
	failed   bool // the store could not be read
}

func newSequencer(last domain.Seq, epoch domain.Epoch, backoff time.Duration) *sequencer {
	return &sequencer{
		last: last, epoch: epoch, pending: map[domain.Seq]domain.Event{},
		backoff: backoff, maxPending: maxPending, maxReplay: maxReplay,
	}
}

// begin starts the step of one input. Every method returns it by value,
// but its deliver slice is the sequencer's own buffer: valid until the next
// call, which is all the hub needs (it carries a step out before the next).
func (s *sequencer) begin() *step {
	s.out = step{deliver: s.out.deliver[:0]}
	return &s.out
}

// received takes live events from the bus, published on the timeline
// epoch ("" when the publisher did not say: a store from before epochs).
//
// Events of another timeline are not taken: which of that timeline's
// events the gateway missed (those written before its bus reached the new
// master, whose writers still wait for their echo) depends on the
// timeline's base, which only the store knows. A repair on the current
// timeline reads it: its result names the new timeline's head, and
// repaired moves there (moveToTimelineOf), replaying what lies above the
// base, these events included. Jumping to just before the first live one
// covered the earlier ones by the snapshot: written, never answered.
func (s *sequencer) received(events []domain.Event, epoch domain.Epoch, now time.Time) step {
	out := s.begin()
	if epoch != "" && epoch != s.epoch && len(events) > 0 {
		s.startRepair(s.last, now)
		return *out
	}
	for _, e := range events {
		s.take(e, now)
	}
	return *out
}

// repaired takes the result of the repair the last step asked for.
func (s *sequencer) repaired(r repairResult, now time.Time) step {
	out := s.begin()
	s.repairing = false
	if r.failed {
		// The store is unreachable; the sync tick retries once it answers
		// again, instead of a tight loop of failures.
		s.retryAfter = now.Add(s.backoff)
		return *out
	}
	if r.asked != s.epoch {
		// Read for a timeline the sequencer has left meanwhile: nothing in
		// it applies. What is held may still need a repair.
		s.drainPending(now)
		return *out
	}
	if r.head.Epoch != s.epoch {
		s.moveToTimelineOf(r.head, now)
		return *out
	}
	events := r.events
	switch {
	case len(events) > s.maxReplay:
		// Too far behind to replay through every client's send queue (it
		// would overflow and close them all as slow): jump to the store's
		// position and let every client reload its snapshot. What lies
		// beyond arrives live or through the next repair.
		if r.head.Seq > s.last {
			s.jumpTo(r.head.Seq, gapTooLarge, len(events))
		}
		events = nil
	case !r.complete:
		// History no longer reaches back to what we delivered: we cannot
		// replay, so jump to the store's position and tell every client to
		// reload its snapshot rather than show a canvas with holes.
		target := r.head.Seq
		if len(events) > 0 && events[0].Seq > 0 {
			target = events[0].Seq - 1
		}
		s.jumpTo(target, historyGone, 0)
	}
	out.replayed = len(events)
	for _, e := range events {
		s.take(e, now)
	}
	s.drainPending(now)
	return *out
}

// synced takes the store's head, read on the periodic sync tick. It
// repairs when the store is ahead and nothing was delivered since the
// previous look: events merely in flight under load keep the sequencer
// moving and need no repair; lost ones stall it. It also notices a store
// on another timeline, or one that went backwards (data loss), and moves
// with it.
func (s *sequencer) synced(head domain.Head, now time.Time) step {
	return s.sync(head, false, now)
}

// resubscribed takes the store's head read after the bus subscribed
// again: messages may have been lost during the interruption, so a store
// ahead of us is repaired at once, without waiting for a second look.
func (s *sequencer) resubscribed(head domain.Head, now time.Time) step {
	return s.sync(head, true, now)
}

func (s *sequencer) sync(head domain.Head, force bool, now time.Time) step {
	out := s.begin()
	if head.Epoch != s.epoch {
		s.moveToTimelineOf(head, now)
		return *out
	}
	latest, last := head.Seq, s.last
	stalled := last == s.progressMark
	s.progressMark = last
	switch {
	case latest < last:
		s.pending = map[domain.Seq]domain.Event{}
		s.jumpTo(latest, storeBehind, 0)
		s.progressMark = latest
	case latest > last && (force || stalled):
		s.startRepair(last, now)
	}
	return *out
}

// take delivers e if it is next, holds it if it is early, drops it if it is
// a duplicate.
func (s *sequencer) take(e domain.Event, now time.Time) {
	switch {
	case e.Seq <= s.last:
		return
	case e.Seq == s.last+1:
		s.deliver(e)
		s.drainPending(now)
	default:
		if len(s.pending) < s.maxPending {
			s.pending[e.Seq] = e
		}
		s.startRepair(s.last, now)
	}
}

// drainPending delivers the held events that have become next.
func (s *sequencer) drainPending(now time.Time) {
	for len(s.pending) > 0 {
		next := s.last + 1
		e, ok := s.pending[next]
		if !ok {
			// Anything at or below last is stale; the rest waits for repair.
			for seq := range s.pending {
				if seq < next {
					delete(s.pending, seq)
				}
			}
			if len(s.pending) > 0 {
				s.startRepair(next-1, now)
			}
			return
		}
		delete(s.pending, next)
		s.deliver(e)
	}
}

func (s *sequencer) deliver(e domain.Event) {
	s.last = e.Seq
	s.out.deliver = append(s.out.deliver, e)
}

// startRepair asks for history after seq after, unless a repair is already
// in flight or a failed one is still in its back-off.
func (s *sequencer) startRepair(after domain.Seq, now time.Time) {
	if s.repairing || now.Before(s.retryAfter) {
		return
	}
	s.repairing = true
	s.out.repair, s.out.repairAfter, s.out.repairEpoch = true, after, s.epoch
}

// moveToTimelineOf moves to the timeline of head, found by a sync or a
// repair rather than by one of its events, and repairs at once what lies
// between the move and the head.
//
// The move is to the lower of head.Base and the old position: every event
// above the base on the new timeline is one the gateway has not delivered
// (it delivered the old timeline's), and some may never come live: a
// failover or a restart cuts the bus too, so the events written on the
// new timeline before the gateway subscribed to it again are only in
// history. Moving to the head instead would cover them by the snapshot
// every client reloads, and their writers, whose writes the store
// accepted, would never hear so: no echo, no error. Replayed by the
// repair, they carry their writers' echoes; clients that reloaded a
// snapshot that already has them ignore the rest.
func (s *sequencer) moveToTimelineOf(head domain.Head, now time.Time) {
	s.changeTimeline(min(head.Base, head.Seq, s.last), head.Epoch)
	if head.Seq > s.last {
		s.startRepair(s.last, now)
	}
}

// changeTimeline moves to seq on the timeline epoch. Nothing held or
// being repaired belongs to it: held events are forgotten, and a repair in
// flight is answered for the old timeline (repaired ignores it), so
// another may start at once.
//
// Every client reloads its snapshot, read after it is told, so any seq up
// to the new timeline's head will do; a lower one (moveToTimelineOf)
// keeps the new timeline's events above it, delivered rather than dropped
// as covered by the snapshot, so that they still carry their writers'
// echoes.
func (s *sequencer) changeTimeline(seq domain.Seq, epoch domain.Epoch) {
	s.pending = map[domain.Seq]domain.Event{}
	s.epoch = epoch
	s.jumpTo(seq, epochChanged, 0)
	s.progressMark = seq
	s.repairing = false
	s.retryAfter = time.Time{}
}

// jumpTo moves to seq and forgets held events at or below it.
func (s *sequencer) jumpTo(seq domain.Seq, why jumpReason, events int) {
	s.out.jump = &jump{to: seq, from: s.last, epoch: s.epoch, why: why, events: events}
	s.last = seq
	for p := range s.pending {
		if p <= seq {
			delete(s.pending, p)
		}
	}
}
