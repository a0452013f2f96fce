package wsclient

import (
	"bytes"
	"sync"
)

// batchPrefix is how our servers begin a pixel.v2 batch frame; the fast
// path takes only that exact form.
var batchPrefix = []byte(`{"type":"batch","events":[`)

// batchMember is one event of a batch, scanned before any is emitted.
type batchMember struct {
	raw []byte
	w   wireMsg
}

var batchMembers = sync.Pool{New: func() any { return new([]batchMember) }}

// scanBatch is the fast path for pixel.v2 batch frames, which carry most
// deliveries to a v2 client: the exact form the servers write (the prefix
// above, flat members separated by commas, "]}" and nothing after) whose
// members scanFlat accepts. Then it emits what DecodeFrame's general path
// would and returns true. Anything else (whitespace, a nested member such as
// cursors, escapes, invalid JSON) returns false having emitted nothing, and
// encoding/json decides. Every member is scanned before the first is
// emitted, so a frame that turns out invalid half-way has emitted nothing.
func scanBatch(data []byte, emit func(Message)) bool {
	rest, ok := bytes.CutPrefix(data, batchPrefix)
	if !ok {
		return false
	}
	bufp := batchMembers.Get().(*[]batchMember)
	members := (*bufp)[:0]
	defer func() {
		clear(members) // the strings of this frame are not the pool's to keep
		*bufp = members[:0]
		batchMembers.Put(bufp)
	}()
	if string(rest) == "]}" {
		return true // an empty batch
	}
	i := 0
	for {
		if i >= len(rest) || rest[i] != '{' { // no whitespace: the raw member must be exactly the object
			return false
		}
		members = append(members, batchMember{})
		m := &members[len(members)-1]
		n, ok := scanFlatAt(rest[i:], &m.w)
		if !ok {
			return false
		}
		m.raw = rest[i : i+n]
		i += n
		if i < len(rest) && rest[i] == ',' {
			i++
			continue
		}
		if string(rest[i:]) != "]}" {
			return false
		}
		break
	}
	for i := range members {
		// A nested batch is Unknown, as on the general path (message
		// knows no "batch").
		emit(members[i].w.message(members[i].raw))
	}
	return true
}
