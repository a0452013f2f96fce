package netguard

// Headroom left below the descriptor limit by DefaultMax: the process needs
// descriptors besides its clients' (the store's log and snapshots, Redis
// connections, the listener, logs, DNS), and accepting needs one more to
// refuse politely.
const (
	minHeadroom      = 64
	headroomFraction = 10 // percent of the limit
)

// DefaultMax is the connection cap for a process whose soft limit on open
// files is limit: the limit less the headroom; 0 (no cap) when the limit is
// unknown.
func DefaultMax(limit uint64) int {
	if limit == 0 || limit > 1<<30 {
		return 0
	}
	head := max(uint64(minHeadroom), limit*headroomFraction/100)
	if limit <= 2*head {
		return int(limit / 2)
	}
	return int(limit - head)
}
