package membus

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/bustest"
)

func TestContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) func() ports.Bus {
		bus := New() // one process: every "client" is the same bus
		return func() ports.Bus { return bus }
	})
}

// TestPublishNeverBlocksOnAStuckHandler is why the bus has queues: the
// embedded store publishes under its write lock. The overflow is dropped,
// and the subscriber told through resubscribed. It runs in a synctest
// bubble, so "the queue has drained" is synctest.Wait, not a poll.
func TestPublishNeverBlocksOnAStuckHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := New()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started, release := make(chan struct{}, 1), make(chan struct{})
		var mu sync.Mutex
		var got []uint32
		var resubscribedAt []int
		err := bus.Subscribe(ctx, []string{"c"}, func(m ports.Message) {
			select {
			case started <- struct{}{}:
			default:
			}
			<-release
			mu.Lock()
			got = append(got, binary.BigEndian.Uint32(m.Payload))
			mu.Unlock()
		}, func() {
			// Only an overflow calls it: note how much had been handled.
			mu.Lock()
			resubscribedAt = append(resubscribedAt, len(got))
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		publish := func(i int) { _ = bus.Publish(ctx, "c", binary.BigEndian.AppendUint32(nil, uint32(i))) }
		publish(0)
		<-started // the handler now holds message 0 and is stuck
		const overflow = 100
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 1; i <= QueueLimit+overflow; i++ {
				publish(i)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second): // in the bubble: only once everything else is blocked
			t.Fatal("Publish blocked behind a stuck handler")
		}
		if d := bus.Dropped(); d != overflow {
			t.Errorf("Dropped = %d, want the %d messages beyond the queue limit", d, overflow)
		}
		close(release)
		synctest.Wait() // the handler has taken everything queued
		want := 1 + QueueLimit
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n != want {
			t.Fatalf("delivered %d after release, want %d", n, want)
		}
		publish(-1) // the queue drained, so delivery resumes
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		for i := 0; i < want; i++ {
			if got[i] != uint32(i) {
				t.Fatalf("message %d is %d: order lost", i, got[i])
			}
		}
		if len(got) != want+1 || got[want] != uint32(0xFFFFFFFF) {
			t.Errorf("after draining, a new message was not delivered (got %d messages)", len(got))
		}
		// The subscriber may have missed messages: it is told once, after
		// what was queued before the drops and before anything newer.
		if len(resubscribedAt) != 1 || resubscribedAt[0] != want {
			t.Errorf("resubscribed called after %v messages, want once, after %d", resubscribedAt, want)
		}
	})
}

func TestPayloadIsCopied(t *testing.T) {
	bus := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 1)
	if err := bus.Subscribe(ctx, []string{"c"}, func(m ports.Message) { got <- string(m.Payload) }, nil); err != nil {
		t.Fatal(err)
	}
	buf := []byte("original")
	_ = bus.Publish(ctx, "c", buf)
	copy(buf, "CHANGED!")
	if s := <-got; s != "original" {
		t.Errorf("handler saw %q: the publisher's later change leaked in", s)
	}
}

func TestDuplicateChannelsDeliverOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := New()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		n := 0
		if err := bus.Subscribe(ctx, []string{"c", "c"}, func(ports.Message) { mu.Lock(); n++; mu.Unlock() }, nil); err != nil {
			t.Fatal(err)
		}
		_ = bus.Publish(ctx, "c", []byte("x"))
		synctest.Wait() // every delivery there will be has happened
		mu.Lock()
		defer mu.Unlock()
		if n != 1 {
			t.Errorf("delivered %d times, want 1", n)
		}
	})
}

// TestQueueBoundedByBytes: a message may be a batch of hundreds of events,
// so a stuck subscriber's queue is bounded by bytes as well as by count.
func TestQueueBoundedByBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := New()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started, release := make(chan struct{}, 1), make(chan struct{})
		err := bus.Subscribe(ctx, []string{"c"}, func(ports.Message) {
			select {
			case started <- struct{}{}:
			default:
			}
			<-release
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		mib := make([]byte, 1<<20)
		_ = bus.Publish(ctx, "c", mib)
		<-started // the handler holds the first message and is stuck
		const fit = QueueBytesLimit >> 20
		for range fit + 3 {
			_ = bus.Publish(ctx, "c", mib)
		}
		if d := bus.Dropped(); d != 3 {
			t.Errorf("Dropped = %d after %d MiB behind a stuck handler, want the 3 beyond %d MiB", d, fit+3, fit)
		}
		close(release)
		synctest.Wait()
	})
}
