package busqueue

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/pixelplayground/pixelplayground/ports"
)

func msg(payload string) ports.Message { return ports.Message{Channel: "c", Payload: []byte(payload)} }

// TestBoundsAndGap: the queue is bounded by count and by bytes; what does
// not fit is dropped, the first drop says it opened the gap, and once the
// handler has taken what was queued it hears resubscribed, once, before
// anything newer.
func TestBoundsAndGap(t *testing.T) {
	for name, c := range map[string]struct {
		limit, bytesLimit int
		payloads          []string
		queued            int
	}{
		"by count": {limit: 2, bytesLimit: 1 << 20, payloads: []string{"a", "b", "c", "d"}, queued: 2},
		"by bytes": {limit: 100, bytesLimit: 10, payloads: []string{"four", "four", "four"}, queued: 2},
		"both fit": {limit: 3, bytesLimit: 12, payloads: []string{"four", "four", "four"}, queued: 3},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				q := New(c.limit, c.bytesLimit)
				opened := 0
				for i, p := range c.payloads {
					queued, gapOpened := q.Push(msg(p))
					if queued != (i < c.queued) {
						t.Errorf("message %d queued %v, want %v", i, queued, i < c.queued)
					}
					if gapOpened {
						opened++
					}
				}
				if want := min(1, len(c.payloads)-c.queued); opened != want {
					t.Errorf("%d drops said they opened the gap, want %d", opened, want)
				}
				var got []string
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go q.Deliver(ctx, func(m ports.Message) { got = append(got, string(m.Payload)) }, func() { got = append(got, "resubscribed") })
				synctest.Wait()
				q.Push(msg("later"))
				synctest.Wait()
				want := append([]string(nil), c.payloads[:c.queued]...)
				if c.queued < len(c.payloads) {
					want = append(want, "resubscribed")
				}
				want = append(want, "later")
				if len(got) != len(want) {
					t.Fatalf("delivered %q, want %q", got, want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("delivered %q, want %q", got, want)
					}
				}
			})
		})
	}
}

// TestMissedAndCancel: Missed brings resubscribed after what is queued, and
// once cancelled, Deliver returns and handles nothing more.
func TestMissedAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := New(Limit, BytesLimit)
		var got []string
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			q.Deliver(ctx, func(m ports.Message) { got = append(got, string(m.Payload)) }, func() { got = append(got, "resubscribed") })
		}()
		q.Push(msg("a"))
		q.Missed()
		synctest.Wait()
		if len(got) != 2 || got[0] != "a" || got[1] != "resubscribed" {
			t.Fatalf("delivered %q, want [a resubscribed]", got)
		}
		cancel()
		<-done
		q.Push(msg("after cancel"))
		synctest.Wait()
		if len(got) != 2 {
			t.Errorf("handled %q after cancel", got[2:])
		}
	})
}
