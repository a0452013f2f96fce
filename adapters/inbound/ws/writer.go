package ws

import (
	"encoding/binary"
	"sync"

	"github.com/fasthttp/websocket"
)

// This file is one connection's outgoing side apart from the socket: the
// bounded queue that producers (the hub, the connection's own reader) push
// frames into without ever blocking, its verdict on a client that stops
// reading, and the assembly of everything queued into one write.

// pushResult is what a push did with a frame.
type pushResult int

const (
	pushed  pushResult = iota // queued; the writer is signalled
	dropped                   // the queue is closed (or, for a droppable frame, the client is behind)
	// overflowed: the queue passed its limit with this frame. The queue
	// has closed itself and dropped everything; the caller disconnects the
	// client as slow (once: only one push ever overflows).
	overflowed
)

// outFrame is one entry of a send queue: a message the writer frames
// itself (msg), or WebSocket frames already framed and shared by every live
// connection of the canvas (framed, see shared.go), which carry events
// messages between them.
type outFrame struct {
	msg    []byte
	framed bool
	// events is how many messages the entry stands for: 1 for a message,
	// the events in it for a shared flush. The queue's bound counts them,
	// so a connection is judged slow at the same point either way.
	events int
	// wsFrames is how many WebSocket frames a framed entry holds.
	wsFrames int
}

// sendQueue bounds what waits for one connection's writer: a client that
// stops reading fills it within seconds under load and is disconnected as
// slow instead of making the hub wait or grow without bound.
type sendQueue struct {
	maxFrames, maxBytes int

	mu     sync.Mutex
	frames []outFrame
	count  int // messages waiting (outFrame.events summed)
	bytes  int
	closed bool
	// writing is set from the push that finds no writer until the writer
	// finds the queue empty: there is at most one writer at a time, and
	// none while the connection is idle (an idle connection parks no
	// goroutine for its writes).
	writing bool
	// wake starts a writer (Conn.startWriter); nil in tests that drain the
	// queue themselves.
	wake func()
	// writers counts the writer started by wake until it ends, so that the
	// connection's handler outlives it (wait): fasthttp recycles a
	// hijacked connection once the handler returns.
	writers sync.WaitGroup
}

func newSendQueue(maxFrames, maxBytes int) *sendQueue {
	return &sendQueue{maxFrames: maxFrames, maxBytes: maxBytes}
}

// push queues a frame that must be sent. It never blocks.
func (q *sendQueue) push(frame []byte) pushResult {
	return q.pushOut(outFrame{msg: frame, events: 1})
}

// pushShared queues a shared flush (already framed). It never blocks.
func (q *sendQueue) pushShared(s *sharedFlush) pushResult {
	return q.pushOut(outFrame{msg: s.frames, framed: true, events: s.events, wsFrames: s.wsFrames})
}

func (q *sendQueue) pushOut(f outFrame) pushResult {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return dropped
	}
	if q.count+f.events > q.maxFrames || q.bytes+len(f.msg) > q.maxBytes {
		q.closed = true // nothing more is queued; the caller closes the connection
		q.frames, q.count, q.bytes = nil, 0, 0
		q.mu.Unlock()
		return overflowed
	}
	q.frames = append(q.frames, f)
	q.count += f.events
	q.bytes += len(f.msg)
	var wake func()
	if !q.writing {
		q.writing, wake = true, q.wake
		if wake != nil {
			// Under the lock, so a wait after close (which takes it)
			// counts this writer.
			q.writers.Add(1)
		}
	}
	q.mu.Unlock()
	if wake != nil {
		wake()
	}
	return pushed
}

// pushDroppable queues a frame that the next one of its kind supersedes
// (cursor positions), unless the client is already behind: more than a
// quarter of the queue waiting. Skipping it then costs the client nothing
// and keeps room for what must arrive.
func (q *sendQueue) pushDroppable(frame []byte) pushResult {
	q.mu.Lock()
	behind := q.count > q.maxFrames/4
	q.mu.Unlock()
	if behind {
		return dropped
	}
	return q.push(frame)
}

// take removes and returns everything queued, for one write.
func (q *sendQueue) take() []outFrame {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.frames
	q.frames, q.count, q.bytes = nil, 0, 0
	return f
}

// next is the writer's take: everything queued, or nil when nothing is,
// in which case the writer ends and the next push starts another.
func (q *sendQueue) next() []outFrame {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.frames
	q.frames, q.count, q.bytes = nil, 0, 0
	if len(f) == 0 {
		q.writing = false
	}
	return f
}

// wait returns once no writer runs; after close none starts again.
func (q *sendQueue) wait() { q.writers.Wait() }

// close makes every later push a no-op (the connection is going away).
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// appendFrames appends the queued entries to buf as WebSocket frames, for
// one write(2), and returns the buffer and the number of frames. Shared
// flushes are already framed and go out as they are; between them, each
// message is its own text frame for a v1 client, so it sees exactly what
// one-message writes would give it, and a v2 client gets consecutive
// messages grouped into batch frames of at most about maxBatchBytes.
func appendFrames(buf []byte, entries []outFrame, v2 bool) ([]byte, int) {
	sent := 0
	var small [16][]byte
	msgs := small[:0]
	for i, e := range entries {
		if !e.framed {
			msgs = append(msgs, e.msg)
			if i < len(entries)-1 {
				continue
			}
		}
		var n int
		buf, n = appendMessages(buf, msgs, v2)
		sent += n
		msgs = msgs[:0]
		if e.framed {
			buf = append(buf, e.msg...)
			sent += e.wsFrames
		}
	}
	return buf, sent
}

// appendMessages frames messages that are not framed yet (see appendFrames).
func appendMessages(buf []byte, frames [][]byte, v2 bool) ([]byte, int) {
	if !v2 || len(frames) <= 1 {
		for _, f := range frames {
			buf = appendTextFrame(buf, f)
		}
		return buf, len(frames)
	}
	sent := 0
	for len(frames) > 0 {
		n, size := 0, 0
		for n < len(frames) && (n == 0 || size+len(frames[n]) < maxBatchBytes) {
			size += len(frames[n]) + 1
			n++
		}
		msg := frames[0]
		if n > 1 {
			msg = encodeBatch(frames[:n])
		}
		buf = appendTextFrame(buf, msg)
		frames = frames[n:]
		sent++
	}
	return buf, sent
}

// appendTextFrame appends one final, unmasked text frame (RFC 6455 §5.2).
func appendTextFrame(b, payload []byte) []byte {
	const finText = 0x80 | websocket.TextMessage
	switch n := len(payload); {
	case n < 126:
		b = append(b, finText, byte(n))
	case n <= 0xFFFF:
		b = append(b, finText, 126, byte(n>>8), byte(n))
	default:
		b = append(b, finText, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// writeBufs lends write buffers to connections while they write, so an idle
// connection holds none.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledWriteBuf keeps one huge burst from pinning a huge buffer.
const maxPooledWriteBuf = 256 << 10
