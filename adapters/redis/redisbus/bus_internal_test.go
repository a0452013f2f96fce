package redisbus

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// TestSilentRedisIsDetected freezes Redis so that the subscription's
// connection stays open but goes quiet, as on a black-holed network: the
// unanswered PING must make the subscription reconnect, and it must say so
// once Redis answers again. Timings are shortened to keep the test quick.
func TestSilentRedisIsDetected(t *testing.T) {
	r := redistest.Start(t)
	subClient := r.Client(t)
	sub := New(subClient)
	sub.idlePeriod = 300 * time.Millisecond
	pub := New(r.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	arrived := make(chan string, 10)
	resubscribed := make(chan struct{}, 10)
	err := sub.Subscribe(ctx, []string{"silent"}, func(m ports.Message) { arrived <- string(m.Payload) },
		func() { resubscribed <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}

	// Redis stays frozen until the subscription has given up on its
	// connection and opened another: a paused Redis still accepts
	// connections (the kernel answers), so the new one is counted. The
	// subscription opened one connection so far; the publisher's client
	// is another, with a pool of its own.
	opened := func() uint32 { return subClient.PoolStats().PubSubStats.Created }
	if n := opened(); n != 1 {
		t.Fatalf("%d Pub/Sub connections opened before the freeze, want 1", n)
	}
	r.Pause(t)
	paused := true
	defer func() {
		if paused {
			r.Unpause(t)
		}
	}()
	waitfor.True(t, 15*time.Second, "the subscription opened a new connection while Redis was silent",
		func() bool { return opened() > 1 })
	r.Unpause(t)
	paused = false

	select {
	case <-resubscribed:
	case <-time.After(15 * time.Second):
		t.Fatal("the subscription never noticed that Redis went silent")
	}
	if err := pub.Publish(ctx, "silent", []byte("after")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-arrived:
		if got != "after" {
			t.Errorf("received %q, want after", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message after the subscription came back")
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(1000); got != maxBackoff {
		t.Errorf("backoff(1000) = %v", got)
	}
}

// TestSlowHandlerStallsNobodyElse: the subscriptions of one bus share one
// connection, but a handler that blocks holds up only its own
// subscription. Its queue (shortened here) overflows, the overflow is
// dropped, and once the handler is back it gets what was queued, then
// resubscribed (it may have missed messages), then new messages again.
func TestSlowHandlerStallsNobodyElse(t *testing.T) {
	r := redistest.Start(t)
	bus := New(r.Client(t))
	bus.queueLimit = 4
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	started, release := make(chan struct{}), make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	var mu sync.Mutex
	var slow []string // what the slow handler saw, "resubscribed" included
	record := func(s string) {
		mu.Lock()
		slow = append(slow, s)
		mu.Unlock()
	}
	err := bus.Subscribe(ctx, []string{"slow"}, func(m ports.Message) {
		if string(m.Payload) == "0" {
			close(started)
			<-release
		}
		record(string(m.Payload))
	}, func() { record("resubscribed") })
	if err != nil {
		t.Fatal(err)
	}
	fast := make(chan string, 10)
	if err := bus.Subscribe(ctx, []string{"fast"}, func(m ports.Message) { fast <- string(m.Payload) }, nil); err != nil {
		t.Fatal(err)
	}

	publish := func(channel, payload string) {
		t.Helper()
		if err := bus.Publish(ctx, channel, []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}
	publish("slow", "0")
	<-started // the slow handler now holds 0 and waits for release
	const published = 10
	for i := 1; i <= published; i++ {
		publish("slow", strconv.Itoa(i))
	}
	// One connection to one Redis delivers in publication order: once
	// "fast" has its message, every "slow" message was queued or dropped.
	publish("fast", "f")
	select {
	case got := <-fast:
		if got != "f" {
			t.Fatalf("fast received %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked handler on another channel stalled this one")
	}

	close(release)
	saw := func(want ...string) {
		t.Helper()
		waitfor.Until(t, 10*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(slow, want) {
				return fmt.Errorf("the slow handler saw %q, want %q", slow, want)
			}
			return nil
		})
	}
	saw("0", "1", "2", "3", "4", "resubscribed")
	publish("slow", "later")
	saw("0", "1", "2", "3", "4", "resubscribed", "later")
}
