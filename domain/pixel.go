package domain

import (
	"errors"
	"math"
)

// Validation errors for a pixel write. Adapters map them to the wire's
// messages and codes.
var (
	ErrOutOfBounds = errors.New("coordinates out of bounds")
	ErrNotInteger  = errors.New("coordinates must be integers")
)

// Pixel is one coloured cell of the canvas.
type Pixel struct {
	X, Y  int
	Color Color
}

// Coordinate turns a decoded JSON number into a pixel coordinate. Only whole
// numbers are coordinates (the old system accepted 2.5 and stored "2.5,3").
func Coordinate(f float64) (int, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, ErrNotInteger
	}
	if f < math.MinInt32 || f > math.MaxInt32 {
		return 0, ErrOutOfBounds
	}
	return int(f), nil
}

// Check validates a pixel against the canvas.
func (s Size) Check(p Pixel) error {
	if !s.Contains(p.X, p.Y) {
		return ErrOutOfBounds
	}
	if p.Color > White {
		return ErrBadColor
	}
	return nil
}

// MaxWriteIDBytes bounds the client nonce echoed back with a write.
const MaxWriteIDBytes = 64

// ErrBadWriteID reports a client nonce longer than MaxWriteIDBytes.
var ErrBadWriteID = errors.New("write id longer than 64 bytes")

// Origin says who asked for a write, so that the sender alone gets its nonce
// echoed. It is not shown to other clients.
type Origin struct {
	GatewayID string // the gateway process that accepted the write; "" for REST
	ClientID  string // the connection on that gateway
	WriteID   string // the client's nonce, at most MaxWriteIDBytes
}

// Write is a validated request to paint one pixel.
type Write struct {
	Pixel
	Username string // the connection's registered name, never the message's
	Origin   Origin
}
