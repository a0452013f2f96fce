//go:build race

package ws

// raceEnabled: the race detector allows 8,128 live goroutines, so the
// tests with thousands of connections run fewer.
const raceEnabled = true
