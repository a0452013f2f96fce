//go:build !unix

package netguard

// FileLimit is unknown outside Unix; DefaultMax then sets no cap.
func FileLimit() uint64 { return 0 }
