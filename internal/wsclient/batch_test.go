package wsclient

import (
	"reflect"
	"testing"
)

func TestDecodeUnpacksBatches(t *testing.T) {
	got := decodeAll(`{"type":"batch","events":[` +
		`{"type":"pixel_updated","x":1,"y":1,"color":"#FF0000","username":"A","timestamp":1,"seq":5},` +
		`{"type":"canvas_reset","seq":6,"timestamp":2},` +
		`{"type":"batch","events":[]},` + // batches do not nest
		`{"type":"stats","activeUsers":3,"timestamp":3}]}`)
	want := []Message{
		PixelUpdated{X: 1, Y: 1, Color: "#FF0000", Username: "A", Timestamp: 1, Seq: 5},
		CanvasReset{Seq: 6, Timestamp: 2},
		Unknown{Name: "batch", Raw: []byte(`{"type":"batch","events":[]}`)},
		Stats{ActiveUsers: 3, Timestamp: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
	if got := decodeAll(`{"type":"batch","events":[]}`); len(got) != 0 {
		t.Errorf("empty batch gave %v", got)
	}
}
