package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
)

// CanvasTokenBytes is the randomness of a canvas's creator key and invite
// token: 128 bits.
const CanvasTokenBytes = 16

// maxTokenLen bounds what is hashed when a token is checked; real tokens
// are 22 characters.
const maxTokenLen = 64

// ErrBadTokenHash reports a stored token hash that is not one.
var ErrBadTokenHash = errors.New("not a token hash")

// NewCanvasToken encodes 128 random bits, drawn by the caller, as a token
// (base64url without padding, 22 characters).
func NewCanvasToken(random [CanvasTokenBytes]byte) string {
	return base64.RawURLEncoding.EncodeToString(random[:])
}

// TokenHash is the SHA-256 of a token: all that is ever stored of one, so
// that a leaked directory leaks no keys. The zero value is "no token" and
// matches nothing.
type TokenHash [sha256.Size]byte

// HashCanvasToken is the hash stored for token.
func HashCanvasToken(token string) TokenHash { return sha256.Sum256([]byte(token)) }

// IsZero reports the absence of a token.
func (h TokenHash) IsZero() bool { return h == TokenHash{} }

// Matches reports whether token is the one h was made from, in time that
// does not depend on how much of it is right. No token matches the zero
// hash, and the empty token matches nothing.
func (h TokenHash) Matches(token string) bool {
	if token == "" || len(token) > maxTokenLen {
		return false
	}
	sum := HashCanvasToken(token)
	var zero TokenHash
	return subtle.ConstantTimeCompare(h[:], sum[:]) == 1 && subtle.ConstantTimeCompare(h[:], zero[:]) == 0
}

// String is the hash in hex, "" for the zero hash; ParseTokenHash reads it.
func (h TokenHash) String() string {
	if h.IsZero() {
		return ""
	}
	return hex.EncodeToString(h[:])
}

// ParseTokenHash reads a hash written by String ("" is the zero hash).
func ParseTokenHash(s string) (TokenHash, error) {
	var h TokenHash
	if s == "" {
		return h, nil
	}
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("%w: %d characters", ErrBadTokenHash, len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return TokenHash{}, fmt.Errorf("%w: %v", ErrBadTokenHash, err)
	}
	return h, nil
}
