package redisconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/ports"
)

func TestOptionsChooseTheAddress(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       Options
		addr     string
		password string
		db       int
	}{
		{"defaults", Options{}, "localhost:6379", "", 0},
		{"host and port", Options{Host: "redis", Port: 6380, Password: "pw"}, "redis:6380", "pw", 0},
		{"url wins over host", Options{URL: "redis://:secret@cache:7000/2", Host: "ignored", Port: 1}, "cache:7000", "secret", 2},
		{"url without port", Options{URL: "redis://cache"}, "cache:6379", "", 0},
		{"url with spaces", Options{URL: "  redis://cache:1234  "}, "cache:1234", "", 0},
		{"ipv6 host", Options{Host: "::1", Port: 6379}, "[::1]:6379", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := tc.in.clientOptions()
			if err != nil {
				t.Fatalf("clientOptions: %v", err)
			}
			if opt.Addr != tc.addr || opt.Password != tc.password || opt.DB != tc.db {
				t.Errorf("got addr %q password %q db %d; want %q %q %d", opt.Addr, opt.Password, opt.DB, tc.addr, tc.password, tc.db)
			}
		})
	}
}

func TestOptionsSetFailFastTimeouts(t *testing.T) {
	for _, in := range []Options{{}, {URL: "redis://cache:7000"}} {
		opt, err := in.clientOptions()
		if err != nil {
			t.Fatal(err)
		}
		if opt.DialTimeout != DialTimeout || opt.ReadTimeout != ReadTimeout || opt.WriteTimeout != WriteTimeout ||
			opt.PoolTimeout != PoolTimeout || opt.MaxRetries != MaxRetries || opt.DialerRetries != DialAttempts || !opt.ContextTimeoutEnabled {
			t.Errorf("%+v: timeouts not applied: dial %v read %v write %v pool %v retries %d dials %d ctx %v", in,
				opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout, opt.MaxRetries, opt.DialerRetries, opt.ContextTimeoutEnabled)
		}
	}
}

func TestOptionsRejectBadInput(t *testing.T) {
	for _, in := range []Options{
		{URL: "http://cache:6379"},
		{URL: "redis://:hunter2@cache:6379/notanumber"},
		{URL: "  redis://:hunter2@cache:6379/notanumber  "},
		{URL: "redis://cache:6379/1/2"},
		{URL: "::::"},
		{URL: "redis://:hunter2@cache:port"},
		{Port: -1},
		{Port: 70000},
		{Host: "a b"},
		{Cluster: true, URL: "http://:hunter2@cache:6379"},
		{Cluster: true, URL: "redis://:hunter2@cache:6379?addr=cache2"},
		{Cluster: true, URL: "redis://:hunter2@cache:6379?addr=:7000"},
		{Cluster: true, URL: "redis://:hunter2@cache:6379?adr=cache2:7000"},
		{Cluster: true, URL: "redis://:hunter2@cache:6379/2"},
		{Cluster: true, URL: "redis://:hunter2@cache:port?addr=cache2:7000"},
		{Cluster: true, URL: "redis://:hunt@er2@cache:x"},
		{Cluster: true, Port: 70000},
		{Cluster: true, Host: "a/b"},
	} {
		_, err := New(in)
		if !errors.Is(err, ErrBadOptions) {
			t.Errorf("New(%+v) err = %v, want ErrBadOptions", in, err)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "er2")) {
			t.Errorf("New(%+v): error leaks the password: %v", in, err)
		}
	}
}

// TestRedactionDoesNotNeedTheExactURL: a message may quote the URL in
// another form than it was given (decoded, re-encoded); credentials go
// anyway.
func TestRedactionDoesNotNeedTheExactURL(t *testing.T) {
	msg := redactedReason(errors.New(`parse "rediss://app:hunter2@cache:6379/x": bad`), "redis://app:hunter%32@cache:6379/x")
	if strings.Contains(msg, "hunter2") || !strings.Contains(msg, "cache:6379") {
		t.Errorf("redacted message %q", msg)
	}
}

// TestSeveralAddressesNeedClusterMode: a cluster URL given without
// REDIS_CLUSTER is refused with a message that says what is missing.
func TestSeveralAddressesNeedClusterMode(t *testing.T) {
	_, err := New(Options{URL: "redis://:hunter2@cache:7000?addr=cache2:7000"})
	if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), "REDIS_CLUSTER=true") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want ErrBadOptions naming REDIS_CLUSTER=true, without the password", err)
	}
}

func TestClusterOptionsChooseTheSeeds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       Options
		addrs    []string
		username string
		password string
		tls      bool
	}{
		{"defaults", Options{Cluster: true}, []string{"localhost:6379"}, "", "", false},
		{"host and port", Options{Cluster: true, Host: "redis-0", Port: 7000, Password: "pw"}, []string{"redis-0:7000"}, "", "pw", false},
		{"url with seeds", Options{Cluster: true, URL: " redis://app:secret@redis-0:7000?addr=redis-1:7001&addr=10.0.0.3:7002 ", Host: "ignored"},
			[]string{"redis-0:7000", "redis-1:7001", "10.0.0.3:7002"}, "app", "secret", false},
		{"url with database 0", Options{Cluster: true, URL: "redis://redis-0/0"}, []string{"redis-0:6379"}, "", "", false},
		{"tls", Options{Cluster: true, URL: "rediss://redis-0:7000?addr=[::1]:7001"}, []string{"redis-0:7000", "[::1]:7001"}, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := tc.in.clusterOptions()
			if err != nil {
				t.Fatalf("clusterOptions: %v", err)
			}
			if strings.Join(opt.Addrs, " ") != strings.Join(tc.addrs, " ") || opt.Username != tc.username || opt.Password != tc.password || (opt.TLSConfig != nil) != tc.tls {
				t.Errorf("got addrs %q user %q password %q tls %v; want %q %q %q %v",
					opt.Addrs, opt.Username, opt.Password, opt.TLSConfig != nil, tc.addrs, tc.username, tc.password, tc.tls)
			}
			if opt.DialTimeout != DialTimeout || opt.ReadTimeout != ReadTimeout || opt.WriteTimeout != WriteTimeout ||
				opt.PoolTimeout != PoolTimeout || opt.DialerRetries != DialAttempts || !opt.ContextTimeoutEnabled ||
				opt.MaxRedirects != ClusterMaxRedirects || opt.MaxRetries != -1 || opt.ClusterStateReloadInterval != ClusterStateReload {
				t.Errorf("timeouts not applied: %+v", opt)
			}
		})
	}
}

func TestNewBuildsTheKindAsked(t *testing.T) {
	c, err := New(Options{Host: "cache"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*redis.Client); !ok {
		t.Errorf("without Cluster New built a %T", c)
	}
	cc, err := New(Options{Cluster: true, URL: "redis://cache:7000?addr=cache:7001"})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, ok := cc.(*redis.ClusterClient); !ok {
		t.Errorf("with Cluster New built a %T", cc)
	}
}

// TestDeadClusterFailsFast: with no seed answering, a cluster client fails
// as fast as a plain one, and unavailable, not a bug.
func TestDeadClusterFailsFast(t *testing.T) {
	var seeds []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, l.Addr().String())
		l.Close()
	}
	c, err := New(Options{Cluster: true, URL: "redis://" + seeds[0] + "?addr=" + seeds[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = WrapUnavailable("set", c.Set(context.Background(), "{canvas}:seq", 1, 0).Err())
	if !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("write to a dead cluster: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("failing took %v; want well under the read/dial timeouts", d)
	}
}

// TestDeadRedisFailsFast dials a port nobody listens on: the call must fail
// quickly and be classified as unavailable.
func TestDeadRedisFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // now nothing listens there

	c, err := New(Options{Host: "127.0.0.1", Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = WrapUnavailable("ping", c.Ping(context.Background()).Err())
	if !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("ping of a closed port: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("failing took %v; want well under the read/dial timeouts", d)
	}
}

// TestHungRedisTimesOut accepts connections but never answers, like a Redis
// frozen by a long script or a black-holed network: the client must give up
// after its read timeout instead of waiting forever.
func TestHungRedisTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() { // swallow everything, answer nothing
				defer conn.Close()
				go func() { <-done; conn.Close() }()
				_, _ = io.Copy(io.Discard, conn)
			}()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	c, err := New(Options{Host: "127.0.0.1", Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = WrapUnavailable("ping", c.Ping(context.Background()).Err())
	if !errors.Is(err, ports.ErrUnavailable) {
		t.Fatalf("ping of a silent server: %v, want ErrUnavailable", err)
	}
	// At most (1 + MaxRetries) read timeouts plus a little backoff.
	if d, limit := time.Since(start), time.Duration(1+MaxRetries)*ReadTimeout+time.Second; d > limit {
		t.Errorf("failing took %v, want under %v", d, limit)
	}
}

func TestWrapUnavailableClassifies(t *testing.T) {
	netErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"network", netErr, true},
		{"eof", io.EOF, true},
		{"closed client", redis.ErrClosed, true},
		{"deadline", context.DeadlineExceeded, true},
		{"loading", fmt.Errorf("x: %w", redisReply("LOADING Redis is loading the dataset in memory")), true},
		{"busy script", redisReply("BUSY Redis is busy running a script"), true},
		{"oom", redisReply("OOM command not allowed when used memory > 'maxmemory'"), true},
		{"wrong type is a bug", redisReply("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"script error is a bug", redisReply("ERR user_script:1: Script attempted to access nonexistent global variable"), false},
		{"nil reply", redis.Nil, false},
		{"caller cancelled", context.Canceled, false},
	} {
		got := WrapUnavailable("op", tc.err)
		if errors.Is(got, ports.ErrUnavailable) != tc.unavailable {
			t.Errorf("%s: %v unavailable = %v, want %v", tc.name, got, !tc.unavailable, tc.unavailable)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: the original error is lost: %v", tc.name, got)
		}
	}
	if WrapUnavailable("op", nil) != nil {
		t.Error("nil must stay nil")
	}
	once := WrapUnavailable("op", io.EOF)
	if twice := WrapUnavailable("outer", once); twice != once {
		t.Errorf("wrapping twice changed the error: %v", twice)
	}
}

// redisReply is an error reply as go-redis returns it.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}
