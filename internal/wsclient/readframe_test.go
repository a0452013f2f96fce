package wsclient

import (
	"fmt"
	"testing"
)

// Frames are read into a pooled buffer that the next frame overwrites, so
// what an Unknown carries must be its own copy, also for the frames read
// after it.
func TestUnknownRawSurvivesTheFramesReadAfterIt(t *testing.T) {
	f := newFakeServer(t, 8, 8)
	c := dial(t, f.wsURL(), Options{})
	const n = 50
	sent := make([]string, n)
	for i := range sent {
		sent[i] = fmt.Sprintf(`{"type":"extension_%02d","payload":"%040d"}`, i, i)
		f.broadcast([]byte(sent[i]))
	}
	var got []Unknown
	for len(got) < n {
		if u, ok := next(t, c, "user_list", "stats", "cursors").(Unknown); ok {
			got = append(got, u)
		}
	}
	for i, u := range got {
		if string(u.Raw) != sent[i] {
			t.Fatalf("Unknown %d: Raw = %s, want %s", i, u.Raw, sent[i])
		}
	}
}
