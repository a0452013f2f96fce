// Package bustest is the contract every ports.Bus implementation passes. An
// implementation's _test file calls Run with a Factory; the suite then checks
// delivery, ordering, channel isolation, cancellation and that a slow
// handler holds up nobody else, as ports/bus.go documents them.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
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

// To be sure that nothing more arrives (a duplicate, a message on the wrong
// channel), the suite does not wait for a quiet moment: it publishes an end
// marker on the channel and waits for it. Delivery is in publication order
// per channel, so once a subscriber has the marker it has everything
// published on that channel before it.
const markerPrefix = "bustest-end-"

// isMarker reports whether m is an end marker of its own channel.
func isMarker(m ports.Message) bool {
	return strings.HasPrefix(string(m.Payload), markerPrefix+m.Channel+"#")
}

// newMarker is an end marker for channel that no other settle publishes.
func newMarker(channel string) string {
	return markerPrefix + channel + "#" + strconv.FormatUint(markers.Add(1), 10)
}

var markers atomic.Uint64

// Run runs the whole contract.
func Run(t *testing.T, open Factory) {
	t.Run("EveryoneGetsEachMessageOnce", func(t *testing.T) { testFanOut(t, open) })
	t.Run("OrderUnderBurst", func(t *testing.T) { testOrder(t, open) })
	t.Run("ChannelsAreIsolated", func(t *testing.T) { testIsolation(t, open) })
	t.Run("SeveralChannelsAtOnce", func(t *testing.T) { testSeveralChannels(t, open) })
	t.Run("ChannelNamedTwiceDeliversOnce", func(t *testing.T) { testChannelNamedTwice(t, open) })
	t.Run("CancelStopsDelivery", func(t *testing.T) { testCancel(t, open) })
	t.Run("SlowHandlerStallsNobodyElse", func(t *testing.T) { testSlowHandler(t, open) })
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
	mu      sync.Mutex
	msgs    []ports.Message
	markers map[string]bool // end markers received
}

func newRecorder() *recorder { return &recorder{markers: map[string]bool{}} }

func (r *recorder) handle(m ports.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if isMarker(m) && !r.markers[string(m.Payload)] {
		r.markers[string(m.Payload)] = true
		return
	}
	// Anything else, a marker arriving twice included, is a message the
	// test checks.
	r.msgs = append(r.msgs, ports.Message{Channel: m.Channel, Payload: append([]byte(nil), m.Payload...)})
}

// snapshot is what arrived so far, end markers left out.
func (r *recorder) snapshot() []ports.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ports.Message(nil), r.msgs...)
}

func (r *recorder) hasMarker(marker string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.markers[marker]
}

// settle publishes channel's end marker from pub and waits until every
// recorder has received it: by then each has received everything published
// on channel before, and nothing published before can still arrive.
func settle(t *testing.T, pub ports.Bus, channel string, recorders ...*recorder) {
	t.Helper()
	marker := newMarker(channel)
	publish(t, pub, channel, marker)
	for i, r := range recorders {
		waitfor.Until(t, deliveryTimeout, func() error {
			if r.hasMarker(marker) {
				return nil
			}
			return fmt.Errorf("subscriber %d of %s has not received the end marker; it received %q", i, channel, payloads(r.snapshot()))
		})
	}
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
	settle(t, b, ch, subscribers...)
	for i, r := range subscribers {
		got := payloads(r.snapshot())
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
	settle(t, pub, ch, r)
	got := payloads(r.snapshot())
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
	// Both channels end before either is checked, so that a message
	// misrouted from one to the other has had its chance to arrive.
	settle(t, bus, red, onRed)
	settle(t, bus, blue, onBlue)
	if got := payloads(onRed.snapshot()); len(got) != 2 || got[0] != "r1" || got[1] != "r2" {
		t.Errorf("red subscriber received %q, want [r1 r2]", got)
	}
	if got := payloads(onBlue.snapshot()); len(got) != 1 || got[0] != "b1" {
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
	settle(t, bus, one, r)
	settle(t, bus, two, r)
	got := r.snapshot()
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

// testChannelNamedTwice: a subscription that names a channel twice still
// gets each message once.
func testChannelNamedTwice(t *testing.T, open Factory) {
	newClient := open(t)
	bus := newClient()
	one := channelName("twice")
	r := subscribe(t, bus, one, one)
	publish(t, bus, one, "once")
	settle(t, bus, one, r)
	if got := payloads(r.snapshot()); len(got) != 1 || got[0] != "once" {
		t.Fatalf("received %q, want [once]", got)
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
	settle(t, pub, ch, warm)
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := newRecorder()
	if err := sub.Subscribe(ctx, []string{ch}, r.handle, nil); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	publish(t, pub, ch, "before")
	settle(t, pub, ch, r)
	if got := payloads(r.snapshot()); len(got) != 1 || got[0] != "before" {
		t.Fatalf("received %q before cancelling, want [before]", got)
	}
	cancel()
	publish(t, pub, ch, "after")
	// warm, on the same client, receiving "after" shows that the bus itself
	// still works and that "after" reached the client.
	settle(t, pub, ch, warm)
	if got := payloads(warm.snapshot()); len(got) != 3 {
		t.Fatalf("the other subscription received %q, want [warm-up before after]", got)
	}
	if got := payloads(r.snapshot()); len(got) != 1 {
		t.Errorf("after cancel the handler still received %q", got[1:])
	}
	waitfor.Until(t, deliveryTimeout, func() error {
		if n := runtime.NumGoroutine(); n > baseline {
			return fmt.Errorf("%d goroutines after cancelling, %d before subscribing: Subscribe's goroutine did not exit", n, baseline)
		}
		return nil
	})
}

// testSlowHandler blocks one subscription's handler: the other
// subscriptions of the same client, on its channel and on another, keep
// receiving meanwhile, and the blocked one gets its messages once it is
// back (a few messages are well within any queue).
func testSlowHandler(t *testing.T, open Factory) {
	newClient := open(t)
	bus := newClient()
	busy, other := channelName("busy"), channelName("other")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock()
	blocked := newRecorder()
	var startOnce sync.Once
	err := bus.Subscribe(ctx, []string{busy}, func(m ports.Message) {
		startOnce.Do(func() {
			close(started)
			<-release
		})
		blocked.handle(m)
	}, nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	sameChannel, otherChannel := subscribe(t, bus, busy), subscribe(t, bus, other)

	publish(t, bus, busy, "first")
	select {
	case <-started:
	case <-time.After(deliveryTimeout):
		t.Fatal("the first message never reached the handler")
	}
	publish(t, bus, busy, "second")
	publish(t, bus, other, "elsewhere")
	// The handler is still blocked: both must arrive anyway.
	settle(t, bus, busy, sameChannel)
	settle(t, bus, other, otherChannel)
	if got := payloads(sameChannel.snapshot()); len(got) != 2 || got[0] != "first" || got[1] != "second" {
		t.Errorf("the other subscriber of the busy channel received %q while a handler was blocked, want [first second]", got)
	}
	if got := payloads(otherChannel.snapshot()); len(got) != 1 || got[0] != "elsewhere" {
		t.Errorf("the subscriber of another channel received %q while a handler was blocked, want [elsewhere]", got)
	}

	unblock()
	settle(t, bus, busy, blocked)
	if got := payloads(blocked.snapshot()); len(got) != 2 || got[0] != "first" || got[1] != "second" {
		t.Errorf("the blocked subscriber received %q once released, want [first second]", got)
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
	settle(t, bus, ch, r)
	if got := payloads(r.snapshot()); len(got) != 1 || got[0] != "hello" {
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
	// A live subscription on the same client shows when "late" has been
	// delivered: by then the ended one would have received it too.
	witness := subscribe(t, bus, ch)
	publish(t, bus, ch, "late")
	settle(t, bus, ch, witness)
	if got := payloads(witness.snapshot()); len(got) != 1 || got[0] != "late" {
		t.Fatalf("the live subscription received %q, want [late]", got)
	}
	if got := r.snapshot(); len(got) != 0 {
		t.Errorf("a subscription whose context had ended received %q", payloads(got))
	}
}
