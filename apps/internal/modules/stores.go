package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membudget"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/mempresence"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/ops"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbudget"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redispresence"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Backend names what /health reports for the store ("embedded" or
// "redis").
type Backend string

// openTimeout bounds opening a store at start-up: a Redis that does not
// answer fails the start (and Kubernetes restarts the pod) instead of
// hanging it.
const openTimeout = 10 * time.Second

// Embedded runs everything in this process: the durable embedded store, an
// in-process bus and presence.
func Embedded() fx.Option {
	return fx.Module("embedded",
		fx.Supply(Backend("embedded")),
		fx.Provide(
			fx.Annotate(membus.New, fx.As(new(ports.Bus))),
			fx.Annotate(mempresence.New, fx.As(new(ports.Presence))),
			// The store as itself too, for the checks below.
			fx.Annotate(openEmbedded, fx.As(fx.Self()), fx.As(new(ports.CanvasStore))),
			AsReadinessCheck(embeddedWriteCheck),
			AsHealthFields(embeddedWriteFields),
			newMemBudget,
		),
	)
}

func openEmbedded(lc fx.Lifecycle, cfg config.Config, bus ports.Bus, clock ports.Clock, log *slog.Logger) (*logstore.Store, error) {
	s, err := logstore.Open(logstore.Options{Dir: cfg.DataDir, Size: cfg.Size(), HistorySize: cfg.HistorySize, Bus: bus, Clock: clock, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open embedded store in %s: %w", cfg.DataDir, err)
	}
	log.Info("embedded store open", "dir", cfg.DataDir, "size", cfg.Size().String())
	lc.Append(fx.StopHook(s.Close))
	return s, nil
}

// storeWriteReason is why the embedded store refuses writes, "" when it
// takes them: "no space left on device" while the disk is full.
func storeWriteReason(s *logstore.Store) string {
	err := s.WriteHealth()
	if err == nil {
		return ""
	}
	var we *logstore.WriteError
	if errors.As(err, &we) {
		return we.Reason()
	}
	return err.Error()
}

// embeddedWriteCheck makes the app unready while the embedded store
// refuses writes (a full disk), so that traffic goes to replicas that can
// take it; it is ready again when the store is (see logstore's package doc
// for the failures only a restart ends). Ping, which /health and /ready
// also use, stays about reachability: reads still work.
func embeddedWriteCheck(s *logstore.Store) ops.Check {
	return func() string {
		if r := storeWriteReason(s); r != "" {
			return "store cannot write: " + r
		}
		return ""
	}
}

// embeddedWriteFields reports the same in /health as store_writes ("ok" or
// "refused: <reason>"). Liveness itself stays 200: restarting the process
// frees no disk.
func embeddedWriteFields(s *logstore.Store) ops.Fields {
	return func() map[string]any {
		state := "ok"
		if r := storeWriteReason(s); r != "" {
			state = "refused: " + r
		}
		return map[string]any{"store_writes": state}
	}
}

// Redis keeps the canvas, the bus and presence in Redis, shared by every
// replica.
func Redis() fx.Option {
	return fx.Module("redis",
		fx.Supply(Backend("redis")),
		fx.Provide(
			newRedisClient,
			fx.Annotate(redisbus.New, fx.As(new(ports.Bus))),
			fx.Annotate(redispresence.New, fx.As(new(ports.Presence))),
			fx.Annotate(openRedisStore, fx.As(new(ports.CanvasStore))),
			newRedisBudget,
		),
	)
}

func newRedisClient(lc fx.Lifecycle, cfg config.Config, log *slog.Logger) (redis.UniversalClient, error) {
	host := cfg.RedisHost
	if host == "" && cfg.RedisURL == "" {
		host = "localhost"
	}
	c, err := redisconn.New(redisconn.Options{URL: cfg.RedisURL, Host: host, Port: cfg.RedisPort, Password: cfg.RedisPassword, Cluster: cfg.RedisCluster})
	if err != nil {
		return nil, fmt.Errorf("redis configuration: %w", err)
	}
	// The kind of client explains otherwise puzzling failures: a plain client
	// gets MOVED from a multi-node cluster, a cluster client gets "cluster
	// support disabled" from a plain Redis.
	log.Info("redis client", "cluster", cfg.RedisCluster)
	lc.Append(fx.StopHook(c.Close))
	return c, nil
}

func openRedisStore(cfg config.Config, client redis.UniversalClient, log *slog.Logger) (*redisstore.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	s, err := redisstore.Open(ctx, client, redisstore.Options{Size: cfg.Size(), HistorySize: cfg.HistorySize})
	if err != nil {
		return nil, fmt.Errorf("open Redis store: %w", err)
	}
	log.Info("redis store open", "size", cfg.Size().String())
	return s, nil
}

// Stores picks Redis when it is configured, the embedded store otherwise
// (the all-in-one app).
func Stores(cfg config.Config) fx.Option {
	if cfg.UsesRedis() {
		return Redis()
	}
	return Embedded()
}

// newMemBudget is the embedded per-client pixel budget (IP_PIXEL_RATE); nil,
// no budget, when the rate is 0.
func newMemBudget(cfg config.Config, clock ports.Clock) ports.Budget {
	if cfg.IPPixelRate.PerSecond <= 0 {
		return nil
	}
	return membudget.New(cfg.IPPixelRate, clock)
}

// newRedisBudget is the per-client pixel budget every gateway and the api
// share through Redis; nil, no budget, when the rate is 0.
func newRedisBudget(cfg config.Config, client redis.UniversalClient) ports.Budget {
	if cfg.IPPixelRate.PerSecond <= 0 {
		return nil
	}
	return redisbudget.New(client, cfg.IPPixelRate)
}
