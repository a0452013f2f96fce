package redistest

import (
	"context"
	"sync"
	"testing"
	"time"

	dockerclient "github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// Stop stops the container (Redis shuts down cleanly, flushing its
// append-only file); clients then get connection errors until Start.
func (r *Redis) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout+5*time.Second)
	defer cancel()
	timeout := stopTimeout
	if err := r.container.Stop(ctx, &timeout); err != nil {
		t.Fatalf("redistest: stop Redis: %v", err)
	}
}

// Start starts a stopped container again, on the same host port and with the
// data it had, and returns once Redis answers PING (it replays its
// append-only file first).
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := r.container.Start(ctx); err != nil {
		t.Fatalf("redistest: restart Redis: %v", err)
	}
	if err := r.waitReady(ctx); err != nil {
		t.Fatalf("redistest: Redis not ready after restart: %v", err)
	}
}

// Kill ends Redis with SIGKILL, as the kernel's OOM killer or a crashed
// node would: no clean shutdown, no final flush. Start brings it back with
// what its append-only file holds. Redis writes the file before it replies,
// so every acknowledged write survives a process kill; only a crash of the
// machine itself can lose the last second (appendfsync everysec).
func (r *Redis) Kill(t testing.TB) {
	t.Helper()
	r.dockerCall(t, "kill", func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerKill(ctx, id, dockerclient.ContainerKillOptions{Signal: "KILL"})
		return err
	})
}

// Pause freezes Redis without closing anything: connections stay open and
// new ones are even accepted, but nothing is answered, as when the network
// silently drops packets. Only a client's own timeouts notice.
func (r *Redis) Pause(t testing.TB) {
	t.Helper()
	r.dockerCall(t, "pause", func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerPause(ctx, id, dockerclient.ContainerPauseOptions{})
		return err
	})
}

// Unpause lets a paused Redis carry on.
func (r *Redis) Unpause(t testing.TB) {
	t.Helper()
	r.dockerCall(t, "unpause", func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerUnpause(ctx, id, dockerclient.ContainerUnpauseOptions{})
		return err
	})
}

// dockerCall runs one Docker API call on the container, for the outages
// testcontainers has no method for, and fails the test if it fails.
func (r *Redis) dockerCall(t testing.TB, what string, call func(context.Context, *testcontainers.DockerClient, string) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatalf("redistest: %s: docker client: %v", what, err)
	}
	defer dc.Close()
	if err := call(ctx, dc, r.container.GetContainerID()); err != nil {
		t.Fatalf("redistest: %s: %v", what, err)
	}
}

// Freeze stops Redis with SIGSTOP: a master that hangs without closing
// anything (a stalled machine, a debugger, a long swap). The kernel still
// accepts connections and buffers what clients send; Redis runs it all
// when Thaw wakes it.
func (r *Redis) Freeze(t testing.TB) { r.signal(t, "STOP") }

// Thaw wakes a frozen Redis with SIGCONT.
func (r *Redis) Thaw(t testing.TB) { r.signal(t, "CONT") }

// FreezeUntilThawed is Freeze, with the Thaw it returns also run when the
// test ends (a frozen container would not stop in time); calling it more
// than once thaws once.
func (r *Redis) FreezeUntilThawed(t testing.TB) (thaw func()) {
	t.Helper()
	r.Freeze(t)
	var once sync.Once
	thaw = func() { once.Do(func() { r.Thaw(t) }) }
	t.Cleanup(thaw)
	return thaw
}

func (r *Redis) signal(t testing.TB, sig string) {
	t.Helper()
	r.dockerCall(t, "signal "+sig, func(ctx context.Context, dc *testcontainers.DockerClient, id string) error {
		_, err := dc.ContainerKill(ctx, id, dockerclient.ContainerKillOptions{Signal: sig})
		return err
	})
}

// StartWith runs a Redis container for this test alone, with extra
// redis-server flags (such as "--appendfsync", "everysec"), and
// terminates it when the test ends.
func StartWith(t testing.TB, args ...string) *Redis {
	t.Helper()
	return startForTest(t, node{args: args})
}
