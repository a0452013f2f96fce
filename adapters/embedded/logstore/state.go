package logstore

import (
	"github.com/pixelplayground/pixelplayground/domain"
)

// Who painted each pixel and when is kept in pages of pageSize pixels,
// allocated on the first write into them. A sparse canvas therefore costs
// little beyond its colours, a fully painted one 20 bytes per pixel
// (80 MiB at 2048x2048), and a reset frees everything at once.
const (
	pageBits = 12
	pageSize = 1 << pageBits
)

type metaPage struct {
	seq  [pageSize]domain.Seq // 0: not painted since the last reset
	ts   [pageSize]domain.Timestamp
	user [pageSize]uint32 // index into state.names
	// frozen pages are shared with a snapshot being written in the
	// background; the writer copies such a page before changing it.
	frozen bool
}

// minCompactNames is the name count below which the name table is never
// compacted; compaction scans every page, so it must stay rare.
const minCompactNames = 1 << 16

// state is the canvas as the store keeps it. It is not safe for concurrent
// use; the Store's mutex guards it.
type state struct {
	size   domain.Size
	seq    domain.Seq
	lastTS domain.Timestamp
	rgb    []byte
	pages  []*metaPage

	// names interns usernames so that a pixel costs 4 bytes for its painter
	// instead of a string header, and equal names share one string. Index 0
	// is the empty (anonymous) name. The slice is only ever appended to or
	// replaced, never changed in place, so a snapshot may keep reading an
	// old one.
	names     []string
	nameIndex map[string]uint32
	compactAt int

	// history is a ring of the last historyCap events; histHead is the
	// oldest once the ring is full.
	history    []domain.Event
	histHead   int
	historyCap int
}

func newState(size domain.Size, historyCap int) *state {
	st := &state{size: size, historyCap: historyCap}
	st.rgb = domain.BlankSnapshot(size).RGB
	st.pages = make([]*metaPage, (size.Pixels()+pageSize-1)/pageSize)
	st.clearNames()
	return st
}

func (st *state) clearNames() {
	st.names = []string{""}
	st.nameIndex = map[string]uint32{"": 0}
	st.compactAt = minCompactNames
}

// intern returns the name's index and the shared copy of it.
func (st *state) intern(name string) (uint32, string) {
	if i, ok := st.nameIndex[name]; ok {
		return i, st.names[i]
	}
	if len(st.names) >= st.compactAt {
		st.compactNames()
	}
	i := uint32(len(st.names))
	st.names = append(st.names, name)
	st.nameIndex[name] = i
	return i, name
}

// compactNames drops names no pixel refers to any more, so that a stream of
// ever new names (one per visitor, forever) does not grow memory without
// bound.
func (st *state) compactNames() {
	const unmapped = ^uint32(0)
	remap := make([]uint32, len(st.names))
	for i := range remap {
		remap[i] = unmapped
	}
	remap[0] = 0
	names := []string{""}
	index := map[string]uint32{"": 0}
	for pi, p := range st.pages {
		if p == nil {
			continue
		}
		p = st.writablePage(pi)
		for j := range p.seq {
			if p.seq[j] == 0 {
				continue
			}
			old := p.user[j]
			if remap[old] == unmapped {
				remap[old] = uint32(len(names))
				index[st.names[old]] = remap[old]
				names = append(names, st.names[old])
			}
			p.user[j] = remap[old]
		}
	}
	st.names, st.nameIndex = names, index
	st.compactAt = max(minCompactNames, 2*len(names))
}

// writablePage returns page pi, allocating it or copying it away from a
// snapshot in progress as needed.
func (st *state) writablePage(pi int) *metaPage {
	p := st.pages[pi]
	switch {
	case p == nil:
		p = new(metaPage)
		st.pages[pi] = p
	case p.frozen:
		c := new(metaPage)
		*c = *p
		c.frozen = false
		p = c
		st.pages[pi] = p
	}
	return p
}

// apply records an event that is known to be valid and to carry seq
// st.seq+1. It may replace e.Username with the interned copy, so it takes a
// pointer.
func (st *state) apply(e *domain.Event) {
	switch e.Kind {
	case domain.PixelPlaced:
		i := st.size.Index(e.Pixel.X, e.Pixel.Y)
		r, g, b := e.Pixel.Color.RGB()
		st.rgb[3*i], st.rgb[3*i+1], st.rgb[3*i+2] = r, g, b
		var user uint32
		user, e.Username = st.intern(e.Username)
		p := st.writablePage(i >> pageBits)
		j := i & (pageSize - 1)
		p.seq[j], p.ts[j], p.user[j] = e.Seq, e.Time, user
	case domain.CanvasReset:
		for i := range st.rgb {
			st.rgb[i] = 0xFF
		}
		clear(st.pages)
		st.clearNames()
	}
	st.seq, st.lastTS = e.Seq, e.Time
	st.remember(*e)
}

func (st *state) remember(e domain.Event) {
	if len(st.history) < st.historyCap {
		st.history = append(st.history, e)
		return
	}
	st.history[st.histHead] = e
	st.histHead = (st.histHead + 1) % st.historyCap
}

// since implements CanvasStore.Since on the ring.
func (st *state) since(after domain.Seq, limit int) ([]domain.Event, bool) {
	if after > st.seq {
		return nil, false
	}
	kept := domain.Seq(len(st.history))
	oldest := st.seq + 1 - kept // seq of the oldest kept event (seq+1 when none)
	if after+1 < oldest {
		return nil, false
	}
	n := int(st.seq - after)
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]domain.Event, n)
	first := st.histHead + int(after+1-oldest)
	for i := range out {
		out[i] = st.history[(first+i)%len(st.history)]
	}
	return out, true
}

// orderedHistory is the ring from oldest to newest.
func (st *state) orderedHistory() []domain.Event {
	out := make([]domain.Event, 0, len(st.history))
	out = append(out, st.history[st.histHead:]...)
	return append(out, st.history[:st.histHead]...)
}

func (st *state) pixel(x, y int) domain.PixelInfo {
	i := st.size.Index(x, y)
	info := domain.PixelInfo{Pixel: domain.Pixel{X: x, Y: y, Color: domain.ColorFromRGB(st.rgb[3*i], st.rgb[3*i+1], st.rgb[3*i+2])}}
	if p := st.pages[i>>pageBits]; p != nil {
		j := i & (pageSize - 1)
		if p.seq[j] != 0 {
			info.Seq, info.Time, info.Username = p.seq[j], p.ts[j], st.names[p.user[j]]
		}
	}
	return info
}

// frozenState is a consistent copy of the state for writing a snapshot
// file while writes go on: colours and history are copied, pages are shared
// and marked frozen so that the writer copies them before changing them.
type frozenState struct {
	size    domain.Size
	seq     domain.Seq
	lastTS  domain.Timestamp
	rgb     []byte
	pages   []*metaPage
	names   []string
	history []domain.Event
}

func (st *state) freeze() *frozenState {
	for _, p := range st.pages {
		if p != nil {
			p.frozen = true
		}
	}
	return &frozenState{
		size: st.size, seq: st.seq, lastTS: st.lastTS,
		rgb:     append([]byte(nil), st.rgb...),
		pages:   append([]*metaPage(nil), st.pages...),
		names:   st.names,
		history: st.orderedHistory(),
	}
}

// thaw lets the writer change pages in place again once the snapshot that
// shared them is written. Pages the writer already replaced are not the
// state's any more and are left alone.
func (st *state) thaw(f *frozenState) {
	for i, p := range f.pages {
		if p != nil && i < len(st.pages) && st.pages[i] == p {
			p.frozen = false
		}
	}
}
