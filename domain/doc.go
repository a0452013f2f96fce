// Package domain is the pure core of Pixel Playground: the rules for pixels,
// colours and canvas sizes, server-ordered last-write-wins, usernames,
// presence, cursors and rate limits.
//
// It imports only the standard library. Time, identifiers and randomness are
// passed in by the caller, so every rule here is deterministic and testable
// without a clock or a network.
package domain
