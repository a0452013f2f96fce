// Package lograte keeps a line that repeats (a write failing on a full
// disk, a backend refusing every call) from flooding the log: the first
// occurrence is logged, later ones at most once per interval, each with
// how many were left out since the previous line. When the condition ends,
// Reset says how many were left out since the last line, and the next
// occurrence is logged at once.
//
// A Limiter is for one condition (one kind of line), not a dedup of
// everything a logger writes: the code that hits the condition knows what
// counts as "the same again", a log handler would have to guess.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Limiter limits one repeated line. The zero value is not usable; use New.
// It is safe for concurrent use.
type Limiter struct {
	every time.Duration
	now   func() time.Time

	mu         sync.Mutex
	active     bool      // an occurrence was logged and Reset has not been called since
	last       time.Time // when the last line was logged
	suppressed int       // occurrences since the last line that were not logged
}

// New makes a Limiter that logs at most one line per every; now is the
// clock (time.Now if nil).
func New(every time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, now: now}
}

// Allow records an occurrence. It reports whether to log it and, if so,
// how many occurrences since the previous logged one were not.
func (l *Limiter) Allow() (log bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.active && now.Sub(l.last) < l.every {
		l.suppressed++
		return false, 0
	}
	suppressed, l.suppressed = l.suppressed, 0
	l.active, l.last = true, now
	return true, suppressed
}

// Reset ends the condition: the next occurrence is logged at once. It
// returns how many occurrences since the last logged one were not.
func (l *Limiter) Reset() (suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	suppressed, l.suppressed = l.suppressed, 0
	l.active = false
	return suppressed
}

// Log records an occurrence and logs it at level if Allow says so, with a
// "suppressed" attribute when lines were left out before it. It reports
// whether it logged.
func (l *Limiter) Log(log *slog.Logger, level slog.Level, msg string, args ...any) bool {
	ok, suppressed := l.Allow()
	if !ok {
		return false
	}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	log.Log(context.Background(), level, msg, args...)
	return true
}
