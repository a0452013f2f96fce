package redisbus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/bustest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T) func() ports.Bus {
		r := redistest.Shared(t)
		r.Flush(t)
		return func() ports.Bus { return redisbus.New(r.Client(t)) }
	})
}

// TestContractOnCluster runs the contract through cluster clients on a
// Redis Cluster of three nodes: classic Pub/Sub is broadcast to the whole
// cluster, so a message published on the node one client picks reaches a
// subscriber connected to another.
func TestContractOnCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	bustest.Run(t, func(t *testing.T) func() ports.Bus {
		return func() ports.Bus { return redisbus.New(c.Client(t)) }
	})
}

func TestSubscribeRejectsNonsense(t *testing.T) {
	bus := redisbus.New(redistest.Shared(t).Client(t))
	ctx := context.Background()
	if err := bus.Subscribe(ctx, nil, func(ports.Message) {}, nil); err == nil {
		t.Error("Subscribe without channels succeeded")
	}
	if err := bus.Subscribe(ctx, []string{"x"}, nil, nil); err == nil {
		t.Error("Subscribe without a handler succeeded")
	}
}

// TestOutage restarts Redis under three subscriptions of one bus, two of
// them on the same channel: Publish fails fast with ErrUnavailable
// meanwhile, the connection comes back by itself, every subscription says
// so through resubscribed (once) and receives what is published afterwards.
func TestOutage(t *testing.T) {
	r := redistest.Start(t)
	pub, sub := redisbus.New(r.Client(t)), redisbus.New(r.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	watchers := []*watcher{{channel: "outage"}, {channel: "outage"}, {channel: "outage-2"}}
	for _, w := range watchers {
		w.arrived, w.resubscribed = make(chan struct{}, 100), make(chan struct{}, 10)
		if err := sub.Subscribe(ctx, []string{w.channel}, w.handle, w.resubscribe); err != nil {
			t.Fatal(err)
		}
	}
	publishAll := func(payload string) error {
		for _, ch := range []string{"outage", "outage-2"} {
			if err := pub.Publish(ctx, ch, []byte(payload)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := publishAll("before"); err != nil {
		t.Fatal(err)
	}
	for i, w := range watchers {
		waitFor(t, w.arrived, fmt.Sprintf("subscription %d: the message published before the outage", i))
	}

	r.Stop(t)
	start := time.Now()
	if err := pub.Publish(ctx, "outage", []byte("lost")); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("Publish while Redis is down: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Publish took %v to fail", d)
	}
	for i, w := range watchers {
		select {
		case <-w.resubscribed:
			t.Fatalf("subscription %d: resubscribed called while Redis is down", i)
		default:
		}
	}

	r.Start(t)
	for i, w := range watchers {
		waitFor(t, w.resubscribed, fmt.Sprintf("subscription %d: resubscribed after the restart", i))
	}
	if err := publishAll("after"); err != nil {
		t.Fatalf("Publish after the restart: %v", err)
	}
	for i, w := range watchers {
		waitFor(t, w.arrived, fmt.Sprintf("subscription %d: the message published after the restart", i))
		if got := w.received(); len(got) != 2 || got[0] != "before" || got[1] != "after" {
			t.Errorf("subscription %d received %q, want [before after]", i, got)
		}
		select {
		case <-w.resubscribed:
			t.Errorf("subscription %d: resubscribed called twice for one outage", i)
		default:
		}
	}
}

// watcher records what one subscription receives.
type watcher struct {
	channel      string
	mu           sync.Mutex
	got          []string
	arrived      chan struct{}
	resubscribed chan struct{}
}

func (w *watcher) handle(m ports.Message) {
	w.mu.Lock()
	w.got = append(w.got, string(m.Payload))
	w.mu.Unlock()
	w.arrived <- struct{}{}
}

func (w *watcher) resubscribe() { w.resubscribed <- struct{}{} }

func (w *watcher) received() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.got...)
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// TestSubscribeWaitsForRedis subscribes while Redis is down: Subscribe keeps
// trying until Redis is up, returns only once subscribed, and a cancelled
// context ends the wait.
func TestSubscribeWaitsForRedis(t *testing.T) {
	r := redistest.Start(t)
	client := r.Client(t)
	dials := &dialCounter{}
	client.AddHook(dials)
	bus := redisbus.New(client)
	r.Stop(t)

	short, cancelShort := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancelShort()
	if err := bus.Subscribe(short, []string{"late"}, func(ports.Message) {}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Subscribe while Redis is down and ctx ends: %v, want the context's error", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrived := make(chan struct{}, 1)
	subscribed := make(chan error, 1)
	tried := dials.n.Load()
	go func() {
		subscribed <- bus.Subscribe(ctx, []string{"late"}, func(ports.Message) { arrived <- struct{}{} }, nil)
	}()
	// Two more dials mean the first of them failed and Subscribe is
	// retrying: by then it must still be waiting.
	waitfor.True(t, 15*time.Second, "Subscribe retried while Redis is down",
		func() bool { return dials.n.Load() >= tried+2 })
	select {
	case err := <-subscribed:
		t.Fatalf("Subscribe returned while Redis is down: %v", err)
	default:
	}
	r.Start(t)
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Subscribe did not return after Redis came back")
	}
	if err := bus.Publish(ctx, "late", []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, arrived, "the first message")
}

// dialCounter is a go-redis hook that counts the client's connection
// attempts, failed ones included.
type dialCounter struct{ n atomic.Int64 }

func (d *dialCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.n.Add(1)
		return next(ctx, network, addr)
	}
}

func (d *dialCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (d *dialCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// pubsubClients is how many Pub/Sub connections Redis has open.
func pubsubClients(t *testing.T, c *redis.Client) int {
	t.Helper()
	list, err := c.Do(context.Background(), "client", "list", "type", "pubsub").Text()
	if err != nil {
		t.Fatal(err)
	}
	n := 0 // one line per connection
	for _, line := range strings.Split(list, "\n") {
		if strings.TrimSpace(line) != "" {
			n++
		}
	}
	return n
}

// numsub is how many connections Redis has subscribed to channel.
func numsub(t *testing.T, c *redis.Client, channel string) int64 {
	t.Helper()
	n, err := c.PubSubNumSub(context.Background(), channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n[channel]
}

// TestOneConnectionForAllSubscriptions is why the bus multiplexes: a
// gateway subscribes once per canvas it serves, and a connection each would
// cost Redis hundreds of clients per gateway. N subscriptions on N channels
// through one Bus hold one Pub/Sub connection, each still gets its own
// channel's messages, and the connection (and every goroutine of the bus)
// ends with the last of them.
func TestOneConnectionForAllSubscriptions(t *testing.T) {
	r := redistest.Start(t)
	admin := r.Client(t)
	bus := redisbus.New(r.Client(t))
	const n = 20
	cancels := make([]context.CancelFunc, n)
	got := make([]chan string, n)
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cancels[i] = cancel
		got[i] = make(chan string, 10)
		err := bus.Subscribe(ctx, []string{fmt.Sprintf("canvas-%d", i)},
			func(m ports.Message) { got[i] <- m.Channel + ":" + string(m.Payload) }, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := pubsubClients(t, admin); c != 1 {
		t.Errorf("%d subscriptions hold %d Pub/Sub connections in Redis, want 1", n, c)
	}
	for i := range n {
		if err := bus.Publish(context.Background(), fmt.Sprintf("canvas-%d", i), []byte("hi")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case m := <-got[i]:
			if want := fmt.Sprintf("canvas-%d:hi", i); m != want {
				t.Errorf("subscription %d received %q, want %q", i, m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("subscription %d received nothing", i)
		}
	}
	for _, cancel := range cancels {
		cancel()
	}
	waitfor.True(t, 10*time.Second, "the Pub/Sub connection closed with the last subscription",
		func() bool { return pubsubClients(t, admin) == 0 })
	waitfor.Until(t, 10*time.Second, func() error {
		if g := busGoroutines(); g != "" {
			return fmt.Errorf("a goroutine of the bus outlived every subscription:\n%s", g)
		}
		return nil
	})
}

// busGoroutines is the stack of every goroutine running a method of the
// bus (the tests, in package redisbus_test, do not match).
func busGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []byte
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("/adapters/redis/redisbus.(*")) {
			out = append(append(out, g...), "\n\n"...)
		}
	}
	return string(out)
}

// TestChannelSharedBySubscriptions: two subscriptions to one channel share
// one SUBSCRIBE; when one ends the other keeps receiving (and the ended
// one receives nothing more), and the channel is UNSUBSCRIBEd only when
// neither wants it. A later subscription to it works again.
func TestChannelSharedBySubscriptions(t *testing.T) {
	r := redistest.Start(t)
	admin := r.Client(t)
	bus := redisbus.New(r.Client(t))
	const ch = "shared"
	// other keeps the connection open throughout, so that the UNSUBSCRIBE
	// is what empties the channel, not a closed connection.
	otherCtx, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	if err := bus.Subscribe(otherCtx, []string{"other"}, func(ports.Message) {}, nil); err != nil {
		t.Fatal(err)
	}

	subscribe := func() (chan string, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		got := make(chan string, 10)
		if err := bus.Subscribe(ctx, []string{ch}, func(m ports.Message) { got <- string(m.Payload) }, nil); err != nil {
			t.Fatal(err)
		}
		return got, cancel
	}
	receive := func(got chan string, want string) {
		t.Helper()
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("received %q, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%q did not arrive", want)
		}
	}
	publish := func(payload string) {
		t.Helper()
		if err := bus.Publish(context.Background(), ch, []byte(payload)); err != nil {
			t.Fatal(err)
		}
	}

	a, cancelA := subscribe()
	b, cancelB := subscribe()
	if n := numsub(t, admin, ch); n != 1 {
		t.Errorf("two subscriptions of one Bus hold %d subscriptions to the channel in Redis, want 1", n)
	}
	publish("both")
	receive(a, "both")
	receive(b, "both")

	cancelA()
	publish("b only")
	receive(b, "b only")
	if n := numsub(t, admin, ch); n != 1 {
		t.Errorf("after one of two subscriptions ended, Redis has %d subscribers of the channel, want 1", n)
	}
	cancelB()
	waitfor.True(t, 10*time.Second, "the channel was UNSUBSCRIBEd once nobody wanted it",
		func() bool { return numsub(t, admin, ch) == 0 })
	if len(a) != 0 {
		t.Errorf("the cancelled subscription received %q", <-a)
	}

	c, _ := subscribe()
	publish("again")
	receive(c, "again")
	if c := pubsubClients(t, admin); c != 1 {
		t.Errorf("%d Pub/Sub connections, want 1", c)
	}
}

// TestChurnOnOneChannel subscribes and cancels on one channel from several
// goroutines at once, so that SUBSCRIBE and UNSUBSCRIBE of it interleave
// on the shared connection: every Subscribe must still return only once
// the channel is really subscribed (its own message, published right
// after, arrives), and in the end nothing is left subscribed or open.
func TestChurnOnOneChannel(t *testing.T) {
	r := redistest.Start(t)
	admin := r.Client(t)
	bus := redisbus.New(r.Client(t))
	const workers, rounds = 6, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				if err := subscribeAndHear(bus, "churn", fmt.Sprintf("%d-%d", w, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitfor.True(t, 10*time.Second, "no Pub/Sub connection left once every subscription ended",
		func() bool { return pubsubClients(t, admin) == 0 })
}

// subscribeAndHear subscribes to channel, publishes payload and waits for
// it, then cancels.
func subscribeAndHear(bus *redisbus.Bus, channel, payload string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heard := make(chan struct{})
	var once sync.Once
	err := bus.Subscribe(ctx, []string{channel}, func(m ports.Message) {
		if string(m.Payload) == payload {
			once.Do(func() { close(heard) })
		}
	}, nil)
	if err != nil {
		return err
	}
	if err := bus.Publish(ctx, channel, []byte(payload)); err != nil {
		return err
	}
	select {
	case <-heard:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: published right after Subscribe returned, never arrived", payload)
	}
}

// TestSubscribeReturnsOnlyOnceConfirmed freezes Redis after the bus's
// connection is up, so that a new channel's SUBSCRIBE is sent but not
// answered: Subscribe must still be waiting once the command has gone out
// (returning on the write alone could miss a message published right
// after), and return once Redis, thawed, confirms.
func TestSubscribeReturnsOnlyOnceConfirmed(t *testing.T) {
	r := redistest.Start(t)
	client := r.Client(t)
	const channel = "not-yet-confirmed"
	sent := &writeWatcher{needle: []byte(channel)}
	client.AddHook(sent)
	bus := redisbus.New(client)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := bus.Subscribe(ctx, []string{"first"}, func(ports.Message) {}, nil); err != nil {
		t.Fatal(err)
	}

	thaw := r.FreezeUntilThawed(t)
	arrived := make(chan struct{}, 1)
	subscribed := make(chan error, 1)
	go func() {
		subscribed <- bus.Subscribe(ctx, []string{channel}, func(ports.Message) { arrived <- struct{}{} }, nil)
	}()
	waitfor.True(t, 10*time.Second, "the SUBSCRIBE was sent", sent.seen.Load)
	select {
	case err := <-subscribed:
		t.Fatalf("Subscribe returned (%v) before Redis confirmed the channel", err)
	default:
	}
	thaw()
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Subscribe did not return after Redis confirmed")
	}
	if err := redisbus.New(r.Client(t)).Publish(ctx, channel, []byte("x")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, arrived, "the message published after Subscribe returned")
}

// writeWatcher is a go-redis hook that notes when a connection of the
// client writes needle.
type writeWatcher struct {
	needle []byte
	seen   atomic.Bool
}

func (w *writeWatcher) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &watchedConn{Conn: c, w: w}, nil
	}
}

func (w *writeWatcher) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (w *writeWatcher) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

type watchedConn struct {
	net.Conn
	w *writeWatcher
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if bytes.Contains(p[:n], c.w.needle) {
		c.w.seen.Store(true)
	}
	return n, err
}
