package ws

// This file is the shared stream: every connection of a canvas that is
// keeping up receives the same events, so each flush of the delivery
// goroutine is framed once per protocol (v1: a text frame per event, v2: a
// batch frame) and the same bytes are queued for all of them. A connection
// that is not exactly at the flush's start (catching up from history,
// the sender of one of its events, which gets its write id echoed) gets
// its own frames instead, with the per-connection seq filter, and joins
// the shared stream at the first flush that starts right after what it has
// received.

import "github.com/pixelplayground/pixelplayground/domain"

// sharedFlush is one flush of canvas events, framed for one protocol,
// queued as is by every live connection speaking it. It is never modified
// once built.
type sharedFlush struct {
	frames   []byte // WebSocket frames, ready to write
	events   int    // canvas events in it
	wsFrames int    // WebSocket frames in it
}

// newSharedFlush frames encoded events for v2 or v1 connections, exactly
// as a connection's writer would have framed them (appendMessages).
func newSharedFlush(msgs [][]byte, v2 bool) *sharedFlush {
	size := 32
	for _, m := range msgs {
		size += len(m) + 11
	}
	frames, n := appendMessages(make([]byte, 0, size), msgs, v2)
	return &sharedFlush{frames: frames, events: len(msgs), wsFrames: n}
}

// senderEcho is the frame a sender receives for its own write instead of
// the common one: the same event with its write id.
type senderEcho struct {
	index int // in the flush
	frame []byte
}

// deliverEvents queues one flush of consecutive events, in seq order, for
// every connection, and returns how many deliveries (events × connections)
// it queued. Events are encoded once; a connection keeping up gets the
// shared flush of its protocol, any other its own frames (see the file's
// comment). All of it happens under the registry's lock, so a registration
// sees either none of the flush or all of it.
func (r *registry) deliverEvents(events []domain.Event, gatewayID string) int {
	if len(events) == 0 {
		return 0
	}
	common := make([][]byte, len(events))
	for i, e := range events {
		common[i] = encodeEvent(e, "")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The senders of this flush's events, each with its echoes in event
	// order. Under load a flush has many events from many senders, so
	// this is a map, looked up once per connection.
	var echoes map[*Conn][]senderEcho
	for i, e := range events {
		if e.Origin.GatewayID == gatewayID && e.Origin.WriteID != "" {
			if c := r.byID[e.Origin.ClientID]; c != nil {
				if echoes == nil {
					echoes = map[*Conn][]senderEcho{}
				}
				echoes[c] = append(echoes[c], senderEcho{index: i, frame: encodeEvent(e, e.Origin.WriteID)})
			}
		}
	}
	first, last := events[0].Seq, events[len(events)-1].Seq
	r.delivered = last
	var shared [2]*sharedFlush // v1, v2: built for the first connection that takes one
	var own [][]byte           // scratch for a connection's own frames
	deliveries := 0
	for c, m := range r.members {
		mine := echoes[c]
		switch {
		case !m.catchingUp && first > 0 && m.lastSeq < first && mine == nil:
			p := 0
			if c.v2 {
				p = 1
			}
			if shared[p] == nil {
				shared[p] = newSharedFlush(common, c.v2)
			}
			m.lastSeq = last
			c.sendShared(shared[p])
			deliveries += len(events)
		case m.catchingUp:
			// Into its backlog, one by one, for the end of its catch-up.
			for i, e := range events {
				if m.deliver(common[i], e.Seq) {
					deliveries++
				}
			}
		default:
			// Its own frames (its echoes, or only the events after the seq
			// it was told), framed for it and queued as one entry: a
			// flush of n events from n senders costs n entries, not n².
			own = own[:0]
			for i, e := range events {
				frame := common[i]
				if len(mine) > 0 && mine[0].index == i {
					frame, mine = mine[0].frame, mine[1:]
				}
				if e.Seq > 0 {
					if e.Seq <= m.lastSeq {
						continue
					}
					m.lastSeq = e.Seq
				}
				own = append(own, frame)
			}
			if len(own) > 0 {
				c.sendShared(newSharedFlush(own, c.v2))
				deliveries += len(own)
			}
		}
	}
	return deliveries
}
