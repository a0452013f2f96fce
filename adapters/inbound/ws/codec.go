package ws

// This file is the wire: every message the gateway sends, encoded once
// (hand-written where it is hot, encoding/json elsewhere), and the parsing
// of what clients send.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/httpx"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
	"github.com/pixelplayground/pixelplayground/internal/place"
)

// Error codes and messages on the wire. The messages are the old system's
// where it had one, so old clients that match on text keep working.
const (
	codeBadJSON     = "bad_json"
	codeBadPixel    = "bad_pixel"
	codeBadID       = "bad_id"
	codeRateLimited = "rate_limited"
	codeUnavailable = "unavailable"
	codeArchived    = "archived"

	msgBadJSON     = "Invalid message format"
	msgBadPixel    = "Invalid pixel data"
	msgBadID       = "Invalid write id: at most 64 bytes"
	msgBadIDType   = "Invalid write id: must be a string"
	msgRateLimited = "Rate limit exceeded"
	msgUnavailable = "Service unavailable, try again"
	msgArchived    = "Canvas is archived: it can be read, not written"
)

// encodeEvent is the pixel_updated or canvas_reset frame; writeID, if not
// empty, is echoed for the sender.
func encodeEvent(e domain.Event, writeID string) []byte {
	b := make([]byte, 0, 160)
	switch e.Kind {
	case domain.CanvasReset:
		b = append(b, `{"type":"canvas_reset","seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
		b = append(b, `,"timestamp":`...)
		b = httpx.AppendMillis(b, e.Time)
	default:
		b = append(b, `{"type":"pixel_updated","x":`...)
		b = strconv.AppendInt(b, int64(e.Pixel.X), 10)
		b = append(b, `,"y":`...)
		b = strconv.AppendInt(b, int64(e.Pixel.Y), 10)
		b = append(b, `,"color":"`...)
		b = append(b, e.Pixel.Color.String()...)
		b = append(b, `","username":`...)
		b = jsonx.AppendString(b, domain.DisplayName(e.Username))
		b = append(b, `,"timestamp":`...)
		b = httpx.AppendMillis(b, e.Time)
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
	}
	if writeID != "" {
		b = append(b, `,"id":`...)
		b = jsonx.AppendString(b, writeID)
	}
	return append(b, '}')
}

type connectedMsg struct {
	Type     string `json:"type"`
	Message  string `json:"message"`
	ClientID string `json:"clientId"`
	Seq      uint64 `json:"seq"`
	// Epoch is the timeline seq is on: a client resumes with it, and
	// reloads a snapshot on another.
	Epoch  string `json:"epoch"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	// The canvas (extensions old clients ignore): its slug and name,
	// whether it is archived, and this connection's own pixel limit.
	Canvas     string  `json:"canvas"`
	Name       string  `json:"name"`
	Archived   bool    `json:"archived"`
	PixelRate  float64 `json:"pixelRate"`
	PixelBurst int     `json:"pixelBurst"`
}

// connectedInfo is what `connected` says of the canvas and the
// connection's limit.
type connectedInfo struct {
	size  domain.Size
	info  domain.CanvasInfo
	pixel domain.RateRule
}

// connectedInfo is what a connection joining now is told of the canvas.
func (h *Hub) connectedInfo(c *Conn) connectedInfo {
	return connectedInfo{size: h.size, info: h.Canvas(), pixel: c.pixelRule}
}

func encodeConnected(clientID string, seq domain.Seq, epoch domain.Epoch, ci connectedInfo) []byte {
	return mustJSON(connectedMsg{Type: "connected", Message: "Connected to Cloud Pixel Playground",
		ClientID: clientID, Seq: seq, Epoch: string(epoch), Width: ci.size.Width, Height: ci.size.Height,
		Canvas: string(ci.info.Slug), Name: ci.info.Name, Archived: ci.info.Archived,
		PixelRate: ci.pixel.PerSecond, PixelBurst: ci.pixel.Burst})
}

type errorMsg struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`
	ID      string `json:"id,omitempty"`
	// RetryAfter (ms) is when the client's pixel budget holds the write
	// again; an extension old clients ignore.
	RetryAfter int64 `json:"retryAfter,omitempty"`
}

func encodeError(code, message, id string) []byte {
	return mustJSON(errorMsg{Type: "error", Message: message, Code: code, ID: id})
}

// encodeRateLimited is rate_limited with the wait in milliseconds (0: left
// out, as for the per-connection limit).
func encodeRateLimited(id string, retryAfterMs int64) []byte {
	return mustJSON(errorMsg{Type: "error", Message: msgRateLimited, Code: codeRateLimited, ID: id, RetryAfter: retryAfterMs})
}

type resumedMsg struct {
	Type      string `json:"type"`
	Seq       uint64 `json:"seq"`
	Recovered bool   `json:"recovered"`
	Epoch     string `json:"epoch"`
}

func encodeResumed(seq domain.Seq, recovered bool, epoch domain.Epoch) []byte {
	return mustJSON(resumedMsg{Type: "resumed", Seq: seq, Recovered: recovered, Epoch: string(epoch)})
}

func encodePong(nowMillis int64) []byte {
	b := append(make([]byte, 0, 48), `{"type":"pong","timestamp":`...)
	b = strconv.AppendInt(b, nowMillis, 10)
	return append(b, '}')
}

// The presence messages (v1 stats and user_list, v2 presence) are in
// presencewire.go.

type cursorWire struct {
	ClientID string  `json:"clientId"`
	Username string  `json:"username"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
}

type cursorsMsg struct {
	Type    string       `json:"type"`
	Cursors []cursorWire `json:"cursors"`
	Gone    []string     `json:"gone"`
}

func encodeCursors(moved []domain.Cursor, gone []string) []byte {
	m := cursorsMsg{Type: "cursors", Cursors: make([]cursorWire, 0, len(moved)), Gone: gone}
	if m.Gone == nil {
		m.Gone = []string{}
	}
	for _, c := range moved {
		m.Cursors = append(m.Cursors, cursorWire{ClientID: c.ClientID, Username: domain.DisplayName(c.Username), X: c.X, Y: c.Y})
	}
	return mustJSON(m)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are marshalled here
	}
	return b
}

// encodeBatch joins already encoded messages into one pixel.v2 frame.
func encodeBatch(frames [][]byte) []byte {
	n := 32
	for _, f := range frames {
		n += len(f) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"type":"batch","events":[`...)
	for i, f := range frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f...)
	}
	return append(b, "]}"...)
}

// inbound is a client message. Fields stay raw so that a wrong JSON type is
// told apart from a missing field and answered precisely.
type inbound struct {
	Type     string          `json:"type"`
	X        json.RawMessage `json:"x"`
	Y        json.RawMessage `json:"y"`
	Color    json.RawMessage `json:"color"`
	ID       json.RawMessage `json:"id"`
	Username json.RawMessage `json:"username"`
	Since    json.RawMessage `json:"since"`
	Epoch    json.RawMessage `json:"epoch"`
}

// decodeInbound parses a frame. Anything that is not a JSON object with a
// string type is errBadJSON's territory; the caller answers bad_json.
func decodeInbound(data []byte) (inbound, error) {
	var m inbound
	d := json.NewDecoder(bytes.NewReader(data))
	if err := d.Decode(&m); err != nil {
		return inbound{}, err
	}
	if d.More() {
		return inbound{}, errors.New("trailing data after the message")
	}
	return m, nil
}

// pixelFields is the part of a pixel_update the shared place-a-pixel path
// validates.
func (m inbound) pixelFields() place.Fields {
	return place.Fields{X: m.X, Y: m.Y, Color: m.Color, ID: m.ID}
}
