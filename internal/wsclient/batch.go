package wsclient

import (
	"bytes"
	"encoding/json"
)

// decodeBatch emits the events of a pixel.v2 batch frame, in order. The
// server packs what it would have sent as separate frames into one, so a
// client sees the same messages either way.
func decodeBatch(events []json.RawMessage, emit func(Message)) {
	for _, ev := range events {
		decodeOne(ev, emit)
	}
}

// decodeOne decodes a batch member; batches do not nest.
func decodeOne(data []byte, emit func(Message)) {
	var w wireMsg
	if !scanFlat(data, &w) {
		w = wireMsg{}
		if err := json.Unmarshal(data, &w); err != nil || w.Type == "batch" {
			emit(Unknown{Name: typeOf(data), Raw: bytes.Clone(data)})
			return
		}
	}
	emit(w.message(data))
}
