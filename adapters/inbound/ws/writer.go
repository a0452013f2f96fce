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

// sendQueue bounds what waits for one connection's writer: a client that
// stops reading fills it within seconds under load and is disconnected as
// slow instead of making the hub wait or grow without bound.
type sendQueue struct {
	maxFrames, maxBytes int

	mu     sync.Mutex
	frames [][]byte
	bytes  int
	closed bool
	// ready holds one signal while frames wait; the writer takes them all
	// per signal.
	ready chan struct{}
}

func newSendQueue(maxFrames, maxBytes int) *sendQueue {
	return &sendQueue{maxFrames: maxFrames, maxBytes: maxBytes, ready: make(chan struct{}, 1)}
}

// push queues a frame that must be sent. It never blocks.
func (q *sendQueue) push(frame []byte) pushResult {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return dropped
	}
	if len(q.frames) >= q.maxFrames || q.bytes+len(frame) > q.maxBytes {
		q.closed = true // nothing more is queued; the caller closes the connection
		q.frames, q.bytes = nil, 0
		q.mu.Unlock()
		return overflowed
	}
	q.frames = append(q.frames, frame)
	q.bytes += len(frame)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return pushed
}

// pushDroppable queues a frame that the next one of its kind supersedes
// (cursor positions), unless the client is already behind: more than a
// quarter of the queue waiting. Skipping it then costs the client nothing
// and keeps room for what must arrive.
func (q *sendQueue) pushDroppable(frame []byte) pushResult {
	q.mu.Lock()
	behind := len(q.frames) > q.maxFrames/4
	q.mu.Unlock()
	if behind {
		return dropped
	}
	return q.push(frame)
}

// take removes and returns everything queued, for one write.
func (q *sendQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.frames
	q.frames, q.bytes = nil, 0
	return f
}

// close makes every later push a no-op (the connection is going away).
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// appendFrames appends the queued messages to buf as WebSocket frames, for
// one write(2), and returns the buffer and the number of frames. Each
// message is its own text frame for a v1 client, so it sees exactly what
// one-message writes would give it; a v2 client gets the messages grouped
// into batch frames of at most about maxBatchBytes.
func appendFrames(buf []byte, frames [][]byte, v2 bool) ([]byte, int) {
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
