//go:build !unix

package main

// raiseFileLimit has nothing to raise where RLIMIT_NOFILE does not exist.
func raiseFileLimit(uint64) string { return "" }
