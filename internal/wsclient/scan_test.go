package wsclient

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestFastPathAgreesWithEncodingJSON feeds random, often malformed, flat
// objects to both decoders: whenever the fast path accepts a frame, the
// reference must accept it too and agree on every field.
func TestFastPathAgreesWithEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"type", "x", "y", "seq", "timestamp", "color", "id", "recovered", "epoch", "width", "activeUsers", "other", "users"}
	values := []string{`1`, `-3`, `0`, `07`, `1.5`, `1e3`, `-0`, `18446744073709551615`, `18446744073709551616`, `99999999999999999999`,
		`true`, `false`, `null`, `"s"`, `"#ABCDEF"`, `"é"`, `"a\"b"`, "\"\x01\"", `"pixel_updated"`, `[1]`, `{}`, `tru`, `1.`, `.5`, `+1`, `0x10`, `"\xff"`}
	accepted := 0
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		b.WriteString("{")
		n := rng.IntN(5)
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%q:%s", keys[rng.IntN(len(keys))], values[rng.IntN(len(values))])
		}
		b.WriteString("}")
		frame := []byte(b.String())
		var fast wireMsg
		if !scanFlat(frame, &fast) {
			continue
		}
		accepted++
		var ref wireMsg
		if err := json.Unmarshal(frame, &ref); err != nil {
			t.Fatalf("%s: fast path accepted what encoding/json refuses: %v", frame, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%s:\nfast %#v\n ref %#v", frame, fast, ref)
		}
	}
	if accepted < 1000 {
		t.Fatalf("only %d frames took the fast path; the test is not exercising it", accepted)
	}
}

func BenchmarkDecodePixelUpdated(b *testing.B) {
	frame := []byte(`{"type":"pixel_updated","x":12,"y":34,"color":"#ABCDEF","username":"Anonymous","timestamp":1795316057524.123,"seq":123456,"id":"17:99"}`)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			DecodeFrame(frame, func(Message) {})
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var w wireMsg
			_ = json.Unmarshal(frame, &w)
		}
	})
}
