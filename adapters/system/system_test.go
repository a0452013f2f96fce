package system

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/ports"
)

var (
	_ ports.Clock = Clock{}
	_ ports.IDs   = IDs{}
)

func TestClockIsTheWallClock(t *testing.T) {
	before := time.Now()
	got := NewClock().Now()
	after := time.Now()
	if got.Before(before) || got.After(after) {
		t.Fatalf("Now() = %v, not between %v and %v", got, before, after)
	}
}

func TestNewIDShapeAndUniqueness(t *testing.T) {
	shape := regexp.MustCompile(`^gw_[0-9a-f]{12}$`)
	ids := NewIDs()
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := ids.NewID("gw_")
		if !shape.MatchString(id) {
			t.Fatalf("NewID = %q, want gw_ and 12 lowercase hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q after %d ids", id, i)
		}
		seen[id] = true
	}
	if id := ids.NewID(""); len(id) != 12 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("NewID(\"\") = %q", id)
	}
}
