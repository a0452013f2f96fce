package wsclient

import (
	"bytes"
	"encoding/json"
)

// wireMsg holds every top-level field any server message has.
type wireMsg struct {
	Type        string            `json:"type"`
	Message     string            `json:"message"`
	ClientID    string            `json:"clientId"`
	Seq         uint64            `json:"seq"`
	Width       int               `json:"width"`
	Height      int               `json:"height"`
	X           int               `json:"x"`
	Y           int               `json:"y"`
	Color       string            `json:"color"`
	Username    string            `json:"username"`
	Timestamp   float64           `json:"timestamp"`
	ID          string            `json:"id"`
	Code        string            `json:"code"`
	ActiveUsers int               `json:"activeUsers"`
	Users       []string          `json:"users"`
	Recovered   bool              `json:"recovered"`
	Epoch       string            `json:"epoch"`
	Cursors     []CursorPos       `json:"cursors"`
	Gone        []string          `json:"gone"`
	Events      []json.RawMessage `json:"events"`
}

// DecodeFrame calls emit for every message in one frame: once for a plain
// message, once per event for a pixel.v2 batch. Client does this for every
// frame it reads; it is exported for tests that read frames themselves.
// Nothing it emits refers to data (Unknown.Raw is a copy), so the caller
// may reuse data once it returns.
func DecodeFrame(data []byte, emit func(Message)) {
	if scanBatch(data, emit) {
		return
	}
	decodeFrameGeneral(data, emit)
}

// decodeFrameGeneral is DecodeFrame without the batch fast path: a fast
// path for flat messages, encoding/json for everything else. It is the
// reference the batch fast path is tested against.
func decodeFrameGeneral(data []byte, emit func(Message)) {
	var w wireMsg
	if !scanFlat(data, &w) {
		w = wireMsg{}
		if err := json.Unmarshal(data, &w); err != nil {
			emit(Unknown{Name: typeOf(data), Raw: bytes.Clone(data)})
			return
		}
	}
	if w.Type == "batch" {
		decodeBatch(w.Events, emit)
		return
	}
	emit(w.message(data))
}

// typeOf digs the type out of a frame that failed to decode, so an
// extension with an unexpected field type is still recognisable.
func typeOf(data []byte) string {
	var t struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &t) != nil {
		return ""
	}
	return t.Type
}

// message is the typed Message w holds; raw is the frame, kept by Unknown
// for a type this package does not know.
func (w *wireMsg) message(raw []byte) Message {
	switch w.Type {
	case "pixel_updated":
		return PixelUpdated{X: w.X, Y: w.Y, Color: w.Color, Username: w.Username, Timestamp: w.Timestamp, Seq: w.Seq, ID: w.ID}
	case "connected":
		return Connected{Message: w.Message, ClientID: w.ClientID, Seq: w.Seq, Epoch: w.Epoch, Width: w.Width, Height: w.Height}
	case "error":
		return Error{Message: w.Message, Code: w.Code, ID: w.ID}
	case "stats":
		return Stats{ActiveUsers: w.ActiveUsers, Timestamp: w.Timestamp}
	case "user_list":
		return UserList{Users: w.Users, Timestamp: w.Timestamp}
	case "resumed":
		return Resumed{Seq: w.Seq, Recovered: w.Recovered, Epoch: w.Epoch}
	case "canvas_reset":
		return CanvasReset{Seq: w.Seq, Timestamp: w.Timestamp}
	case "cursors":
		return Cursors{Cursors: w.Cursors, Gone: w.Gone}
	case "pong":
		return Pong{Timestamp: w.Timestamp}
	}
	return Unknown{Name: w.Type, Raw: bytes.Clone(raw)}
}
