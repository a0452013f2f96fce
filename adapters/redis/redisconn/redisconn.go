// Package redisconn builds the go-redis client every Redis adapter shares,
// from the apps' configuration (REDIS_URL, or the old system's REDIS_HOST,
// REDIS_PORT and REDIS_PASSWORD; REDIS_CLUSTER for a Redis Cluster;
// REDIS_SENTINELS and REDIS_MASTER_NAME for a master watched by Sentinel),
// with timeouts chosen so that a dead or unreachable Redis makes calls fail
// within a few seconds instead of hanging the clients waiting on them, and a
// breaker that refuses calls at once while a frozen Redis would make each
// wait (breaker.go). It also classifies errors: anything that means "Redis
// is not there right now" is wrapped with ports.ErrUnavailable.
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
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
	// ClusterMaxRedirects bounds how often a cluster client follows a
	// redirect or retries a failed node for one command. Two follow a MOVED
	// and then an ASK (a slot that moved and is still migrating); against a
	// dead node they make three attempts, 6 s, against the standalone
	// client's two. go-redis's cluster default (3) would make it 8 s, and its
	// node clients must not retry on their own (MaxRetries stays -1 there),
	// or the two loops would multiply.
	ClusterMaxRedirects = 2
	// ClusterStateReload is how old a cluster client's slot map may get
	// before the next command has it fetched again (in the background,
	// from any reachable node). go-redis refreshes the map on MOVED, ASK and
	// READONLY replies only, which a dead master never sends: with its
	// default (60 s) a client keeps sending to a killed master for up to a
	// minute after its replica has taken over. Two seconds adds at most
	// that to a failover, for one CLUSTER SLOTS per busy client every two
	// seconds.
	ClusterStateReload = 2 * time.Second
)

// Options is where Redis is. URL wins when set; otherwise Host and Port
// (defaulting to DefaultHost and DefaultPort) and Password are used.
//
// With Cluster set Redis is a Redis Cluster: the address (or addresses) are
// only seeds from which the client learns which node serves which slot, and
// it follows MOVED and ASK redirects. URL may then name further seeds,
// redis://[:password@]host:port?addr=host2:port2&addr=host3:port3, so the
// client starts even while one seed is down. A cluster has database 0 only.
//
// With Sentinels set, Redis is a master and its replicas watched by Redis
// Sentinel: the client asks the Sentinels where the master called
// MasterName is, dials it, and follows every failover they announce (see
// sentinel.go). URL, Host and Port are then unused; Password is the
// master's (and its replicas'), SentinelPassword the Sentinels' own.
type Options struct {
	URL      string // redis://[:password@]host:port/db or rediss://...
	Host     string
	Port     int
	Password string
	Cluster  bool

	Sentinels        []string // host:port of each Sentinel
	MasterName       string
	SentinelPassword string

	// Dialer, when set, opens every connection to Redis (not to the
	// Sentinels) instead of a plain TCP dial: tests put a proxy they can
	// cut between the client and the master through it.
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ErrBadOptions reports a Redis address that cannot be used.
var ErrBadOptions = errors.New("redisconn: invalid Redis address")

// New builds the client the options call for: a cluster client when
// o.Cluster is set, a Sentinel-guided client of the current master when
// o.Sentinels is, a single-server client otherwise. It does not dial:
// go-redis connects lazily, so an app can start while Redis is still coming
// up and its readiness probe tells.
func New(o Options) (redis.UniversalClient, error) {
	switch {
	case o.Cluster && len(o.Sentinels) > 0:
		return nil, fmt.Errorf("%w: Sentinels and a Redis Cluster exclude each other", ErrBadOptions)
	case o.Cluster:
		return NewClusterClient(o)
	case len(o.Sentinels) > 0:
		return NewFailoverClient(o)
	}
	return NewClient(o)
}

// NewClient builds a client of one Redis server, whatever o.Cluster says.
// It fails fast while that server is frozen (see breaker.go).
func NewClient(o Options) (*redis.Client, error) {
	opt, err := o.clientOptions()
	if err != nil {
		return nil, err
	}
	if o.Dialer != nil {
		opt.Dialer = o.Dialer
	}
	c := redis.NewClient(opt)
	guard(c)
	return c, nil
}

// NewClusterClient builds a Redis Cluster client, whatever o.Cluster says.
func NewClusterClient(o Options) (*redis.ClusterClient, error) {
	opt, err := o.clusterOptions()
	if err != nil {
		return nil, err
	}
	return redis.NewClusterClient(opt), nil
}

func (o Options) clientOptions() (*redis.Options, error) {
	var opt *redis.Options
	if raw := strings.TrimSpace(o.URL); raw != "" {
		parsed, err := redis.ParseURL(raw)
		if err != nil {
			hint := ""
			if u, uerr := url.Parse(raw); uerr == nil && u.Query().Has("addr") {
				hint = "; several addresses (?addr=) need REDIS_CLUSTER=true"
			}
			return nil, fmt.Errorf("%w: REDIS_URL must look like redis://[:password@]host:port/db (%s)%s", ErrBadOptions, redactedReason(err, o.URL), hint)
		}
		opt = parsed
	} else {
		addr, err := o.hostPort()
		if err != nil {
			return nil, err
		}
		opt = &redis.Options{Addr: addr, Password: o.Password}
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

func (o Options) clusterOptions() (*redis.ClusterOptions, error) {
	var opt *redis.ClusterOptions
	if raw := strings.TrimSpace(o.URL); raw != "" {
		parsed, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: with REDIS_CLUSTER, REDIS_URL must look like redis://[:password@]host:port?addr=host2:port2 (%s)", ErrBadOptions, redactedReason(err, o.URL))
		}
		// ParseClusterURL ignores the path: a URL asking for database 2
		// would silently get database 0, the only one a cluster has.
		if u, err := url.Parse(raw); err == nil && strings.Trim(u.Path, "/") != "" && strings.Trim(u.Path, "/") != "0" {
			return nil, fmt.Errorf("%w: a Redis Cluster has database 0 only, REDIS_URL asks for %q", ErrBadOptions, strings.Trim(u.Path, "/"))
		}
		opt = parsed
	} else {
		addr, err := o.hostPort()
		if err != nil {
			return nil, err
		}
		opt = &redis.ClusterOptions{Addrs: []string{addr}, Password: o.Password}
	}
	opt.DialTimeout = DialTimeout
	opt.DialerRetries = DialAttempts
	opt.ReadTimeout = ReadTimeout
	opt.WriteTimeout = WriteTimeout
	opt.PoolTimeout = PoolTimeout
	opt.MaxRetries = -1
	opt.MaxRedirects = ClusterMaxRedirects
	opt.ClusterStateReloadInterval = ClusterStateReload
	opt.ContextTimeoutEnabled = true
	return opt, nil
}

func (o Options) hostPort() (string, error) {
	host := strings.TrimSpace(o.Host)
	if host == "" {
		host = DefaultHost
	}
	port := o.Port
	if port == 0 {
		port = DefaultPort
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("%w: port %d is not in 1..65535", ErrBadOptions, o.Port)
	}
	if strings.ContainsAny(host, "/ ") {
		return "", fmt.Errorf("%w: host %q", ErrBadOptions, host)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// userinfo matches the user:password@ part of a URL quoted in a message.
var userinfo = regexp.MustCompile(`://[^\s"'/]*@`)

// redactedReason is err's message without the URL or any credentials in it:
// go-redis's and net/url's messages may quote the URL, password included,
// and the message ends up in logs.
func redactedReason(err error, rawURL string) string {
	msg := err.Error()
	for _, u := range []string{rawURL, strings.TrimSpace(rawURL)} {
		if u != "" {
			msg = strings.ReplaceAll(msg, u, "<url>")
		}
	}
	return userinfo.ReplaceAllString(msg, "://<redacted>@")
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
	// A redirect still there after the cluster client's own redirects means
	// slots are moving right now; a later try lands on the new owner.
	if _, ok := redis.IsMovedError(reply); ok {
		return true
	}
	if _, ok := redis.IsAskError(reply); ok {
		return true
	}
	// A script or command still running blocks every client until it ends.
	return redis.HasErrorPrefix(reply, "BUSY")
}
