package ws

// This file is what each client message does, apart from the socket loops
// that read it (conn.go). Every handler runs on the connection's reader
// goroutine, which owns the connection's name and rate limits.

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/place"
)

// knownTypes bounds the metric label's values.
var knownTypes = map[string]bool{"pixel_update": true, "set_username": true, "ping": true, "cursor": true, "resume": true}

// handle answers one client message. Unknown types are ignored without a
// reply: old clients and newer ones may send what we do not know.
func (c *Conn) handle(data []byte, now time.Time) {
	m, err := decodeInbound(data)
	if err != nil {
		c.hub.o.Metrics.MessagesIn.WithLabelValues("invalid").Inc()
		c.send(encodeError(codeBadJSON, msgBadJSON, ""))
		return
	}
	label := m.Type
	if !knownTypes[label] {
		label = "other"
	}
	c.hub.o.Metrics.MessagesIn.WithLabelValues(label).Inc()
	switch m.Type {
	case "pixel_update":
		c.handlePixel(m, now)
	case "set_username":
		c.handleSetUsername(m)
	case "ping":
		c.send(encodePong(now.UnixMilli()))
	case "cursor":
		c.handleCursor(m, now)
	case "resume":
		c.handleResume(m, now)
	}
}

// handlePixel reads a write exactly as REST does (the shared place-a-pixel
// path), decides the connection's own limit with the time the message
// arrived, and hands the write to the connection's store worker (worker.go):
// the reader never waits for the store.
func (c *Conn) handlePixel(m inbound, now time.Time) {
	p, id, problem := place.Parse(m.pixelFields(), c.hub.size)
	switch problem {
	case place.OK:
	case place.BadIDType:
		c.reject(codeBadID, msgBadIDType, "")
		return
	case place.IDTooLong:
		c.reject(codeBadID, msgBadID, "")
		return
	default:
		c.reject(codeBadPixel, msgBadPixel, id)
		return
	}
	if ok, wait := c.pixelBucket.Take(now, 1); !ok {
		c.hub.o.Metrics.RateLimited.WithLabelValues("pixel").Inc()
		c.hub.o.Metrics.PixelsRejected.WithLabelValues(codeRateLimited).Inc()
		c.send(encodeRateLimited(id, retryAfterMillis(wait)))
		return
	}
	w := domain.Write{Pixel: p, Username: c.username,
		Origin: domain.Origin{GatewayID: c.hub.o.GatewayID, ClientID: c.id, WriteID: id}}
	if !c.enqueue(job{write: w, at: now}) {
		// The store is slower than this client writes: say so now rather
		// than stop reading. The write was never handed to the store.
		c.reject(codeUnavailable, msgUnavailable, id)
	}
}

func (c *Conn) reject(code, message, id string) {
	c.hub.o.Metrics.PixelsRejected.WithLabelValues(code).Inc()
	c.send(encodeError(code, message, id))
}

// handleSetUsername records the name for this client's writes and cursor
// and tells presence. A non-string is ignored, as old clients expect.
func (c *Conn) handleSetUsername(m inbound) {
	name, _, err := place.String(m.Username)
	if err != nil {
		return
	}
	c.username = domain.NormalizeUsername(name)
	c.hub.setUsername(c, c.username)
}

// handleCursor records a pointer move (or its leaving, without x). A bad
// or too frequent cursor is dropped silently: it is not worth an error frame
// per pointer move.
func (c *Conn) handleCursor(m inbound, now time.Time) {
	if len(m.X) == 0 || string(m.X) == "null" {
		c.hub.cursorLeave(c.id)
		return
	}
	x, errX := place.Number(m.X)
	y, errY := place.Number(m.Y)
	if errX != nil || errY != nil || c.hub.size.CheckCursor(x, y) != nil {
		return
	}
	if !c.cursorBucket.Allow(now) {
		c.hub.o.Metrics.RateLimited.WithLabelValues("cursor").Inc()
		return
	}
	c.hub.cursorMove(domain.Cursor{ClientID: c.id, Username: c.username, X: x, Y: y})
}

// handleResume replays history after `since` (on the timeline `epoch`, if
// given) on an open connection, as `?since=` does on the upgrade, through
// the store worker.
func (c *Conn) handleResume(m inbound, now time.Time) {
	f, err := place.Number(m.Since)
	epoch, epochErr := resumeEpoch(m.Epoch)
	switch {
	case err != nil || f < 0 || f != float64(uint64(f)) || epochErr != nil:
		c.send(encodeError(codeBadJSON, msgBadJSON, ""))
	case !c.pixelBucket.Allow(now):
		// Each resume reads history from the store: a client looping on it
		// must not turn into a load on Redis.
		c.hub.o.Metrics.RateLimited.WithLabelValues("resume").Inc()
		c.send(encodeError(codeRateLimited, msgRateLimited, ""))
	case !c.enqueue(job{resume: true, since: uint64(f), epoch: epoch, at: now}):
		c.send(encodeError(codeUnavailable, msgUnavailable, ""))
	}
}

// resumeEpoch reads a resume's optional `epoch`: absent or null is "", a
// string of at most domain.MaxEpochLen bytes is the epoch, anything else
// an error.
func resumeEpoch(raw json.RawMessage) (domain.Epoch, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	s, _, err := place.String(raw)
	if err != nil {
		return "", err
	}
	if len(s) > domain.MaxEpochLen {
		return "", errEpochTooLong
	}
	return domain.Epoch(s), nil
}

var errEpochTooLong = errors.New("epoch too long")
