package waitfor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

type recorder struct{ failed string }

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		calls := 0
		err := Poll(time.Second, func() error {
			calls++
			if time.Since(start) >= 300*time.Millisecond {
				return nil
			}
			return errors.New("not yet")
		})
		if err != nil {
			t.Fatalf("Poll = %v, want nil once the condition holds", err)
		}
		if took := time.Since(start); took < 300*time.Millisecond || took > 300*time.Millisecond+poll {
			t.Fatalf("returned after %v, want within one poll of 300ms", took)
		}
		if calls < 2 {
			t.Fatalf("condition checked %d times", calls)
		}
	})
}

func TestPollGivesUpWithTheLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := 0
		err := Poll(time.Second, func() error { n++; return fmt.Errorf("attempt %d", n) })
		if err == nil || err.Error() != fmt.Sprintf("attempt %d", n) {
			t.Fatalf("Poll = %v, want the last attempt's error (%d)", err, n)
		}
		if took := time.Since(start); took < time.Second || took > time.Second+poll {
			t.Fatalf("gave up after %v, want 1s", took)
		}
	})
}

func TestTrueReportsWhatNeverHappened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		True(&r, 50*time.Millisecond, "the gateway is ready", func() bool { return false })
		if !strings.Contains(r.failed, "the gateway is ready: never happened") {
			t.Fatalf("failure says %q", r.failed)
		}
		r = recorder{}
		True(&r, 50*time.Millisecond, "at once", func() bool { return true })
		if r.failed != "" {
			t.Fatalf("a condition that holds failed the test: %q", r.failed)
		}
	})
}
