package domain

// Epoch names one timeline of a canvas's history. A store hands out seqs
// without gaps, but it can lose its last events after it published them (a
// failover to a replica that lagged, a crash before an fsync) and then
// hands the same seqs to new events: the seqs go on, the history behind
// them is another. The store then starts a new epoch, so that whoever holds
// events of the old one (a gateway, a client that resumes with `since`)
// can tell that its seq means something else now and reload the snapshot
// instead of keeping pixels that exist nowhere any more.
//
// An epoch is opaque: a short random string the store makes, compared
// only for equality. The empty Epoch means "not known" (a client that never
// heard of epochs), never a timeline.
type Epoch string

// Head is where a canvas's history stands: its latest seq, the timeline
// that seq is on, and Base, the last seq on which every timeline the canvas
// has had agrees. Events up to Base were never lost; whoever applied events
// up to a seq at or below Base holds a prefix of the current timeline,
// whichever timeline it saw them on.
type Head struct {
	Seq   Seq
	Epoch Epoch
	Base  Seq
}

// Continues reports whether a reader that has applied every event up to
// seq, on the timeline epoch ("" when it cannot say), holds a prefix of the
// timeline this head is on, so that the events after seq are all it is
// missing. On the same timeline that holds for any seq up to the head; a
// reader that names no timeline may have seen its events on an earlier one,
// so only a seq up to Base is safe for it; another timeline never is.
func (h Head) Continues(seq Seq, epoch Epoch) bool {
	switch {
	case seq > h.Seq:
		return false // ahead of the store: it lost what the reader saw
	case epoch == "":
		return seq <= h.Base
	default:
		return epoch == h.Epoch
	}
}

// NextBase is the Base of the timeline that replaces one whose head was h
// (the store may have lost events after head.Seq, or none). Every event
// up to the lower of the old Base and the surviving head is on every
// timeline so far; a canvas that had no timeline yet (epochless data from
// before epochs, or none at all) trusts what it holds, up to head.
func NextBase(old Head, hadEpoch bool) Seq {
	if !hadEpoch {
		return old.Seq
	}
	return min(old.Base, old.Seq)
}

// MaxEpochLen bounds an epoch on the wire: stores make them short, and a
// client's `epoch` longer than this is not one of ours.
const MaxEpochLen = 32
