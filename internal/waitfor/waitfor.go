// Package waitfor is the one way tests wait: for a condition, polled until it
// holds or a deadline passes, never for a fixed time. A test that sleeps and
// then asserts is flaky on a busy machine and slow on an idle one; a test
// that polls is neither.
package waitfor

import (
	"fmt"
	"time"
)

// TB is the part of testing.TB the helpers need, so they can be tested.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// poll is how often a condition is checked: often enough that a test ends
// within a few milliseconds of its condition, rare enough not to load the
// machine it measures.
const poll = 10 * time.Millisecond

// Until polls cond until it returns nil and fails the test with cond's last
// error if that has not happened within timeout.
func Until(t TB, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := Poll(timeout, cond); err != nil {
		t.Fatalf("waited %v: %v", timeout, err)
	}
}

// True polls cond until it holds and fails the test, saying what was awaited,
// if it has not held within timeout.
func True(t TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	Until(t, timeout, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("%s: never happened", what)
	})
}

// Poll calls cond until it returns nil or timeout has passed, and returns
// cond's last error (nil on success). Use it where a test goes on
// differently, or reports more, when the wait fails.
func Poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		<-tick.C
	}
}
