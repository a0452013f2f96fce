// Package redisconn builds the go-redis client every Redis adapter shares,
// from the apps' configuration (REDIS_URL, or the old system's REDIS_HOST,
// REDIS_PORT and REDIS_PASSWORD), with timeouts chosen so that a dead or
// unreachable Redis makes calls fail within a few seconds instead of hanging
// the clients waiting on them. It also classifies errors: anything that means
// "Redis is not there right now" is wrapped with ports.ErrUnavailable.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/ports"
)

// Defaults for the old system's variables, used when no URL is given.
const (
	DefaultHost = "localhost"
	DefaultPort = 6379
)

// Timeouts. A pixel write is one short script and a snapshot of the largest
// canvas is 48 MiB on a local network, so two seconds is generous for a
// healthy Redis, yet short enough that a write during an outage is refused
// (and the user told) well before they give up on it. go-redis's defaults
// (5 s dials, each retried five times, and three command retries) would let
// one call hang for over a minute against a black-holed address.
const (
	DialTimeout  = 2 * time.Second
	ReadTimeout  = 2 * time.Second
	WriteTimeout = 2 * time.Second
	// PoolTimeout bounds the wait for a free connection when the pool is
	// exhausted; a little over ReadTimeout so a busy but healthy pool drains.
	PoolTimeout = 3 * time.Second
	// MaxRetries is one retry, which hides a connection that went stale
	// across a Redis restart. More would only delay the failure; note that a
	// retried write whose reply was lost may apply twice, which
	// last-write-wins makes harmless.
	MaxRetries = 1
	// DialAttempts is how often one dial is tried before the command fails.
	DialAttempts = 1
)

// Options is where Redis is. URL wins when set; otherwise Host and Port
// (defaulting to DefaultHost and DefaultPort) and Password are used.
type Options struct {
	URL      string // redis://[:password@]host:port/db or rediss://...
	Host     string
	Port     int
	Password string
}

// ErrBadOptions reports a Redis address that cannot be used.
var ErrBadOptions = errors.New("redisconn: invalid Redis address")

// New builds a client. It does not dial: go-redis connects lazily, so an app
// can start while Redis is still coming up and its readiness probe tells.
func New(o Options) (*redis.Client, error) {
	opt, err := o.clientOptions()
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opt), nil
}

func (o Options) clientOptions() (*redis.Options, error) {
	var opt *redis.Options
	if strings.TrimSpace(o.URL) != "" {
		parsed, err := redis.ParseURL(strings.TrimSpace(o.URL))
		if err != nil {
			// go-redis's message may quote the URL, password included.
			return nil, fmt.Errorf("%w: REDIS_URL must look like redis://[:password@]host:port/db (%s)", ErrBadOptions, redactedReason(err, o.URL))
		}
		opt = parsed
	} else {
		host := strings.TrimSpace(o.Host)
		if host == "" {
			host = DefaultHost
		}
		port := o.Port
		if port == 0 {
			port = DefaultPort
		}
		if port < 1 || port > 65535 {
			return nil, fmt.Errorf("%w: port %d is not in 1..65535", ErrBadOptions, o.Port)
		}
		if strings.ContainsAny(host, "/ ") {
			return nil, fmt.Errorf("%w: host %q", ErrBadOptions, host)
		}
		opt = &redis.Options{
			Addr:     net.JoinHostPort(host, strconv.Itoa(port)),
			Password: o.Password,
		}
	}
	opt.DialTimeout = DialTimeout
	opt.DialerRetries = DialAttempts
	opt.ReadTimeout = ReadTimeout
	opt.WriteTimeout = WriteTimeout
	opt.PoolTimeout = PoolTimeout
	opt.MaxRetries = MaxRetries
	// Let a caller's shorter deadline (a request's) cut a call short too.
	opt.ContextTimeoutEnabled = true
	return opt, nil
}

func redactedReason(err error, url string) string {
	msg := err.Error()
	if url != "" {
		msg = strings.ReplaceAll(msg, url, "<url>")
	}
	return msg
}

// WrapUnavailable wraps err with ports.ErrUnavailable when it means Redis
// cannot serve requests now (connection refused or reset, timeouts, a closed
// client, Redis loading its data, a replica that cannot take writes, out of
// memory, wrong credentials...), so inbound adapters answer "unavailable"
// and callers may retry. redis.Nil, a caller's cancellation and Redis
// replies that mean a bug on our side are returned as they are. op names the
// operation for the message.
func WrapUnavailable(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ports.ErrUnavailable) || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return err
	}
	// Redis answered: only some answers mean "not now" rather than a bug.
	if reply := redis.Error(nil); errors.As(err, &reply) && !replyMeansUnavailable(reply) {
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%w: %s: %w", ports.ErrUnavailable, op, err)
}

func replyMeansUnavailable(reply redis.Error) bool {
	if redis.IsLoadingError(reply) || redis.IsReadOnlyError(reply) || redis.IsClusterDownError(reply) ||
		redis.IsTryAgainError(reply) || redis.IsMasterDownError(reply) || redis.IsMaxClientsError(reply) ||
		redis.IsOOMError(reply) || redis.IsNoReplicasError(reply) || redis.IsAuthError(reply) {
		return true
	}
	// A script or command still running blocks every client until it ends.
	return redis.HasErrorPrefix(reply, "BUSY")
}
