package modules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/canvasdir"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/logstore"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membudget"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/adapters/embedded/mempresence"
	"github.com/pixelplayground/pixelplayground/adapters/inbound/ops"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbudget"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/rediscanvases"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redispresence"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/apps/internal/config"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/groupcommit"
	"github.com/pixelplayground/pixelplayground/internal/lograte"
	"github.com/pixelplayground/pixelplayground/ports"
)

// Backend names what /health reports for the store ("embedded" or
// "redis").
type Backend string

// firstOpenTimeout bounds the first attempt to open the Redis store at
// start-up. A Redis that does not answer within it (or refuses the
// connection) no longer fails the start: the app serves, /ready says
// "store unreachable", and the store is opened in the background (see
// lazyRedisStore). Exiting instead would put the pod in CrashLoopBackOff,
// whose growing delays outlast the Redis outage itself.
const firstOpenTimeout = 3 * time.Second

// Background attempts to open the store back off exponentially between
// these bounds, with jitter so that a fleet of pods does not knock on a
// returning Redis in step.
const (
	openRetryMin = 250 * time.Millisecond
	openRetryMax = 5 * time.Second
)

// subscribeWait is how long Bus.Subscribe waits for Redis to confirm the
// first subscription before it leaves the rest to the background (see
// patientBus); it must stay well below fx's start timeout (15 s).
const subscribeWait = 3 * time.Second

// Embedded runs everything in this process: the durable embedded store, an
// in-process bus and presence.
func Embedded() fx.Option {
	return fx.Module("embedded",
		fx.Supply(Backend("embedded")),
		fx.Provide(
			fx.Annotate(membus.New, fx.As(new(ports.Bus))),
			fx.Annotate(mempresence.New, fx.As(new(ports.Presence))),
			// One store per canvas; main's is the ports.CanvasStore the
			// gateway and REST's old paths use, and the factory's own.
			fx.Annotate(newEmbeddedStores, fx.As(new(ports.CanvasStores))),
			openEmbedded,
			fx.Annotate(openEmbeddedDirectory, fx.As(new(ports.Canvases))),
			AsReadinessCheck(embeddedWriteCheck),
			AsHealthFields(embeddedWriteFields),
			newMemBudget,
			newMemCreations,
		),
	)
}

// DirectoryDir is the folder of DATA_DIR that holds the embedded directory
// of canvases (one meta.json per canvas), apart from the canvases' data,
// which logstore keeps in DATA_DIR/canvases/<slug>.
const DirectoryDir = "directory"

// newEmbeddedStores is the factory of the embedded canvas stores: main in
// DATA_DIR itself (existing data is the main canvas), the others in
// DATA_DIR/canvases/<slug>. Stopping the app closes them all, main last
// written like the others.
func newEmbeddedStores(lc fx.Lifecycle, cfg config.Config, bus ports.Bus, clock ports.Clock, log *slog.Logger) (*logstore.Stores, error) {
	s, err := logstore.NewStores(logstore.StoresOptions{Options: logstore.Options{Dir: cfg.DataDir, HistorySize: cfg.HistorySize, Bus: bus, Clock: clock, Logger: log}})
	if err != nil {
		return nil, err
	}
	lc.Append(fx.StopHook(s.Close))
	return s, nil
}

// embeddedMain is the main canvas's store, opened at start through the
// factory, so that the gateway, REST's old paths and the factory share
// one store (a second one on the same files would corrupt them).
type embeddedMain struct{ ports.CanvasStore }

// writeHealther is the embedded store's report on writes (logstore).
type writeHealther interface{ WriteHealth() error }

func openEmbedded(cfg config.Config, stores ports.CanvasStores, log *slog.Logger) (ports.CanvasStore, *embeddedMain, error) {
	s, err := stores.Open(context.Background(), domain.MainSlug, cfg.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("open embedded store in %s: %w", cfg.DataDir, err)
	}
	log.Info("embedded store open", "dir", cfg.DataDir, "size", cfg.Size().String())
	return s, &embeddedMain{s}, nil
}

// openEmbeddedDirectory opens the directory of canvases in
// DATA_DIR/directory.
func openEmbeddedDirectory(lc fx.Lifecycle, cfg config.Config, clock ports.Clock, log *slog.Logger) (*canvasdir.Directory, error) {
	dir := filepath.Join(cfg.DataDir, DirectoryDir)
	d, err := canvasdir.Open(canvasdir.Options{Dir: dir, Clock: clock, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open the directory of canvases in %s: %w", dir, err)
	}
	lc.Append(fx.StopHook(d.Close))
	return d, nil
}

// storeWriteReason is why the embedded store refuses writes, "" when it
// takes them: "no space left on device" while the disk is full.
func storeWriteReason(s *embeddedMain) string {
	w, ok := s.CanvasStore.(writeHealther)
	if !ok {
		return ""
	}
	err := w.WriteHealth()
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
func embeddedWriteCheck(s *embeddedMain) ops.Check {
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
func embeddedWriteFields(s *embeddedMain) ops.Fields {
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
			fx.Annotate(newPatientBus, fx.As(fx.Self()), fx.As(new(ports.Bus))),
			fx.Annotate(redispresence.New, fx.As(new(ports.Presence))),
			newRedisStores,
			fx.Annotate(newGatheringStores, fx.As(new(ports.CanvasStores))),
			fx.Annotate(openRedisStore, fx.As(new(ports.CanvasStore))),
			fx.Annotate(rediscanvases.New, fx.As(new(ports.Canvases))),
			AsReadinessCheck(busReadiness),
			newRedisBudget,
			newRedisCreations,
		),
	)
}

func newRedisClient(lc fx.Lifecycle, cfg config.Config, log *slog.Logger) (redis.UniversalClient, error) {
	host := cfg.RedisHost
	if host == "" && cfg.RedisURL == "" {
		host = "localhost"
	}
	c, err := redisconn.New(redisconn.Options{
		URL: cfg.RedisURL, Host: host, Port: cfg.RedisPort, Password: cfg.RedisPassword, Cluster: cfg.RedisCluster,
		Sentinels: cfg.RedisSentinels, MasterName: cfg.RedisMasterName, SentinelPassword: cfg.RedisSentinelPassword,
	})
	if err != nil {
		return nil, fmt.Errorf("redis configuration: %w", err)
	}
	// The kind of client explains otherwise puzzling failures: a plain client
	// gets MOVED from a multi-node cluster, a cluster client gets "cluster
	// support disabled" from a plain Redis.
	log.Info("redis client", "cluster", cfg.RedisCluster, "sentinels", len(cfg.RedisSentinels), "master_name", cfg.RedisMasterName, "wait_replicas", cfg.RedisWaitReplicas)
	lc.Append(fx.StopHook(c.Close))
	return c, nil
}

// newRedisStores is the factory of the Redis canvas stores. It opens
// nothing until asked, so it never holds up the start; while Redis is
// down its Open fails with ports.ErrUnavailable, which the adapters
// answer as any outage, and the next call tries again.
func newRedisStores(lc fx.Lifecycle, cfg config.Config, client redis.UniversalClient) *redisstore.Stores {
	s := redisstore.NewStores(client, redisstore.StoresOptions{
		HistorySize: cfg.HistorySize,
		Wait:        redisstore.WaitOptions{Replicas: cfg.RedisWaitReplicas, Timeout: cfg.RedisWaitTimeout},
	})
	lc.Append(fx.StopHook(s.Close))
	return s
}

// newGatheringStores puts group commit (GROUP_COMMIT_WINDOW,
// GROUP_COMMIT_MAX) in front of every Redis canvas store: the writes of
// all the process's connections and REST requests to one canvas share
// Redis scripts (internal/groupcommit). With either setting 0 it is the
// Redis factory itself.
func newGatheringStores(cfg config.Config, stores *redisstore.Stores) ports.CanvasStores {
	return groupcommit.NewStores(stores, groupcommit.Options{Window: cfg.GroupCommitWindow, Max: cfg.GroupCommitMax})
}

// openRedisStore opens the main canvas's store through the factory (so
// that the factory gives the same store for main, gathering included),
// or, when Redis cannot be reached now, returns one that opens itself in
// the background (see lazyRedisStore). Only an answer that no retry can change fails the
// start: a canvas of another size in Redis, a bad option.
func openRedisStore(lc fx.Lifecycle, sd fx.Shutdowner, cfg config.Config, stores ports.CanvasStores, log *slog.Logger) (ports.CanvasStore, error) {
	open := func(ctx context.Context) (ports.CanvasStore, error) {
		return stores.Open(ctx, domain.MainSlug, cfg.Size())
	}
	ctx, cancel := context.WithTimeout(context.Background(), firstOpenTimeout)
	s, err := open(ctx)
	cancel()
	if err == nil {
		log.Info("redis store open", "size", cfg.Size().String(), "group_commit_window", cfg.GroupCommitWindow.String(), "group_commit_max", cfg.GroupCommitMax)
		return s, nil
	}
	if !retryable(err) {
		return nil, fmt.Errorf("open Redis store: %w", err)
	}
	log.Warn("redis store cannot be opened yet; serving unready and retrying in the background", "err", err)
	lazy := newLazyRedisStore(cfg.Size(), err)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				lazy.openInBackground(runCtx, open, log, func(err error) {
					log.Error("redis store cannot be opened; stopping", "err", err)
					_ = sd.Shutdown(fx.ExitCode(1))
				})
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			stop()
			select {
			case <-done:
			case <-ctx.Done():
			}
			return nil
		},
	})
	return lazy, nil
}

// retryable reports whether opening the store may succeed later: Redis
// unreachable, loading, refusing our credentials (ports.ErrUnavailable),
// or an attempt cut short by its own deadline.
func retryable(err error) bool {
	return errors.Is(err, ports.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// errStoreNotOpen is what every call gets before the store is open.
var errStoreNotOpen = fmt.Errorf("%w: the Redis store is not open yet", ports.ErrUnavailable)

// lazyRedisStore is the Redis store of an app that started while Redis
// was unreachable. Until the background open succeeds, every call fails
// with ports.ErrUnavailable (the inbound adapters answer "unavailable",
// as during any Redis outage) and Ping fails, so /ready says "store
// unreachable" and /health reports Redis disconnected; afterwards every
// call goes to the real store.
type lazyRedisStore struct {
	size domain.Size
	s    atomic.Pointer[ports.CanvasStore]
	last atomic.Pointer[error] // the latest failed attempt, for Ping's error
}

var _ ports.CanvasStore = (*lazyRedisStore)(nil)

func newLazyRedisStore(size domain.Size, first error) *lazyRedisStore {
	l := &lazyRedisStore{size: size}
	l.last.Store(&first)
	return l
}

// openInBackground tries open until it succeeds, ctx ends, or it fails
// for a reason no retry changes (then fatal is called).
func (l *lazyRedisStore) openInBackground(ctx context.Context, open func(context.Context) (ports.CanvasStore, error), log *slog.Logger, fatal func(error)) {
	limit := lograte.New(30*time.Second, nil)
	delay := openRetryMin
	for attempt := 2; ; attempt++ {
		// Full jitter over the upper half: [delay/2, delay).
		wait := delay/2 + time.Duration(rand.Int64N(int64(delay/2))) //nolint:gosec // G404: retry jitter, nothing secret
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		actx, cancel := context.WithTimeout(ctx, firstOpenTimeout)
		s, err := open(actx)
		cancel()
		if err == nil {
			l.s.Store(&s)
			log.Info("redis store open", "size", l.size.String(), "attempts", attempt)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !retryable(err) {
			fatal(err)
			return
		}
		l.last.Store(&err)
		limit.Log(log, slog.LevelWarn, "redis store still cannot be opened", "err", err, "attempt", attempt)
		delay = min(2*delay, openRetryMax)
	}
}

// store is the open store, or why there is none.
func (l *lazyRedisStore) store() (ports.CanvasStore, error) {
	if s := l.s.Load(); s != nil {
		return *s, nil
	}
	if last := l.last.Load(); last != nil {
		return nil, fmt.Errorf("%w (last attempt: %w)", errStoreNotOpen, *last)
	}
	return nil, errStoreNotOpen
}

// Size is the configured size; the store checks it against Redis's when
// it opens.
func (l *lazyRedisStore) Size() domain.Size { return l.size }

// Place places the writes once the store is open.
func (l *lazyRedisStore) Place(ctx context.Context, writes []domain.Write) ([]domain.Event, error) {
	s, err := l.store()
	if err != nil {
		return nil, err
	}
	return s.Place(ctx, writes)
}

// Reset resets the canvas once the store is open.
func (l *lazyRedisStore) Reset(ctx context.Context, origin domain.Origin) (domain.Event, error) {
	s, err := l.store()
	if err != nil {
		return domain.Event{}, err
	}
	return s.Reset(ctx, origin)
}

// Snapshot reads the canvas once the store is open.
func (l *lazyRedisStore) Snapshot(ctx context.Context) (domain.Snapshot, error) {
	s, err := l.store()
	if err != nil {
		return domain.Snapshot{}, err
	}
	return s.Snapshot(ctx)
}

// Pixel reads one pixel once the store is open.
func (l *lazyRedisStore) Pixel(ctx context.Context, x, y int) (domain.PixelInfo, error) {
	s, err := l.store()
	if err != nil {
		return domain.PixelInfo{}, err
	}
	return s.Pixel(ctx, x, y)
}

// Since reads history once the store is open.
func (l *lazyRedisStore) Since(ctx context.Context, after domain.Seq, epoch domain.Epoch, limit int) (ports.History, error) {
	s, err := l.store()
	if err != nil {
		return ports.History{}, err
	}
	return s.Since(ctx, after, epoch, limit)
}

// Head reads the head once the store is open.
func (l *lazyRedisStore) Head(ctx context.Context) (domain.Head, error) {
	s, err := l.store()
	if err != nil {
		return domain.Head{}, err
	}
	return s.Head(ctx)
}

// Ping fails until the store is open, then pings Redis.
func (l *lazyRedisStore) Ping(ctx context.Context) error {
	s, err := l.store()
	if err != nil {
		return err
	}
	return s.Ping(ctx)
}

// patientBus is the Redis bus, except that Subscribe does not hold up the
// app's start while Redis is unreachable. The gateway's hub subscribes in
// its start hook and waits for the confirmation; with Redis down that wait
// would end in fx's start timeout and the process would exit. Instead,
// after subscribeWait Subscribe returns nil and the subscription carries
// on in the background; when it is confirmed, the subscriber is told as
// after any resubscription (it may have missed messages, so the hub
// compares with the store). Until then the app is not ready
// (busReadiness). handle and resubscribed are still never called
// concurrently.
//
// TODO(gateway): this belongs in the hub (ws.Hub.Start returning without
// waiting for the first confirmation, and a readiness check of its own);
// see the report on issue 14. It lives here because that package is being
// changed by someone else.
type patientBus struct {
	*redisbus.Bus
	wait    time.Duration
	log     *slog.Logger
	pending atomic.Int32 // subscriptions not confirmed yet
}

func newPatientBus(client redis.UniversalClient, log *slog.Logger) *patientBus {
	return &patientBus{Bus: redisbus.New(client), wait: subscribeWait, log: log}
}

// Subscribe subscribes; see patientBus.
func (b *patientBus) Subscribe(ctx context.Context, channels []string, handle func(ports.Message), resubscribed func()) error {
	var mu sync.Mutex // serialises the late resubscribed call with the bus's own calls
	h := handle
	if handle != nil {
		h = func(m ports.Message) {
			mu.Lock()
			defer mu.Unlock()
			handle(m)
		}
	}
	r := resubscribed
	if resubscribed != nil {
		r = func() {
			mu.Lock()
			defer mu.Unlock()
			resubscribed()
		}
	}
	done := make(chan error, 1)
	b.pending.Add(1)
	go func() {
		err := b.Bus.Subscribe(ctx, channels, h, r)
		b.pending.Add(-1)
		done <- err
	}()
	timer := time.NewTimer(b.wait)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
	}
	b.log.Warn("bus subscription not confirmed yet (Redis unreachable?); carrying on in the background", "channels", channels)
	go func() {
		err := <-done
		switch {
		case err != nil && ctx.Err() == nil:
			b.log.Error("bus subscription failed", "err", err)
		case err == nil:
			b.log.Info("bus subscribed", "channels", channels)
			if r != nil {
				r()
			}
		}
	}()
	return nil
}

// busReadiness makes the app unready while a subscription waits for Redis.
func busReadiness(b *patientBus) ops.Check {
	return func() string {
		if b.pending.Load() > 0 {
			return "bus not subscribed"
		}
		return ""
	}
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

// CanvasCreations is the budget of canvases each client address may
// create (CANVASES_PER_IP_PER_DAY, refilled evenly over the day); a nil
// Budget is no limit.
type CanvasCreations struct{ ports.Budget }

// creationRule is CANVASES_PER_IP_PER_DAY as a token bucket; ok is false
// when there is no limit.
func creationRule(cfg config.Config) (domain.RateRule, bool) {
	n := cfg.CanvasesPerIPPerDay
	if n <= 0 {
		return domain.RateRule{}, false
	}
	return domain.RateRule{PerSecond: float64(n) / (24 * 60 * 60), Burst: n}, true
}

// newMemCreations is the all-in-one app's creation budget, in memory.
func newMemCreations(cfg config.Config, clock ports.Clock) CanvasCreations {
	rule, ok := creationRule(cfg)
	if !ok {
		return CanvasCreations{}
	}
	return CanvasCreations{membudget.New(rule, clock)}
}

// newRedisCreations is the creation budget every api replica shares
// through Redis. Its buckets are apart from the pixel budget's: redisbudget
// names a bucket by the client key alone, so the key is prefixed.
func newRedisCreations(cfg config.Config, client redis.UniversalClient) CanvasCreations {
	rule, ok := creationRule(cfg)
	if !ok {
		return CanvasCreations{}
	}
	return CanvasCreations{prefixedBudget{prefix: "canvases:", Budget: redisbudget.New(client, rule)}}
}

// prefixedBudget keeps its buckets apart from another budget's on the
// same backend.
type prefixedBudget struct {
	prefix string
	ports.Budget
}

// Take takes from the client's bucket of this budget.
func (b prefixedBudget) Take(ctx context.Context, key string, n int) (bool, time.Duration, error) {
	return b.Budget.Take(ctx, b.prefix+key, n)
}
