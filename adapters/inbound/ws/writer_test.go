package ws

// Tests of one connection's send queue and of how queued frames become one
// write, without a socket.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSendQueueOverflowsOnceAtItsFrameLimit(t *testing.T) {
	q := newSendQueue(3, 1<<20)
	for i := range 3 {
		if r := q.push([]byte{byte(i)}); r != pushed {
			t.Fatalf("push %d = %v, want pushed", i, r)
		}
	}
	if r := q.push([]byte("x")); r != overflowed {
		t.Fatalf("push past the limit = %v, want overflowed", r)
	}
	// The verdict is given once: the queue has closed and dropped what it
	// held, so the connection is closed as slow by one caller only.
	if r := q.push([]byte("y")); r != dropped {
		t.Fatalf("push after the overflow = %v, want dropped", r)
	}
	if got := q.take(); len(got) != 0 {
		t.Fatalf("an overflowed queue still holds %d frames", len(got))
	}
}

func TestSendQueueOverflowsAtItsByteLimit(t *testing.T) {
	q := newSendQueue(100, 10)
	if r := q.push(make([]byte, 6)); r != pushed {
		t.Fatalf("first push = %v", r)
	}
	if r := q.push(make([]byte, 4)); r != pushed {
		t.Fatalf("push up to exactly the limit = %v, want pushed", r)
	}
	if r := q.push(make([]byte, 1)); r != overflowed {
		t.Fatalf("push one byte past the limit = %v, want overflowed", r)
	}
}

func TestSendQueueTakeEmptiesItAndFreesItsRoom(t *testing.T) {
	q := newSendQueue(2, 1<<20)
	q.push([]byte("a"))
	q.push([]byte("b"))
	if got := q.take(); len(got) != 2 || string(got[0].msg) != "a" || string(got[1].msg) != "b" {
		t.Fatalf("take = %d entries, want a and b in order", len(got))
	}
	if r := q.push([]byte("c")); r != pushed {
		t.Fatalf("push after take = %v, want pushed", r)
	}
}

// A burst starts one writer, which takes it whole; the writer that finds
// the queue empty ends, and the next push starts another. An idle queue
// has no writer.
func TestSendQueueStartsOneWriterPerBurst(t *testing.T) {
	q := newSendQueue(10, 1<<20)
	starts := 0
	q.wake = func() { starts++ }
	q.push([]byte("a"))
	q.push([]byte("b"))
	if starts != 1 {
		t.Fatalf("%d writers started for one burst, want 1", starts)
	}
	if got := q.next(); len(got) != 2 {
		t.Fatalf("next = %d entries, want the whole burst", len(got))
	}
	q.push([]byte("c")) // while that writer writes: it takes this too
	if starts != 1 {
		t.Fatalf("a push while the writer runs started another (%d)", starts)
	}
	if got := q.next(); len(got) != 1 {
		t.Fatalf("next = %d entries, want c", len(got))
	}
	if got := q.next(); got != nil {
		t.Fatalf("next on an empty queue = %d entries", len(got))
	}
	q.push([]byte("d")) // the writer has ended: a new one starts
	if starts != 2 {
		t.Fatalf("after the writer ended, a push started %d writers in all, want 2", starts)
	}
}

func TestSendQueueDropsDroppableFramesWhenBehind(t *testing.T) {
	q := newSendQueue(8, 1<<20) // behind: more than 2 waiting
	for i := range 2 {
		if r := q.pushDroppable([]byte{byte(i)}); r != pushed {
			t.Fatalf("droppable push %d = %v, want pushed", i, r)
		}
	}
	q.push([]byte("must"))
	if r := q.pushDroppable([]byte("cursor")); r != dropped {
		t.Fatalf("droppable push when behind = %v, want dropped", r)
	}
	if r := q.push([]byte("must too")); r != pushed {
		t.Fatalf("a frame that must be sent was refused: %v", r)
	}
	if got := len(q.take()); got != 4 {
		t.Fatalf("queue holds %d frames, want 4", got)
	}
}

func TestSendQueueClosedDropsEverything(t *testing.T) {
	q := newSendQueue(8, 1<<20)
	q.close()
	if r := q.push([]byte("a")); r != dropped {
		t.Fatalf("push on a closed queue = %v", r)
	}
	if r := q.pushDroppable([]byte("b")); r != dropped {
		t.Fatalf("droppable push on a closed queue = %v", r)
	}
}

func TestAppendTextFrameLengths(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536, 200_000} {
		payload := bytes.Repeat([]byte{'x'}, n)
		f := appendTextFrame(nil, payload)
		if f[0] != 0x81 {
			t.Fatalf("n=%d: first byte %#x, want FIN+text", n, f[0])
		}
		var length, header int
		switch l := int(f[1]); {
		case l&0x80 != 0:
			t.Fatalf("n=%d: server frames must not be masked", n)
		case l < 126:
			length, header = l, 2
		case l == 126:
			length, header = int(f[2])<<8|int(f[3]), 4
		default:
			for _, b := range f[2:10] {
				length = length<<8 | int(b)
			}
			header = 10
		}
		if length != n || len(f) != header+n {
			t.Fatalf("n=%d: header says %d, frame is %d bytes with a %d-byte header", n, length, len(f), header)
		}
	}
}

// readFrames parses unmasked text frames as appendTextFrame writes them.
func readFrames(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if b[0] != 0x81 {
			t.Fatalf("frame starts with %#x, want FIN+text", b[0])
		}
		n, h := int(b[1]), 2
		switch n {
		case 126:
			n, h = int(b[2])<<8|int(b[3]), 4
		case 127:
			n = 0
			for _, x := range b[2:10] {
				n = n<<8 | int(x)
			}
			h = 10
		}
		out = append(out, b[h:h+n])
		b = b[h+n:]
	}
	return out
}

func TestAppendFramesV1IsOneFramePerMessage(t *testing.T) {
	msgs := [][]byte{[]byte(`{"type":"a"}`), []byte(`{"type":"b"}`), []byte(`{"type":"c"}`)}
	buf, sent := appendMessages(nil, msgs, false)
	got := readFrames(t, buf)
	if sent != 3 || len(got) != 3 {
		t.Fatalf("sent %d, parsed %d frames; want 3", sent, len(got))
	}
	for i := range msgs {
		if !bytes.Equal(got[i], msgs[i]) {
			t.Fatalf("frame %d = %s, want %s", i, got[i], msgs[i])
		}
	}
}

func TestAppendFramesV2BatchesUpToTheBatchLimit(t *testing.T) {
	msg := []byte(`{"type":"pixel_updated","pad":"` + strings.Repeat("x", 1000) + `"}`)
	var msgs [][]byte
	for range 200 { // about 200 KB: several batches
		msgs = append(msgs, msg)
	}
	buf, sent := appendMessages(nil, msgs, true)
	frames := readFrames(t, buf)
	if sent != len(frames) || sent < 3 {
		t.Fatalf("sent %d, parsed %d frames; want several batches", sent, len(frames))
	}
	total := 0
	for i, f := range frames {
		var b struct {
			Type   string            `json:"type"`
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(f, &b); err != nil || b.Type != "batch" {
			t.Fatalf("frame %d is not a batch: %v", i, err)
		}
		if len(f) > maxBatchBytes+64 {
			t.Fatalf("batch %d is %d bytes, over the limit", i, len(f))
		}
		total += len(b.Events)
	}
	if total != len(msgs) {
		t.Fatalf("batches carry %d messages, want %d", total, len(msgs))
	}
}

func TestAppendFramesV2SingleMessageIsNotBatched(t *testing.T) {
	msg := []byte(`{"type":"pong","timestamp":1}`)
	buf, sent := appendMessages(nil, [][]byte{msg}, true)
	if got := readFrames(t, buf); sent != 1 || len(got) != 1 || !bytes.Equal(got[0], msg) {
		t.Fatalf("sent %d: %q", sent, got)
	}
}

func TestAppendFramesV2OversizedMessageGoesAlone(t *testing.T) {
	big := []byte(fmt.Sprintf(`{"type":"x","pad":"%s"}`, strings.Repeat("y", maxBatchBytes)))
	small := []byte(`{"type":"y"}`)
	buf, sent := appendMessages(nil, [][]byte{big, small}, true)
	got := readFrames(t, buf)
	if sent != 2 || !bytes.Equal(got[0], big) || !bytes.Equal(got[1], small) {
		t.Fatalf("sent %d frames; first %d bytes", sent, len(got[0]))
	}
}

// A shared flush goes out as framed; the messages around it are framed
// by the writer, a v2 client's consecutive ones batched, never across the
// shared flush (which would reorder them).
func TestAppendFramesKeepsSharedFlushesInPlace(t *testing.T) {
	a, b, c := []byte(`{"type":"a"}`), []byte(`{"type":"b"}`), []byte(`{"type":"c"}`)
	e1, e2 := []byte(`{"type":"pixel_updated","seq":1}`), []byte(`{"type":"pixel_updated","seq":2}`)
	for _, v2 := range []bool{false, true} {
		shared := newSharedFlush([][]byte{e1, e2}, v2)
		q := newSendQueue(100, 1<<20)
		q.push(a)
		q.push(b)
		q.pushShared(shared)
		q.push(c)
		buf, sent := appendFrames(nil, q.take(), v2)
		got := readFrames(t, buf)
		var want [][]byte
		if v2 {
			want = [][]byte{encodeBatch([][]byte{a, b}), encodeBatch([][]byte{e1, e2}), c}
		} else {
			want = [][]byte{a, b, e1, e2, c}
		}
		if sent != len(want) || len(got) != len(want) {
			t.Fatalf("v2=%v: sent %d, parsed %d frames; want %d", v2, sent, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("v2=%v: frame %d = %s, want %s", v2, i, got[i], want[i])
			}
		}
	}
}

// The queue's bound counts the events in a shared flush, so a client is
// judged slow at the same point whether its events came shared or not.
func TestSendQueueCountsTheEventsOfASharedFlush(t *testing.T) {
	q := newSendQueue(4, 1<<20)
	flush := newSharedFlush([][]byte{[]byte("1"), []byte("2"), []byte("3")}, false)
	if r := q.pushShared(flush); r != pushed {
		t.Fatalf("shared push = %v", r)
	}
	if r := q.push([]byte("4")); r != pushed {
		t.Fatalf("push up to the bound = %v", r)
	}
	if r := q.pushShared(flush); r != overflowed {
		t.Fatalf("shared push past the bound = %v, want overflowed", r)
	}
}
