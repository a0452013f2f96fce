package redisconn

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// NewFailoverClient builds a client of the master that o.Sentinels watch
// under o.MasterName, whatever o.Cluster says.
//
// How it follows a failover (go-redis's failover client): every new
// connection first asks a Sentinel for the master's address, and the
// client listens to the Sentinels' +switch-master announcement, on which it
// closes its connections to the old master, so the next command dials the
// new one. Commands in flight on the old master at that moment fail (the
// callers hear "unavailable" and may retry); the breaker (breaker.go) makes
// the ones that follow fail at once until the new master answers, instead
// of each waiting out ReadTimeout on a frozen one.
func NewFailoverClient(o Options) (*redis.Client, error) {
	opt, err := o.failoverOptions()
	if err != nil {
		return nil, err
	}
	c := redis.NewFailoverClient(opt)
	guard(c)
	return c, nil
}

func (o Options) failoverOptions() (*redis.FailoverOptions, error) {
	if len(o.Sentinels) == 0 {
		return nil, fmt.Errorf("%w: no Sentinel addresses", ErrBadOptions)
	}
	if strings.TrimSpace(o.MasterName) == "" {
		return nil, fmt.Errorf("%w: Sentinels need the master's name (REDIS_MASTER_NAME)", ErrBadOptions)
	}
	addrs := make([]string, 0, len(o.Sentinels))
	for _, a := range o.Sentinels {
		a = strings.TrimSpace(a)
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: Sentinel address %q is not host:port", ErrBadOptions, a)
		}
		addrs = append(addrs, a)
	}
	return &redis.FailoverOptions{
		MasterName:       strings.TrimSpace(o.MasterName),
		SentinelAddrs:    addrs,
		SentinelPassword: o.SentinelPassword,
		Password:         o.Password,
		Dialer:           o.Dialer,
		// The same fail-fast timeouts as a plain client; they apply to the
		// Sentinels too, so a dead Sentinel costs one DialTimeout before
		// the next one is asked.
		DialTimeout:           DialTimeout,
		DialerRetries:         DialAttempts,
		ReadTimeout:           ReadTimeout,
		WriteTimeout:          WriteTimeout,
		PoolTimeout:           PoolTimeout,
		MaxRetries:            MaxRetries,
		ContextTimeoutEnabled: true,
	}, nil
}
