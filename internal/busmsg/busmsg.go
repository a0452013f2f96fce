// Package busmsg is the one encoding of what travels between processes on
// the Pub/Sub bus and in the stores' history: canvas events, presence nudges
// and cursor batches. It is internal to our servers (clients never see it),
// compact, and shaped so that the Redis store's Lua script can splice the
// server-assigned epoch, seq and timestamp in front of a body the Go side
// encoded:
//
//	EncodeEvent(e, epoch) == `{"k":"p","e":"` + epoch + `","seq":` + seq + `,"ts":` + ts + `,` + PixelBody(w) + `}`
//
// The epoch (domain.Epoch) is the store's timeline the event was accepted
// on, so that a gateway can tell new events on a new timeline from
// duplicates of seqs it already delivered. An event without "e" (from a
// store older than epochs) decodes with the empty epoch: nobody can say.
//
// A message on a canvas's pixel channel is a batch: the events of one
// store call, in seq order, one per line (EncodeEvents; JSON never holds
// a raw newline, so a line is always a whole event). Publishing a group
// commit's writes as one message instead of one each is a large part of
// what one Redis core can accept per second. A batch of one is exactly
// EncodeEvent's bytes, which is what a gateway older than batches decodes;
// it drops a longer batch as undecodable and repairs from history at the
// seq gap the next event shows. History keeps one event per entry.
package busmsg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/jsonx"
)

// Kinds of event on the wire.
const (
	KindPixel = "p"
	KindReset = "r"
)

type event struct {
	Kind     string `json:"k"`
	Epoch    string `json:"e"`
	Seq      uint64 `json:"seq"`
	TS       int64  `json:"ts"`
	X        int    `json:"x"`
	Y        int    `json:"y"`
	Color    string `json:"c"`
	Username string `json:"u"`
	Gateway  string `json:"gw"`
	Client   string `json:"cid"`
	WriteID  string `json:"id"`
}

// PixelBody is the part of a pixel event's encoding that does not depend on
// the seq and timestamp (no braces, no leading comma).
func PixelBody(w domain.Write) []byte {
	return appendPixelBody(make([]byte, 0, 96), w)
}

// ResetBody is PixelBody's counterpart for a reset.
func ResetBody(o domain.Origin) []byte {
	return appendOrigin(make([]byte, 0, 64), o)[1:] // drop the leading comma
}

func appendPixelBody(b []byte, w domain.Write) []byte {
	b = append(b, `"x":`...)
	b = strconv.AppendInt(b, int64(w.X), 10)
	b = append(b, `,"y":`...)
	b = strconv.AppendInt(b, int64(w.Y), 10)
	b = append(b, `,"c":"`...)
	b = append(b, w.Color.String()...)
	b = append(b, `","u":`...)
	b = jsonx.AppendString(b, w.Username)
	return appendOrigin(b, w.Origin)
}

func appendOrigin(b []byte, o domain.Origin) []byte {
	b = append(b, `,"gw":`...)
	b = jsonx.AppendString(b, o.GatewayID)
	b = append(b, `,"cid":`...)
	b = jsonx.AppendString(b, o.ClientID)
	b = append(b, `,"id":`...)
	return jsonx.AppendString(b, o.WriteID)
}

// EncodeEvent encodes an event accepted on the timeline epoch for the bus
// and the history, in one allocation for the usual event. An empty epoch
// is left out.
func EncodeEvent(e domain.Event, epoch domain.Epoch) []byte {
	kind := KindPixel
	if e.Kind == domain.CanvasReset {
		kind = KindReset
	}
	b := make([]byte, 0, 160+len(epoch))
	b = append(b, `{"k":"`...)
	b = append(b, kind...)
	if epoch != "" {
		b = append(b, `","e":`...)
		b = jsonx.AppendString(b, string(epoch))
		b = append(b, `,"seq":`...)
	} else {
		b = append(b, `","seq":`...)
	}
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"ts":`...)
	b = strconv.AppendInt(b, int64(e.Time), 10)
	if e.Kind == domain.CanvasReset {
		b = appendOrigin(b, e.Origin) // brings its own leading comma
	} else {
		b = append(b, ',')
		b = appendPixelBody(b, domain.Write{Pixel: e.Pixel, Username: e.Username, Origin: e.Origin})
	}
	return append(b, '}')
}

// EncodeEvents encodes the events of one store call, all accepted on the
// timeline epoch, as one bus message: EncodeEvent's encodings, one per
// line. Encoded events the caller already has (the Redis script builds
// its own) are joined the same way by JoinEvents.
func EncodeEvents(events []domain.Event, epoch domain.Epoch) []byte {
	encoded := make([][]byte, len(events))
	for i := range events {
		encoded[i] = EncodeEvent(events[i], epoch)
	}
	return JoinEvents(encoded)
}

// JoinEvents joins encoded events into one bus message.
func JoinEvents(encoded [][]byte) []byte {
	n := 0
	for _, e := range encoded {
		n += len(e) + 1
	}
	b := make([]byte, 0, n)
	for i, e := range encoded {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, e...)
	}
	return b
}

// DecodeEvents is the inverse of EncodeEvents: the events of one bus
// message, in order, and their epoch. Every line must be an event and all
// must be on the same epoch; a message that is not a batch is refused
// whole, so a consumer never applies half of one.
func DecodeEvents(payload []byte) ([]domain.Event, domain.Epoch, error) {
	events := make([]domain.Event, 0, bytes.Count(payload, []byte{'\n'})+1)
	var epoch domain.Epoch
	for i, rest, more := 0, payload, true; more; i++ {
		var line []byte
		line, rest, more = bytes.Cut(rest, []byte{'\n'})
		e, lineEpoch, err := DecodeEvent(line)
		if err != nil {
			return nil, "", fmt.Errorf("event %d of the batch: %w", i+1, err)
		}
		if i > 0 && lineEpoch != epoch {
			return nil, "", fmt.Errorf("%w: event %d of the batch is on epoch %q, the first on %q", ErrBadEvent, i+1, lineEpoch, epoch)
		}
		if i > 0 && e.Seq <= events[i-1].Seq {
			return nil, "", fmt.Errorf("%w: event %d of the batch has seq %d after %d", ErrBadEvent, i+1, e.Seq, events[i-1].Seq)
		}
		epoch = lineEpoch
		events = append(events, e)
	}
	return events, epoch, nil
}

// ErrBadEvent reports a payload that is not an event.
var ErrBadEvent = errors.New("busmsg: not an event")

// DecodeEvent is the inverse of EncodeEvent: the event and the epoch it
// was accepted on ("" if the encoding has none).
func DecodeEvent(payload []byte) (domain.Event, domain.Epoch, error) {
	var m event
	if !scanEvent(payload, &m) {
		m = event{}
		if err := json.Unmarshal(payload, &m); err != nil {
			return domain.Event{}, "", fmt.Errorf("%w: %v", ErrBadEvent, err)
		}
	}
	if m.Seq == 0 {
		return domain.Event{}, "", fmt.Errorf("%w: no seq", ErrBadEvent)
	}
	if len(m.Epoch) > domain.MaxEpochLen {
		return domain.Event{}, "", fmt.Errorf("%w: epoch of %d bytes", ErrBadEvent, len(m.Epoch))
	}
	e := domain.Event{
		Seq:    m.Seq,
		Time:   domain.Timestamp(m.TS),
		Origin: domain.Origin{GatewayID: m.Gateway, ClientID: m.Client, WriteID: m.WriteID},
	}
	switch m.Kind {
	case KindPixel:
		c, err := domain.ParseColor(m.Color)
		if err != nil {
			return domain.Event{}, "", fmt.Errorf("%w: %v", ErrBadEvent, err)
		}
		e.Kind = domain.PixelPlaced
		e.Pixel = domain.Pixel{X: m.X, Y: m.Y, Color: c}
		e.Username = m.Username
	case KindReset:
		e.Kind = domain.CanvasReset
	default:
		return domain.Event{}, "", fmt.Errorf("%w: kind %q", ErrBadEvent, m.Kind)
	}
	return e, domain.Epoch(m.Epoch), nil
}

// Cursors is one gateway's coalesced cursor changes since its last flush.
type Cursors struct {
	GatewayID string
	Moved     []domain.Cursor
	Gone      []string
}

type cursorsMsg struct {
	Gateway string      `json:"gw"`
	Moved   []cursorMsg `json:"m,omitempty"`
	Gone    []string    `json:"g,omitempty"`
}

type cursorMsg struct {
	Client   string  `json:"c"`
	Username string  `json:"u"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
}

// EncodeCursors encodes a cursor batch.
func EncodeCursors(c Cursors) []byte {
	m := cursorsMsg{Gateway: c.GatewayID, Gone: c.Gone}
	for _, cur := range c.Moved {
		m.Moved = append(m.Moved, cursorMsg{Client: cur.ClientID, Username: cur.Username, X: cur.X, Y: cur.Y})
	}
	b, _ := json.Marshal(m) // plain structs of strings and finite floats always marshal
	return b
}

// DecodeCursors is the inverse of EncodeCursors.
func DecodeCursors(payload []byte) (Cursors, error) {
	var m cursorsMsg
	if err := json.Unmarshal(payload, &m); err != nil {
		return Cursors{}, fmt.Errorf("busmsg: not a cursor batch: %v", err)
	}
	c := Cursors{GatewayID: m.Gateway, Gone: m.Gone}
	for _, cur := range m.Moved {
		c.Moved = append(c.Moved, domain.Cursor{ClientID: cur.Client, Username: cur.Username, X: cur.X, Y: cur.Y})
	}
	return c, nil
}
