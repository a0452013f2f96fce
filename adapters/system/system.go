// Package system provides the real implementations of the clock and the id
// source that the core receives through ports, so that everything else can be
// tested with fakes.
package system

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Clock is the wall clock.
type Clock struct{}

// NewClock returns the wall clock.
func NewClock() Clock { return Clock{} }

// Now is time.Now.
func (Clock) Now() time.Time { return time.Now() }

// idBytes random bytes give 48 bits: with a few thousand live connections
// or gateways a collision is about one in tens of billions, and the ids stay
// short enough to appear in every log line.
const idBytes = 6

// IDs makes random identifiers from crypto/rand, so ids minted by separate
// processes (gateways that share nothing) do not collide.
type IDs struct{}

// NewIDs returns the random id source.
func NewIDs() IDs { return IDs{} }

// NewID returns prefix followed by 12 lowercase hex digits.
func (IDs) NewID(prefix string) string {
	var b [idBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it crashes the program if the OS source is broken
	out := make([]byte, len(prefix)+2*idBytes)
	copy(out, prefix)
	hex.Encode(out[len(prefix):], b[:])
	return string(out)
}
