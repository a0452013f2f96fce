package wsclient

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// decodeWith collects what a decoder emits for one frame.
func decodeWith(decode func([]byte, func(Message)), frame []byte) []Message {
	var out []Message
	decode(frame, func(m Message) { out = append(out, m) })
	return out
}

// checkBatchAgrees fails if the batch fast path accepts frame and emits
// anything but what the general path (encoding/json for batches) emits.
func checkBatchAgrees(t *testing.T, frame []byte) bool {
	t.Helper()
	var fast []Message
	if !scanBatch(frame, func(m Message) { fast = append(fast, m) }) {
		if len(fast) != 0 {
			t.Fatalf("%s: the fast path declined after emitting %v", frame, fast)
		}
		return false
	}
	ref := decodeWith(decodeFrameGeneral, frame)
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("%s:\nfast %#v\n ref %#v", frame, fast, ref)
	}
	return true
}

// randomMember is a flat object, often odd or malformed, as the flat fast
// path's own test builds them, or now and then a nested one.
func randomMember(rng *rand.Rand) string {
	keys := []string{"type", "x", "y", "seq", "timestamp", "color", "id", "username", "recovered", "activeUsers", "other", "users", "cursors"}
	values := []string{`1`, `-3`, `0`, `07`, `1.5`, `1e3`, `-0`, `18446744073709551615`, `18446744073709551616`,
		`true`, `false`, `null`, `"s"`, `"#ABCDEF"`, `"é"`, `"a\"b"`, "\"\x01\"", `"pixel_updated"`, `"batch"`, `[1]`, `["a"]`, `{}`,
		`tru`, `1.`, `.5`, `+1`, `"\xff"`, `"}"`, `"]"`, `"{"`}
	types := []string{`"pixel_updated"`, `"canvas_reset"`, `"pong"`, `"batch"`, `"mystery"`, `5`}
	var b strings.Builder
	b.WriteString("{")
	if rng.IntN(5) > 0 {
		fmt.Fprintf(&b, `"type":%s`, types[rng.IntN(len(types))])
	}
	n := rng.IntN(6)
	for j := 0; j < n; j++ {
		if j > 0 || b.Len() > 1 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%s", keys[rng.IntN(len(keys))], values[rng.IntN(len(values))])
	}
	b.WriteString("}")
	return b.String()
}

// TestBatchFastPathAgreesWithEncodingJSON feeds random batch frames, many
// of them malformed, to the fast path: whenever it accepts one, the general
// path (encoding/json) must emit exactly the same messages.
func TestBatchFastPathAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	seps := []string{",", ",", ",", ",", ", ", ""}
	ends := []string{"]}", "]}", "]}", "]} ", "]", "]}x", "],\"n\":1}"}
	starts := []string{`{"type":"batch","events":[`, `{"type":"batch","events":[`, `{"type":"batch", "events":[`, `{"events":[`}
	accepted, events := 0, 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		b.WriteString(starts[rng.IntN(len(starts))])
		n := rng.IntN(5)
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteString(seps[rng.IntN(len(seps))])
			}
			if rng.IntN(2) == 0 {
				// A realistic event, so that many whole frames are valid.
				fmt.Fprintf(&b, `{"type":"pixel_updated","x":%d,"y":%d,"color":"#A1B2C3","username":"Anonymous","timestamp":1795316057524.%03d,"seq":%d}`,
					rng.IntN(1000), rng.IntN(1000), rng.IntN(1000), rng.Uint64N(1<<40))
			} else {
				b.WriteString(randomMember(rng))
			}
		}
		b.WriteString(ends[rng.IntN(len(ends))])
		frame := []byte(b.String())
		if checkBatchAgrees(t, frame) {
			accepted++
			events += n
		}
	}
	if accepted < 1000 || events < 1000 {
		t.Fatalf("the fast path took %d frames (%d events): the test is not exercising it", accepted, events)
	}
}

func TestBatchFastPathTable(t *testing.T) {
	for _, tc := range []struct {
		frame string
		fast  bool
	}{
		{`{"type":"batch","events":[]}`, true},
		{`{"type":"batch","events":[`, false}, // found by the fuzz target: ends where a member should start
		{`{"type":"batch","events":[{"type":"pong"},`, false},
		{`{"type":"batch","events":[ {"type":"pong"}]}`, false},
		{`{"type":"batch","events":[{"type":"pong","timestamp":1}]}`, true},
		{`{"type":"batch","events":[{"type":"pixel_updated","x":1,"y":2,"color":"#FF0000","username":"A","timestamp":1.5,"seq":7,"id":"k"},{"type":"canvas_reset","seq":8,"timestamp":2}]}`, true},
		{`{"type":"batch","events":[{"type":"batch"}]}`, true}, // Unknown, as on the general path
		{`{"type":"batch","events":[{"type":"cursors","cursors":[],"gone":[]}]}`, false},
		{`{"type":"batch","events":[{"type":"pong","timestamp":1}]}  `, false},
		{`{"type":"batch","events":[{"type":"pong","timestamp":1},]}`, false},
		{`{"type":"batch","events":[{"type":"pong","timestamp":1}`, false},
		{`{"type":"batch","events":[{"type":"pong","timestamp":1}]}{}`, false},
		{`{"type":"batch","events":[{"type":"pong","message":"a\"b"}]}`, false},
		{`{"type":"batch","events":[{"type":"pong","timestamp":01}]}`, false},
	} {
		if got := checkBatchAgrees(t, []byte(tc.frame)); got != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.frame, got, tc.fast)
		}
		// Whichever path takes it, DecodeFrame gives the reference's answer.
		if got, want := decodeWith(DecodeFrame, []byte(tc.frame)), decodeWith(decodeFrameGeneral, []byte(tc.frame)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: DecodeFrame %#v, want %#v", tc.frame, got, want)
		}
	}
}

func FuzzBatchFastPath(f *testing.F) {
	f.Add([]byte(`{"type":"batch","events":[{"type":"pong","timestamp":1},{"type":"pixel_updated","x":1,"y":2,"seq":3}]}`))
	f.Add([]byte(`{"type":"batch","events":[]}`))
	f.Add([]byte(`{"type":"batch","events":[{"type":"x","a":"}"}]}`))
	f.Fuzz(func(t *testing.T, frame []byte) { checkBatchAgrees(t, frame) })
}

func BenchmarkDecodeBatch(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"type":"batch","events":[`)
	for i := range 50 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"type":"pixel_updated","x":%d,"y":34,"color":"#ABCDEF","username":"Anonymous","timestamp":1795316057524.123,"seq":%d}`, i, 123456+i)
	}
	sb.WriteString("]}")
	frame := []byte(sb.String())
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			DecodeFrame(frame, func(Message) {})
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decodeFrameGeneral(frame, func(Message) {})
		}
	})
}
