package redisconn

import (
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestBreakerCountsOnlyUnansweredRequests: a read that times out opens the
// breaker only when something was sent and nothing came back; a
// subscriber idling on a quiet channel (nothing sent) does not, nor does a
// read under a deadline shorter than FreezeAfter (a caller in a hurry).
func TestBreakerCountsOnlyUnansweredRequests(t *testing.T) {
	for _, tc := range []struct {
		name    string
		send    bool
		allowed time.Duration
		trips   bool
	}{
		{"a request left unanswered", true, FreezeAfter + 10*time.Millisecond, true},
		{"an idle subscriber", false, FreezeAfter + 10*time.Millisecond, false},
		{"a short deadline", true, FreezeAfter / 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
			_ = closed.Close() // the probe a trip starts ends at once
			b := &breaker{client: closed}
			client, server := net.Pipe()
			defer client.Close()
			defer server.Close()
			c := &watchedConn{Conn: client, b: b}
			if tc.send {
				go func() { _, _ = server.Read(make([]byte, 64)) }() // Redis takes the request and says nothing
				if _, err := c.Write([]byte("PING\r\n")); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.SetReadDeadline(time.Now().Add(tc.allowed)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(make([]byte, 16)); !isTimeout(err) {
				t.Fatalf("read: %v, want a timeout", err)
			}
			if got := b.open.Load(); got != tc.trips {
				t.Errorf("breaker open: %v, want %v", got, tc.trips)
			}
		})
	}
}
