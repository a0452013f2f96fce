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
		{URL: "redis://cache:6379/1/2"},
		{URL: "::::"},
		{Port: -1},
		{Port: 70000},
		{Host: "a b"},
	} {
		_, err := New(in)
		if !errors.Is(err, ErrBadOptions) {
			t.Errorf("New(%+v) err = %v, want ErrBadOptions", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
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
