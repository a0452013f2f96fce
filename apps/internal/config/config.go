// Package config reads an app's configuration: environment variables (the
// old system's names where it had them) with command-line flags of the same
// meaning as overrides. Every app shares one Config type; each declares
// which settings it takes, and --help lists exactly those with their
// variables and defaults.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// Config is every setting of every app.
type Config struct {
	App           string
	Port          int
	AdminPort     int // 0: /metrics is served on Port
	RedisURL      string
	RedisHost     string
	RedisPort     int
	RedisPassword string
	RedisCluster  bool
	// Sentinel: when RedisSentinels is set, the apps ask these Sentinels
	// (host:port) where the master named RedisMasterName is, and follow
	// it through failovers.
	RedisSentinels        []string
	RedisMasterName       string
	RedisSentinelPassword string
	// RedisWaitReplicas > 0: a canvas write is acknowledged only once that
	// many replicas confirmed it (WAIT) within RedisWaitTimeout.
	RedisWaitReplicas int
	RedisWaitTimeout  time.Duration
	// Group commit: each process gathers the concurrent writes to a
	// canvas for at most GroupCommitWindow, or GroupCommitMax writes, into
	// one store call (internal/groupcommit); either 0 turns it off.
	GroupCommitWindow time.Duration
	GroupCommitMax    int
	Width, Height     int
	DataDir           string
	HistorySize       int
	PixelRate         domain.RateRule
	CursorRate        domain.RateRule
	MessageRate       domain.RateRule // every inbound WebSocket frame
	RESTRate          domain.RateRule // zero: REST writes are not limited
	IPPixelRate       domain.RateRule // zero: no pixel budget per client address
	TrustedProxies    []netip.Prefix
	// MaxConnections caps open connections; -1 derives the cap from the
	// open-files limit, 0 sets none.
	MaxConnections   int
	IPMaxConnections int // per client address (IPv6 by /64); 0: no cap
	OperatorToken    string
	CORSOrigins      []string
	AllowedOrigins   []string // pages that may open a WebSocket; empty: the page's own
	WSURL, APIURL    string
	PingInterval     time.Duration
	DrainSpread      time.Duration
	ShutdownTimeout  time.Duration
	LogFormat        string
	LogLevel         string

	// MaxCanvases bounds the directory of canvases (0: no limit),
	// CanvasesPerIPPerDay what one client address may create a day (0: no
	// limit), MaxCanvasSide each side of a new canvas.
	MaxCanvases, CanvasesPerIPPerDay, MaxCanvasSide int
	// CanvasIdleDays archives canvases idle that many days (0: never).
	CanvasIdleDays int
}

// Size is the validated canvas size.
func (c Config) Size() domain.Size { return domain.Size{Width: c.Width, Height: c.Height} }

// UsesRedis reports whether Redis was configured at all (the playground
// runs embedded otherwise). REDIS_CLUSTER alone counts: whoever says the
// Redis is a cluster wants Redis, at the default address if no other.
func (c Config) UsesRedis() bool {
	return c.RedisURL != "" || c.RedisHost != "" || c.RedisCluster || len(c.RedisSentinels) > 0
}

// Setting names one configurable value.
type Setting string

// The settings an app may take.
const (
	Port      Setting = "port"
	Redis     Setting = "redis"
	Canvas    Setting = "canvas"
	DataDir   Setting = "data-dir"
	History   Setting = "history"
	Rates     Setting = "rates"
	RESTLimit Setting = "rest-limit" // REST_RATE, and the limits on creating canvases (only REST creates)
	// IPBudget: every client address's pixel budget, across its
	// connections, gateways and REST.
	IPBudget Setting = "ip-budget"
	// Connections: the connection caps and the proxies exempt from the
	// per-address one (whose X-Forwarded-For also names REST clients).
	Connections Setting = "connections"
	Operator    Setting = "operator"
	CORS        Setting = "cors"
	ClientURLs  Setting = "client-urls"
	Ping        Setting = "ping"
	// Drain: how a gateway sends its clients away on SIGTERM.
	Drain    Setting = "drain"
	Shutdown Setting = "shutdown"
	Logging  Setting = "logging"
	// Origins: the pages allowed to open a WebSocket.
	Origins Setting = "origins"
)

type option struct {
	setting Setting
	flag    string
	env     string
	def     string
	usage   string
	apply   func(c *Config, v string) error
}

func intOpt(dst func(*Config) *int, min, max int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < min || n > max {
			return fmt.Errorf("want a whole number from %d to %d, got %q", min, max, v)
		}
		*dst(c) = n
		return nil
	}
}

func floatOpt(dst func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f > 0 && f <= 1e6) { // written so that NaN fails too
			return fmt.Errorf("want a positive number, got %q", v)
		}
		*dst(c) = f
		return nil
	}
}

func strOpt(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

func boolOpt(dst func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*dst(c) = b
		return nil
	}
}

// isSwitch reports whether o is an on/off setting, which as a flag may be
// given bare (--redis-cluster) like a Go bool flag.
func (o option) isSwitch() bool { return o.def == "false" || o.def == "true" }

// switchValue is a switch's flag: a string, so that it is read and
// validated like every other setting, marked as boolean so that the flag
// package accepts it without a value.
type switchValue string

func (v *switchValue) String() string {
	if v == nil {
		return ""
	}
	return string(*v)
}
func (v *switchValue) Set(s string) error { *v = switchValue(s); return nil }
func (v *switchValue) IsBoolFlag() bool   { return true }

func durOpt(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return fmt.Errorf("want a positive duration such as 30s, got %q", v)
		}
		*dst(c) = d
		return nil
	}
}

// rateOpt reads a rate from 0 (off) to most.
func rateOpt(dst func(*Config) *float64, most float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f >= 0 && f <= most) { // written so that NaN fails too
			return fmt.Errorf("want a number from 0 (off) to %g, got %q", most, v)
		}
		*dst(c) = f
		return nil
	}
}

// nonNegDurOpt reads a duration where 0 means "not at all".
func nonNegDurOpt(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 3s, or 0s, got %q", v)
		}
		*dst(c) = d
		return nil
	}
}

// sentinelsOpt reads REDIS_SENTINELS: host:port, comma-separated.
func sentinelsOpt(c *Config, v string) error {
	c.RedisSentinels = nil
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("want host:port[,host:port...], got %q", a)
		}
		c.RedisSentinels = append(c.RedisSentinels, a)
	}
	return nil
}

// waitTimeoutOpt reads REDIS_WAIT_TIMEOUT: WAIT and the write script
// share one read timeout (2 s), so at most 1 s of it goes to waiting.
func waitTimeoutOpt(c *Config, v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 10*time.Millisecond || d > time.Second {
		return fmt.Errorf("want a duration from 10ms to 1s, got %q", v)
	}
	c.RedisWaitTimeout = d
	return nil
}

// MaxGroupCommitWindow bounds GROUP_COMMIT_WINDOW: it is added to a
// write's latency whenever the store is busy.
const MaxGroupCommitWindow = 100 * time.Millisecond

// MaxGroupCommit bounds GROUP_COMMIT_MAX: the Redis store runs at most
// 1,000 writes in one script, so a larger batch would be split and no
// longer be one atomic call.
const MaxGroupCommit = 1000

// groupCommitWindowOpt reads GROUP_COMMIT_WINDOW, 0 (off) to
// MaxGroupCommitWindow.
func groupCommitWindowOpt(c *Config, v string) error {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 || d > MaxGroupCommitWindow {
		return fmt.Errorf("want a duration from 0s (off) to %s, such as 1ms, got %q", MaxGroupCommitWindow, v)
	}
	c.GroupCommitWindow = d
	return nil
}

func options(defaultPort int) []option {
	return []option{
		{Port, "port", "PORT", strconv.Itoa(defaultPort), "port to listen on", intOpt(func(c *Config) *int { return &c.Port }, 1, 65535)},
		{Port, "admin-port", "ADMIN_PORT", "0", "port for /metrics, /health and /ready only, never exposed to the public (0: /metrics on PORT)", intOpt(func(c *Config) *int { return &c.AdminPort }, 0, 65535)},
		{Redis, "redis-url", "REDIS_URL", "", "Redis URL, redis://[:password@]host:port/db (wins over host/port)", strOpt(func(c *Config) *string { return &c.RedisURL })},
		{Redis, "redis-host", "REDIS_HOST", "", "Redis host (the old system's variable)", strOpt(func(c *Config) *string { return &c.RedisHost })},
		{Redis, "redis-port", "REDIS_PORT", "6379", "Redis port", intOpt(func(c *Config) *int { return &c.RedisPort }, 1, 65535)},
		{Redis, "redis-password", "REDIS_PASSWORD", "", "Redis password", strOpt(func(c *Config) *string { return &c.RedisPassword })},
		{Redis, "redis-cluster", "REDIS_CLUSTER", "false", "Redis is a Redis Cluster; REDIS_URL may add seed nodes with ?addr=host:port&addr=...", boolOpt(func(c *Config) *bool { return &c.RedisCluster })},
		{Redis, "redis-sentinels", "REDIS_SENTINELS", "", "comma-separated host:port of Redis Sentinels; the apps then ask them where the master REDIS_MASTER_NAME is and follow its failovers (not with REDIS_CLUSTER or REDIS_URL)", sentinelsOpt},
		{Redis, "redis-master-name", "REDIS_MASTER_NAME", "", "the name the Sentinels know the master by (required with REDIS_SENTINELS)", strOpt(func(c *Config) *string { return &c.RedisMasterName })},
		{Redis, "redis-sentinel-password", "REDIS_SENTINEL_PASSWORD", "", "password of the Sentinels themselves (REDIS_PASSWORD is the master's and replicas')", strOpt(func(c *Config) *string { return &c.RedisSentinelPassword })},
		{Redis, "redis-wait-replicas", "REDIS_WAIT_REPLICAS", "0", "acknowledge a canvas write only once this many replicas have it (Redis WAIT); fewer within REDIS_WAIT_TIMEOUT and the write is answered unavailable (0: acknowledge once the master has it)", intOpt(func(c *Config) *int { return &c.RedisWaitReplicas }, 0, 100)},
		{Redis, "redis-wait-timeout", "REDIS_WAIT_TIMEOUT", "500ms", "how long a write waits for REDIS_WAIT_REPLICAS replicas, from 10ms to 1s", waitTimeoutOpt},
		{Redis, "group-commit-window", "GROUP_COMMIT_WINDOW", "1ms", "the longest a pixel write waits to share one Redis script with the process's other writes to its canvas, while the store is busy (an idle store takes a write at once); 0s: every write is its own script", groupCommitWindowOpt},
		{Redis, "group-commit-max", "GROUP_COMMIT_MAX", "256", "the most pixel writes one Redis script carries, from 2 to 1000 (0 or 1: every write is its own script)", intOpt(func(c *Config) *int { return &c.GroupCommitMax }, 0, MaxGroupCommit)},
		{Canvas, "canvas-width", "CANVAS_WIDTH", strconv.Itoa(domain.DefaultWidth), "canvas width in pixels", intOpt(func(c *Config) *int { return &c.Width }, 1, domain.MaxSide)},
		{Canvas, "canvas-height", "CANVAS_HEIGHT", strconv.Itoa(domain.DefaultHeight), "canvas height in pixels", intOpt(func(c *Config) *int { return &c.Height }, 1, domain.MaxSide)},
		{DataDir, "data-dir", "DATA_DIR", "./data", "directory of the embedded store (log and snapshots)", strOpt(func(c *Config) *string { return &c.DataDir })},
		{History, "history-size", "HISTORY_SIZE", "10000", "events kept for clients that resume", intOpt(func(c *Config) *int { return &c.HistorySize }, 1, 10_000_000)},
		{Rates, "pixel-rate", "PIXEL_RATE", "20", "pixels per second per connection", floatOpt(func(c *Config) *float64 { return &c.PixelRate.PerSecond })},
		{Rates, "pixel-burst", "PIXEL_BURST", "40", "pixel burst per connection", intOpt(func(c *Config) *int { return &c.PixelRate.Burst }, 1, 1_000_000)},
		{Rates, "cursor-rate", "CURSOR_RATE", "30", "cursor messages per second per connection", floatOpt(func(c *Config) *float64 { return &c.CursorRate.PerSecond })},
		{Rates, "cursor-burst", "CURSOR_BURST", "60", "cursor message burst per connection", intOpt(func(c *Config) *int { return &c.CursorRate.Burst }, 1, 1_000_000)},
		{Rates, "message-rate", "MESSAGE_RATE", "100", "inbound WebSocket frames per second per connection, of any type, pings included; over it the connection is closed with 1008 (never below PIXEL_RATE + CURSOR_RATE + 10)", floatOpt(func(c *Config) *float64 { return &c.MessageRate.PerSecond })},
		{Rates, "message-burst", "MESSAGE_BURST", "200", "inbound WebSocket frame burst per connection (never below PIXEL_BURST + CURSOR_BURST + 10)", intOpt(func(c *Config) *int { return &c.MessageRate.Burst }, 1, 1_000_000)},
		{IPBudget, "ip-pixel-rate", "IP_PIXEL_RATE", "100", "pixels per second per client address (IPv6 by /64) across all its connections, gateways and REST writes (0: no budget)", rateOpt(func(c *Config) *float64 { return &c.IPPixelRate.PerSecond }, 1e9)},
		{IPBudget, "ip-pixel-burst", "IP_PIXEL_BURST", "1000", "pixel burst per client address (also the largest REST batch a client can place at once)", intOpt(func(c *Config) *int { return &c.IPPixelRate.Burst }, 1, 1_000_000_000)},
		{RESTLimit, "rest-rate", "REST_RATE", "50", "REST write requests per second per client IP (0: no limit)", rateOpt(func(c *Config) *float64 { return &c.RESTRate.PerSecond }, 1e6)},
		{RESTLimit, "rest-burst", "REST_BURST", "100", "REST write request burst per client IP", intOpt(func(c *Config) *int { return &c.RESTRate.Burst }, 1, 1_000_000)},
		{RESTLimit, "max-canvases", "MAX_CANVASES", "1000", "canvases at most, archived ones included (0: no limit); POST /api/canvases answers 429 beyond", intOpt(func(c *Config) *int { return &c.MaxCanvases }, 0, 100_000_000)},
		{RESTLimit, "canvases-per-ip-per-day", "CANVASES_PER_IP_PER_DAY", "10", "canvases one client address (IPv6 by /64) may create a day, spread evenly (0: no limit)", intOpt(func(c *Config) *int { return &c.CanvasesPerIPPerDay }, 0, 1_000_000)},
		{RESTLimit, "max-canvas-side", "MAX_CANVAS_SIDE", "1024", "largest width or height of a new canvas, at most 4096", intOpt(func(c *Config) *int { return &c.MaxCanvasSide }, 1, domain.MaxSide)},
		{RESTLimit, "canvas-idle-days", "CANVAS_IDLE_DAYS", "90", "archive canvases (never main) with no activity for this many days: still readable, no longer writable; checked hourly (0: never)", intOpt(func(c *Config) *int { return &c.CanvasIdleDays }, 0, 100_000)},
		{Connections, "max-connections", "MAX_CONNECTIONS", "", "open connections at most (unset: the open-files limit less headroom; 0: no cap)", func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" {
				c.MaxConnections = -1
				return nil
			}
			return intOpt(func(c *Config) *int { return &c.MaxConnections }, 0, 10_000_000)(c, v)
		}},
		{Connections, "ip-max-connections", "IP_MAX_CONNECTIONS", "40", "open connections per client address (IPv6 by /64) at most, except from TRUSTED_PROXIES and loopback (0: no cap)", intOpt(func(c *Config) *int { return &c.IPMaxConnections }, 0, 10_000_000)},
		{Connections, "trusted-proxies", "TRUSTED_PROXIES", "", "comma-separated CIDRs of proxies whose X-Forwarded-For names the client IP (unset: the peer is the client)", func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				p, err := netip.ParsePrefix(f)
				if err != nil {
					a, aerr := netip.ParseAddr(f)
					if aerr != nil {
						return fmt.Errorf("want CIDRs such as 10.0.0.0/8, got %q", f)
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				c.TrustedProxies = append(c.TrustedProxies, p.Masked())
			}
			return nil
		}},
		{Operator, "operator-token", "OPERATOR_TOKEN", "", "token required by POST /api/canvas/reset (unset: reset disabled)", strOpt(func(c *Config) *string { return &c.OperatorToken })},
		{CORS, "cors-origins", "CORS_ORIGINS", "*", "comma-separated origins allowed to call the API", func(c *Config, v string) error {
			c.CORSOrigins = nil
			for _, o := range strings.Split(v, ",") {
				if o = strings.TrimSpace(o); o != "" {
					c.CORSOrigins = append(c.CORSOrigins, o)
				}
			}
			return nil
		}},
		{Origins, "allowed-origins", "ALLOWED_ORIGINS", "", "comma-separated origins of pages allowed to open a WebSocket, * for any (unset: the page's own: an Origin with the request's hostname, and WS_URL's and API_URL's); requests without Origin are always allowed", func(c *Config, v string) error {
			c.AllowedOrigins = nil
			for _, o := range strings.Split(v, ",") {
				if o = strings.TrimSpace(o); o == "" {
					continue
				}
				if o != "*" {
					u, err := url.Parse(o)
					if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
						return fmt.Errorf("want origins such as https://pixels.example.com, got %q", o)
					}
				}
				c.AllowedOrigins = append(c.AllowedOrigins, o)
			}
			return nil
		}},
		{ClientURLs, "ws-url", "WS_URL", "", "WebSocket URL the page connects to (empty: same origin, /ws)", strOpt(func(c *Config) *string { return &c.WSURL })},
		{ClientURLs, "api-url", "API_URL", "", "API base URL for the page, without /api (empty: same origin)", strOpt(func(c *Config) *string { return &c.APIURL })},
		{Drain, "drain-spread", "DRAIN_SPREAD", "3s", "on SIGTERM, close the WebSocket clients (1012) spread evenly over this long, within SHUTDOWN_TIMEOUT, so they do not all land on the other gateways at once (0s: all at once)", nonNegDurOpt(func(c *Config) *time.Duration { return &c.DrainSpread })},
		{Ping, "ping-interval", "PING_INTERVAL", "30s", "WebSocket protocol ping period; a peer silent for 1.5 periods is closed", durOpt(func(c *Config) *time.Duration { return &c.PingInterval })},
		{Shutdown, "shutdown-timeout", "SHUTDOWN_TIMEOUT", "10s", "how long draining may take on SIGTERM", durOpt(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{Logging, "log-format", "LOG_FORMAT", "text", "log format: text or json", func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return fmt.Errorf("want text or json, got %q", v)
			}
			c.LogFormat = v
			return nil
		}},
		{Logging, "log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error", func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("want debug, info, warn or error, got %q", v)
		}},
	}
}

// Spec says which settings an app takes and its default port.
type Spec struct {
	App         string
	Description string
	DefaultPort int
	Settings    []Setting
}

// Load reads the environment (through getenv) and then args. It returns
// flag.ErrHelp after printing usage to out when asked for --help.
func Load(spec Spec, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	c := Config{App: spec.App}
	want := map[Setting]bool{}
	for _, s := range spec.Settings {
		want[s] = true
	}
	fs := flag.NewFlagSet(spec.App, flag.ContinueOnError)
	fs.SetOutput(out)
	var opts []option
	for _, o := range options(spec.DefaultPort) {
		if want[o.setting] {
			opts = append(opts, o)
		}
	}
	values := map[string]*string{}
	for _, o := range opts {
		v := o.def
		if e := getenv(o.env); e != "" {
			v = e
		}
		usage := fmt.Sprintf("%s (env %s, default %q)", o.usage, o.env, o.def)
		if o.isSwitch() {
			sv := switchValue(v)
			fs.Var(&sv, o.flag, usage)
			values[o.flag] = (*string)(&sv)
			continue
		}
		values[o.flag] = fs.String(o.flag, v, usage)
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "%s: %s\n\nUsage: %s [flags]\n\nEvery flag can also be set by the environment variable named with it; the flag wins.\n\n", spec.App, spec.Description, spec.App)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (see --help)", fs.Arg(0))
	}
	// Defaults for settings this app does not take, so the rest of the
	// program never sees a zero rate or timeout.
	for _, o := range options(spec.DefaultPort) {
		if !want[o.setting] {
			_ = o.apply(&c, o.def)
		}
	}
	var errs []error
	for _, o := range opts {
		if err := o.apply(&c, *values[o.flag]); err != nil {
			errs = append(errs, fmt.Errorf("--%s / %s: %w", o.flag, o.env, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	if want[Redis] {
		if err := c.checkRedis(); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}

// checkRedis refuses combinations of Redis settings that cannot work
// together, each valid alone.
func (c Config) checkRedis() error {
	sentinels := len(c.RedisSentinels) > 0
	switch {
	case sentinels && c.RedisCluster:
		return errors.New("REDIS_SENTINELS and REDIS_CLUSTER exclude each other: Sentinel watches one master and its replicas, a Redis Cluster fails over by itself; set one")
	case sentinels && c.RedisURL != "":
		return errors.New("REDIS_SENTINELS and REDIS_URL exclude each other: with Sentinels the master's address comes from them; give its password in REDIS_PASSWORD")
	case sentinels && strings.TrimSpace(c.RedisMasterName) == "":
		return errors.New("REDIS_SENTINELS needs REDIS_MASTER_NAME, the name the Sentinels monitor the master by (sentinel monitor <name> ...)")
	case !sentinels && c.RedisMasterName != "":
		return errors.New("REDIS_MASTER_NAME is set but REDIS_SENTINELS is not: name the Sentinels to ask")
	case c.RedisWaitReplicas > 0 && c.RedisCluster:
		// A cluster client sends a command without a key (WAIT) to any
		// node, not the connection that ran the write: it would wait for
		// nothing, and say so falsely.
		return errors.New("REDIS_WAIT_REPLICAS needs a single master (plain Redis or REDIS_SENTINELS), not REDIS_CLUSTER: WAIT must run on the connection that made the write, which the cluster client does not guarantee")
	}
	return nil
}
