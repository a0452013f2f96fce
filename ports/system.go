package ports

import "time"

// Clock tells the time; tests pass a fake one.
type Clock interface {
	Now() time.Time
}

// IDs makes identifiers that are unique across processes.
type IDs interface {
	// NewID returns a fresh random identifier with the given prefix, e.g.
	// "c_" for connections or "gw_" for gateway processes.
	NewID(prefix string) string
}
