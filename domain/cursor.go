package domain

import (
	"errors"
	"math"
)

// ErrBadCursor reports a cursor position that is not a finite point on or
// near the canvas.
var ErrBadCursor = errors.New("cursor outside the canvas")

// Cursor is where one client's pointer is, in canvas coordinates (fractions
// allowed: a pointer sits inside a pixel).
type Cursor struct {
	ClientID string
	Username string
	X, Y     float64
}

// CheckCursor accepts finite positions within the canvas's bounds.
func (s Size) CheckCursor(x, y float64) error {
	if math.IsNaN(x) || math.IsNaN(y) || x < 0 || y < 0 || x > float64(s.Width) || y > float64(s.Height) {
		return ErrBadCursor
	}
	return nil
}

// CursorBoard coalesces cursor movements: between two flushes it keeps only
// the latest position per client, so a client moving its pointer at 120 Hz
// costs everybody else at most one entry per flush.
type CursorBoard struct {
	moved map[string]Cursor
	gone  map[string]struct{}
}

// NewCursorBoard is an empty board.
func NewCursorBoard() *CursorBoard {
	return &CursorBoard{moved: map[string]Cursor{}, gone: map[string]struct{}{}}
}

// Move records a client's latest position.
func (b *CursorBoard) Move(c Cursor) {
	delete(b.gone, c.ClientID)
	b.moved[c.ClientID] = c
}

// Leave records that a client's pointer left the canvas or the client left.
func (b *CursorBoard) Leave(clientID string) {
	delete(b.moved, clientID)
	b.gone[clientID] = struct{}{}
}

// Empty reports whether there is nothing to flush.
func (b *CursorBoard) Empty() bool { return len(b.moved) == 0 && len(b.gone) == 0 }

// Restore puts back what a Flush returned when passing it on failed, so
// the next flush carries it again; news about the same client that arrived
// meanwhile is newer and wins.
func (b *CursorBoard) Restore(moved []Cursor, gone []string) {
	for _, c := range moved {
		if !b.knows(c.ClientID) {
			b.moved[c.ClientID] = c
		}
	}
	for _, id := range gone {
		if !b.knows(id) {
			b.gone[id] = struct{}{}
		}
	}
}

func (b *CursorBoard) knows(clientID string) bool {
	_, moved := b.moved[clientID]
	_, gone := b.gone[clientID]
	return moved || gone
}

// Flush returns and clears what changed since the last flush, sorted by
// client id so the output is deterministic.
func (b *CursorBoard) Flush() (moved []Cursor, gone []string) {
	for _, c := range b.moved {
		moved = append(moved, c)
	}
	for id := range b.gone {
		gone = append(gone, id)
	}
	sortCursors(moved)
	sortStrings(gone)
	clear(b.moved)
	clear(b.gone)
	return moved, gone
}
