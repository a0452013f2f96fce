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
	conn  *Conn
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
	var echoes []senderEcho
	for i, e := range events {
		if e.Origin.GatewayID == gatewayID && e.Origin.WriteID != "" {
			if c := r.byID[e.Origin.ClientID]; c != nil {
				echoes = append(echoes, senderEcho{conn: c, index: i, frame: encodeEvent(e, e.Origin.WriteID)})
			}
		}
	}
	first, last := events[0].Seq, events[len(events)-1].Seq
	r.delivered = last
	var shared [2]*sharedFlush // v1, v2: built for the first connection that takes one
	deliveries := 0
	for c, m := range r.members {
		if !m.catchingUp && first > 0 && m.lastSeq < first && !isSender(echoes, c) {
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
			continue
		}
		for i, e := range events {
			frame := common[i]
			for _, s := range echoes {
				if s.conn == c && s.index == i {
					frame = s.frame
				}
			}
			if m.deliver(frame, e.Seq) {
				deliveries++
			}
		}
	}
	return deliveries
}

func isSender(echoes []senderEcho, c *Conn) bool {
	for _, s := range echoes {
		if s.conn == c {
			return true
		}
	}
	return false
}
