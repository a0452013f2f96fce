package redisbus

import (
	"context"
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
