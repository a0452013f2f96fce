package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Redis replicates asynchronously: the master answers a write before any
// replica has it, so a master that dies a moment later takes the write
// with it, and Sentinel promotes a replica that never saw it. With
// Replicas set, the store acknowledges a write only once that many
// replicas confirmed it: the write script and WAIT go out together in one
// pipeline, on one connection, so WAIT waits for exactly the replication
// offset the script reached (WAIT counts on the connection that made the
// write). Fewer confirmations within Timeout, and the caller hears
// ports.ErrUnavailable although the master applied the write: its outcome
// is unknown. It may survive (the replicas were only slow) and then
// reaches every client through the normal broadcast, or it may be lost in
// a failover; either way nothing the writer was told succeeded is lost.

// WaitOptions ask for replica confirmations of every write.
type WaitOptions struct {
	Replicas int           // 0: acknowledge once the master has the write
	Timeout  time.Duration // how long to wait for them (Replicas > 0)
}

// MaxWaitTimeout bounds WaitOptions.Timeout: the script and WAIT share one
// read timeout (redisconn.ReadTimeout), and the script's deadline is moved
// earlier by the wait (see clock.reserve), which must leave it time to run.
const MaxWaitTimeout = time.Second

// errWaitOnCluster refuses WAIT through a cluster client, which sends a
// command without a key to any node rather than the one that wrote.
var errWaitOnCluster = errors.New("redisstore: waiting for replicas needs a single master (a plain or Sentinel client), not a Redis Cluster client")

func (w WaitOptions) check(client redis.UniversalClient) error {
	switch {
	case w.Replicas < 0:
		return fmt.Errorf("redisstore: %d replicas to wait for", w.Replicas)
	case w.Replicas == 0:
		return nil
	case w.Timeout <= 0 || w.Timeout > MaxWaitTimeout:
		return fmt.Errorf("redisstore: a wait for replicas of %s; want more than 0 and at most %s", w.Timeout, MaxWaitTimeout)
	}
	if _, ok := client.(*redis.ClusterClient); ok {
		return errWaitOnCluster
	}
	return nil
}

// write runs a write script and, when the store waits for replicas, WAIT
// after it on the same connection. cmd is the script's reply, to be read as
// before; unconfirmed is non-nil when the script succeeded but too few
// replicas confirmed it.
func (s *Store) write(ctx context.Context, script *redis.Script, args ...any) (cmd *redis.Cmd, unconfirmed error) {
	if s.wait.Replicas == 0 {
		return script.Run(ctx, s.client, s.scriptKeys, args...), nil
	}
	cmd, wait := s.writeAndWait(ctx, script, true, args)
	if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
		// A Redis that restarted or was just promoted has no scripts
		// cached: send the text. WAIT then ran after a refused EVALSHA,
		// which wrote nothing; the second WAIT is the one that counts.
		cmd, wait = s.writeAndWait(ctx, script, false, args)
	}
	if cmd.Err() != nil {
		return cmd, nil
	}
	got, err := wait.Result()
	if err != nil {
		return cmd, fmt.Errorf("%w: redisstore: the master applied the write but WAIT failed, so its outcome is unknown: %w", ports.ErrUnavailable, redisconn.WrapUnavailable("wait for replicas", err))
	}
	if got < int64(s.wait.Replicas) {
		return cmd, fmt.Errorf("%w: redisstore: %d of the %d replicas asked for confirmed the write within %s; it may still appear or be lost in a failover", ports.ErrUnavailable, got, s.wait.Replicas, s.wait.Timeout)
	}
	return cmd, nil
}

func (s *Store) writeAndWait(ctx context.Context, script *redis.Script, bySHA bool, args []any) (*redis.Cmd, *redis.IntCmd) {
	var cmd *redis.Cmd
	var wait *redis.IntCmd
	// The pipeline's own error is one of the commands'; each is read below.
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if bySHA {
			cmd = script.EvalSha(ctx, p, s.scriptKeys, args...)
		} else {
			cmd = script.Eval(ctx, p, s.scriptKeys, args...)
		}
		// Pipeliner lacks Wait; the command is the same.
		wait = redis.NewIntCmd(ctx, "wait", s.wait.Replicas, s.wait.Timeout.Milliseconds())
		_ = p.Process(ctx, wait)
		return nil
	})
	return cmd, wait
}
