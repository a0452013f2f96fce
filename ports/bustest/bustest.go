// Package bustest is the contract every ports.Bus implementation passes. An
// implementation's _test file calls Run with a Factory; the suite then checks
// delivery, ordering, channel isolation and cancellation as ports/bus.go
// documents them.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/ports"
)

// Factory prepares one backend for a test and returns a constructor: each
// call of it gives another client of that same backend, as another process
// would have. Clean-up goes through t.Cleanup.
type Factory func(t *testing.T) func() ports.Bus

// deliveryTimeout is how long a published message may take to arrive. It is
// generous because the machine running the suite may be busy; the suite only
// waits that long when something is wrong.
const deliveryTimeout = 10 * time.Second

// quiet is how long the suite waits to be sure nothing more (a duplicate, a
// message on the wrong channel) arrives.
const quiet = 200 * time.Millisecond

// Run runs the whole contract.
func Run(t *testing.T, open Factory) {
	t.Run("EveryoneGetsEachMessageOnce", func(t *testing.T) { testFanOut(t, open) })
	t.Run("OrderUnderBurst", func(t *testing.T) { testOrder(t, open) })
	t.Run("ChannelsAreIsolated", func(t *testing.T) { testIsolation(t, open) })
	t.Run("SeveralChannelsAtOnce", func(t *testing.T) { testSeveralChannels(t, open) })
	t.Run("CancelStopsDelivery", func(t *testing.T) { testCancel(t, open) })
	t.Run("PublishWithoutSubscribers", func(t *testing.T) { testNoSubscribers(t, open) })
	t.Run("SubscribeWithEndedContextReturns", func(t *testing.T) { testEndedContext(t, open) })
}

// channelName is unique per test run, because some backends (Redis
// Pub/Sub) share channels across databases and test processes.
func channelName(label string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("bustest-%s-%s", label, hex.EncodeToString(b[:]))
}

// recorder collects what a subscription receives.
type recorder struct {
	mu   sync.Mutex
	msgs []ports.Message
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) handle(m ports.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, ports.Message{Channel: m.Channel, Payload: append([]byte(nil), m.Payload...)})
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

func (r *recorder) snapshot() []ports.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ports.Message(nil), r.msgs...)
}

// waitFor waits until at least n messages arrived, then a quiet period, and
// returns everything received.
func (r *recorder) waitFor(t *testing.T, n int) []ports.Message {
	t.Helper()
	deadline := time.After(deliveryTimeout)
	for len(r.snapshot()) < n {
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("received %d of %d messages within %s", len(r.snapshot()), n, deliveryTimeout)
		}
	}
	time.Sleep(quiet)
	return r.snapshot()
}

func subscribe(t *testing.T, bus ports.Bus, channels ...string) *recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := newRecorder()
	done := make(chan error, 1)
	go func() { done <- bus.Subscribe(ctx, channels, r.handle, nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Subscribe(%v): %v", channels, err)
		}
	case <-time.After(deliveryTimeout):
		t.Fatalf("Subscribe(%v) did not return within %s", channels, deliveryTimeout)
	}
	return r
}

func publish(t *testing.T, bus ports.Bus, channel, payload string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	if err := bus.Publish(ctx, channel, []byte(payload)); err != nil {
		t.Fatalf("Publish(%s, %q): %v", channel, payload, err)
	}
}

func payloads(msgs []ports.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Payload)
	}
	return out
}

func testFanOut(t *testing.T, open Factory) {
	newClient := open(t)
	a, b := newClient(), newClient()
	ch := channelName("fanout")
	subscribers := []*recorder{subscribe(t, a, ch), subscribe(t, a, ch), subscribe(t, b, ch)}
	publish(t, a, ch, "from a")
	publish(t, b, ch, "from b")
	for i, r := range subscribers {
		got := payloads(r.waitFor(t, 2))
		if len(got) != 2 || got[0] != "from a" || got[1] != "from b" {
			t.Errorf("subscriber %d received %q, want each message exactly once: [from a from b]", i, got)
		}
		for _, m := range r.snapshot() {
			if m.Channel != ch {
				t.Errorf("subscriber %d: Message.Channel = %q, want %q", i, m.Channel, ch)
			}
		}
	}
}

func testOrder(t *testing.T, open Factory) {
	newClient := open(t)
	pub, sub := newClient(), newClient()
	ch := channelName("order")
	r := subscribe(t, sub, ch)
	const burst = 1000
	for i := 0; i < burst; i++ {
		publish(t, pub, ch, strconv.Itoa(i))
	}
	got := payloads(r.waitFor(t, burst))
	if len(got) != burst {
		t.Fatalf("received %d messages, want %d", len(got), burst)
	}
	for i, p := range got {
		if p != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: publication order not preserved", i, p)
		}
	}
}

func testIsolation(t *testing.T, open Factory) {
	newClient := open(t)
	bus := newClient()
	red, blue := channelName("red"), channelName("blue")
	onRed, onBlue := subscribe(t, bus, red), subscribe(t, bus, blue)
	publish(t, bus, red, "r1")
	publish(t, bus, blue, "b1")
	publish(t, bus, red, "r2")
	if got := payloads(onRed.waitFor(t, 2)); len(got) != 2 || got[0] != "r1" || got[1] != "r2" {
		t.Errorf("red subscriber received %q, want [r1 r2]", got)
	}
	if got := payloads(onBlue.waitFor(t, 1)); len(got) != 1 || got[0] != "b1" {
		t.Errorf("blue subscriber received %q, want [b1]", got)
	}
}

func testSeveralChannels(t *testing.T, open Factory) {
	newClient := open(t)
	bus := newClient()
	one, two := channelName("one"), channelName("two")
	r := subscribe(t, bus, one, two)
	publish(t, bus, one, "to one")
	publish(t, bus, two, "to two")
	got := r.waitFor(t, 2)
	if len(got) != 2 {
		t.Fatalf("received %d messages, want 2", len(got))
	}
	// Order across channels is not promised; match each by payload.
	for _, m := range got {
		want := map[string]string{"to one": one, "to two": two}[string(m.Payload)]
		if m.Channel != want {
			t.Errorf("message %q has Channel %q, want %q", m.Payload, m.Channel, want)
		}
	}
	if string(got[0].Payload) == string(got[1].Payload) {
		t.Errorf("the same message arrived twice: %q", payloads(got))
	}
}

func testCancel(t *testing.T, open Factory) {
	newClient := open(t)
	pub, sub := newClient(), newClient()
	ch := channelName("cancel")
	// Warm both clients up first, so that connections and goroutines a
	// backend opens once per client are not counted as the subscription's.
	warm := subscribe(t, sub, ch)
	publish(t, pub, ch, "warm-up")
	warm.waitFor(t, 1)
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newRecorder()
	if err := sub.Subscribe(ctx, []string{ch}, r.handle, nil); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	publish(t, pub, ch, "before")
	if got := payloads(r.waitFor(t, 1)); len(got) != 1 || got[0] != "before" {
		t.Fatalf("received %q before cancelling, want [before]", got)
	}
	cancel()
	publish(t, pub, ch, "after")
	warm.waitFor(t, 3) // warm-up, before, after: the bus itself still works
	if got := payloads(r.snapshot()); len(got) != 1 {
		t.Errorf("after cancel the handler still received %q", got[1:])
	}
	deadline := time.Now().Add(deliveryTimeout)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		t.Errorf("%d goroutines after cancelling, %d before subscribing: Subscribe's goroutine did not exit", n, baseline)
	}
}

func testNoSubscribers(t *testing.T, open Factory) {
	newClient := open(t)
	bus := newClient()
	publish(t, bus, channelName("nobody"), "into the void")
	// The client still works afterwards.
	ch := channelName("somebody")
	r := subscribe(t, bus, ch)
	publish(t, bus, ch, "hello")
	if got := payloads(r.waitFor(t, 1)); len(got) != 1 || got[0] != "hello" {
		t.Errorf("received %q, want [hello]", got)
	}
}

func testEndedContext(t *testing.T, open Factory) {
	newClient := open(t)
	bus := newClient()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := newRecorder()
	done := make(chan struct{})
	ch := channelName("ended")
	go func() {
		defer close(done)
		_ = bus.Subscribe(ctx, []string{ch}, r.handle, nil) // an error or nil are both fine
	}()
	select {
	case <-done:
	case <-time.After(deliveryTimeout):
		t.Fatal("Subscribe with an ended context did not return")
	}
	publish(t, bus, ch, "late")
	time.Sleep(quiet)
	if got := r.snapshot(); len(got) != 0 {
		t.Errorf("a subscription whose context had ended received %q", payloads(got))
	}
}
