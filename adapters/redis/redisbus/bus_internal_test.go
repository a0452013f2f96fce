package redisbus

import (
	"context"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/ports"
)

// TestSilentRedisIsDetected freezes Redis so that the subscription's
// connection stays open but goes quiet, as on a black-holed network: the
// unanswered PING must make the subscription reconnect, and it must say so
// once Redis answers again. Timings are shortened to keep the test quick.
func TestSilentRedisIsDetected(t *testing.T) {
	r := redistest.Start(t)
	sub := New(r.Client(t))
	sub.idlePeriod, sub.confirmTimeout = 300*time.Millisecond, time.Second
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

	r.Pause(t)
	paused := true
	defer func() {
		if paused {
			r.Unpause(t)
		}
	}()
	time.Sleep(3 * sub.idlePeriod) // long enough to notice, with margin
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
