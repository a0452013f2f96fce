package redisbus_test

import (
	"context"
	"errors"
	"net"
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

// TestOutage restarts Redis under a subscription: Publish fails fast with
// ErrUnavailable meanwhile, the subscription comes back by itself, says so
// through resubscribed, and receives what is published afterwards.
func TestOutage(t *testing.T) {
	r := redistest.Start(t)
	pub, sub := redisbus.New(r.Client(t)), redisbus.New(r.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var got []string
	arrived := make(chan struct{}, 100)
	resubscribed := make(chan struct{}, 10)
	err := sub.Subscribe(ctx, []string{"outage"}, func(m ports.Message) {
		mu.Lock()
		got = append(got, string(m.Payload))
		mu.Unlock()
		arrived <- struct{}{}
	}, func() { resubscribed <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "outage", []byte("before")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, arrived, "the message published before the outage")

	r.Stop(t)
	start := time.Now()
	if err := pub.Publish(ctx, "outage", []byte("lost")); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("Publish while Redis is down: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Publish took %v to fail", d)
	}
	select {
	case <-resubscribed:
		t.Fatal("resubscribed called while Redis is down")
	default:
	}

	r.Start(t)
	waitFor(t, resubscribed, "resubscribed after the restart")
	if err := pub.Publish(ctx, "outage", []byte("after")); err != nil {
		t.Fatalf("Publish after the restart: %v", err)
	}
	waitFor(t, arrived, "the message published after the restart")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "before" || got[1] != "after" {
		t.Errorf("received %q, want [before after]", got)
	}
	select {
	case <-resubscribed:
		t.Error("resubscribed called twice for one outage")
	default:
	}
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
