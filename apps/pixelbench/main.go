// Command pixelbench puts load on any deployment that speaks the Pixel
// Playground WebSocket protocol v1 (the all-in-one playground, the split
// gateways, an ingress) and measures what it delivers: deliveries per
// second, completeness by seq, connection success and time, errors by code,
// and end-to-end and fan-out latency percentiles. With -baseline it first
// starts a minimal in-process broadcast server and measures that instead,
// so results elsewhere can be quoted as a fraction of what this machine can
// do at all. See docs/pixelbench.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// urlList is a repeatable, comma-separated flag.
type urlList []string

func (u *urlList) String() string { return strings.Join(*u, ",") }

func (u *urlList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*u = append(*u, s)
		}
	}
	return nil
}

type options struct {
	cfg      Config
	baseline bool
	width    int
	height   int
	jsonFile string
	cpuFile  string

	baselineWrites string
	canvas, api    string
	serveBaseline  string
}

const defaultURL = "ws://127.0.0.1:8080/ws"

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var urls urlList
	sample := "0.1"
	fs := flag.NewFlagSet("pixelbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&urls, "url", "WebSocket URL to load (repeatable or comma-separated; clients are spread round-robin)\n(default "+defaultURL+")")
	fs.IntVar(&o.cfg.Clients, "clients", 100, fmt.Sprintf("connections to hold open (at most %d)", maxClients))
	fs.Float64Var(&o.cfg.Rate, "rate", 100, "pixels per second in total, spread evenly over the clients")
	fs.DurationVar(&o.cfg.Duration, "duration", 10*time.Second, fmt.Sprintf("how long to send once all clients are connected (at most %v)", maxDuration))
	fs.Float64Var(&o.cfg.Ramp, "ramp", 500, "new connections per second while ramping up")
	fs.Float64Var(&o.cfg.Churn, "churn", 0, "connections closed and reopened per second while sending")
	fs.StringVar(&sample, "sample", sample, "clients that time every delivery: a fraction (0.1, 10%) or a count (50)")
	fs.BoolVar(&o.cfg.V2, "v2", false, "ask for subprotocol pixel.v2 (batched frames)")
	fs.DurationVar(&o.cfg.Drain, "drain", 3*time.Second, "after sending, longest wait for writes and deliveries still in flight")
	fs.DurationVar(&o.cfg.ConnectTimeout, "connect-timeout", 10*time.Second, "limit on one connection's handshake plus its connected message")
	fs.DurationVar(&o.cfg.Progress, "progress", time.Second, "period of the progress line on stderr (0 for none)")
	fs.BoolVar(&o.baseline, "baseline", false, "start the minimal in-process broadcast server on 127.0.0.1 and load it instead of -url")
	fs.StringVar(&o.serveBaseline, "serve-baseline", "", "only serve the baseline on this loopback address (127.0.0.1:PORT) until interrupted, so it can run as its own process (pinned to its own core); load it with -url")
	fs.StringVar(&o.baselineWrites, "baseline-writes", "batched", "how the -baseline server writes: batched (everything queued for a connection in one write, as the gateway does) or frame (one write per frame)")
	fs.StringVar(&o.canvas, "canvas", "", "load this named canvas (/ws?canvas=slug), created through the REST API with -width × -height if it does not exist")
	fs.StringVar(&o.api, "api", "", "REST base URL for -canvas (default: the first -url's host over http)")
	fs.IntVar(&o.width, "width", domain.DefaultWidth, "canvas width of the -baseline server, or of a canvas -canvas creates")
	fs.IntVar(&o.height, "height", domain.DefaultHeight, "canvas height of the -baseline server, or of a canvas -canvas creates")
	fs.StringVar(&o.jsonFile, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.cpuFile, "cpuprofile", "", "write a CPU profile of the whole run (clients and any baseline) to this file")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: pixelbench [flags]

Opens -clients WebSocket connections (ramping at -ramp per second), then sends
-rate pixels per second in total for -duration, and reports deliveries per
second, completeness (by seq), connection success and time, errors by code and
latency percentiles. Progress goes to stderr, the results table to stdout.

Latency: "e2e" is send to receive on this process's monotonic clock, for every
delivery to a sampled client (a write is recognised by its pixel and colour,
which encode its number). "fan-out" is the server's timestamp to receive, on
the wall clock, and is only meaningful when the server shares this clock.

Servers limit each connection to 20 pixels/s (burst 40) by default: keep
-rate / -clients at or under 20.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	s, err := parseSample(sample)
	if err != nil {
		return o, err
	}
	o.cfg.Sample = s
	o.cfg.URLs = urls
	if len(o.cfg.URLs) == 0 {
		o.cfg.URLs = []string{defaultURL}
	}
	if o.canvas != "" && o.baseline {
		return o, errors.New("-canvas and -baseline are exclusive (the baseline has one canvas)")
	}
	if o.serveBaseline != "" {
		host, _, err := net.SplitHostPort(o.serveBaseline)
		if err != nil || !net.ParseIP(host).IsLoopback() {
			return o, fmt.Errorf("-serve-baseline %q: want a loopback address such as 127.0.0.1:9000", o.serveBaseline)
		}
		if o.baseline || len(urls) > 0 {
			return o, errors.New("-serve-baseline excludes -baseline and -url")
		}
		o.baseline = true // the baseline's own checks below
	}
	if o.baseline {
		if len(urls) > 0 {
			return o, errors.New("-baseline and -url are exclusive")
		}
		if _, err := domain.NewSize(o.width, o.height); err != nil {
			return o, err
		}
		if o.baselineWrites != "batched" && o.baselineWrites != "frame" {
			return o, fmt.Errorf("-baseline-writes %q: want batched or frame", o.baselineWrites)
		}
		o.cfg.URLs = []string{"ws://baseline/"} // replaced once it listens; keeps check() meaningful
	}
	if _, err := o.cfg.check(); err != nil {
		return o, err
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "pixelbench:", err)
		return 2
	}
	// Each client is a socket; with -baseline the server's end is in this
	// process too.
	need := uint64(o.cfg.Clients) + 64
	if o.baseline {
		need += uint64(o.cfg.Clients)
	}
	if msg := raiseFileLimit(need); msg != "" {
		fmt.Fprintln(stderr, "warning:", msg)
	}
	if o.cpuFile != "" {
		f, err := os.Create(o.cpuFile)
		if err != nil {
			fmt.Fprintln(stderr, "pixelbench:", err)
			return 1
		}
		defer func() { _ = f.Close() }()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "pixelbench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if o.serveBaseline != "" {
		return serveBaselineOnly(ctx, o, stderr)
	}
	if o.baseline {
		size, _ := domain.NewSize(o.width, o.height)
		b, err := startBaseline("127.0.0.1:0", size, o.baselineWrites == "batched")
		if err != nil {
			fmt.Fprintln(stderr, "pixelbench: baseline:", err)
			return 1
		}
		defer b.Close()
		o.cfg.URLs = []string{b.URL()}
		fmt.Fprintln(stderr, "baseline server at", b.URL())
	}
	if o.canvas != "" {
		api, err := canvasAPI(o.api, o.cfg.URLs)
		if err != nil {
			fmt.Fprintln(stderr, "pixelbench:", err)
			return 2
		}
		slug, created, err := ensureCanvas(ctx, api, o.canvas, o.width, o.height)
		if err != nil {
			fmt.Fprintln(stderr, "pixelbench: -canvas:", err)
			return 1
		}
		if created {
			fmt.Fprintf(stderr, "created canvas %s (%d×%d) through %s\n", slug, o.width, o.height, api)
		}
		if o.cfg.URLs, err = withCanvas(o.cfg.URLs, slug); err != nil {
			fmt.Fprintln(stderr, "pixelbench:", err)
			return 2
		}
	}
	res, err := Run(ctx, o.cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "pixelbench:", err)
		return 1
	}
	res.Baseline = o.baseline
	printTable(stdout, res)
	if o.jsonFile != "" {
		data, _ := json.MarshalIndent(res, "", "  ") // plain structs and maps always marshal
		// Owner-only, like any file a tool writes on a shared machine; the
		// sweep script and CI read it as the same user.
		if err := os.WriteFile(o.jsonFile, append(data, '\n'), 0o600); err != nil {
			fmt.Fprintln(stderr, "pixelbench:", err)
			return 1
		}
	}
	if res.Interrupted {
		return 130
	}
	return 0
}

// serveBaselineOnly runs the baseline server alone until ctx ends (Ctrl-C,
// SIGTERM), for a sweep that pins it to a core of its own.
func serveBaselineOnly(ctx context.Context, o options, stderr io.Writer) int {
	size, _ := domain.NewSize(o.width, o.height)
	if msg := raiseFileLimit(uint64(maxClients) + 64); msg != "" {
		fmt.Fprintln(stderr, "warning:", msg)
	}
	b, err := startBaseline(o.serveBaseline, size, o.baselineWrites == "batched")
	if err != nil {
		fmt.Fprintln(stderr, "pixelbench: baseline:", err)
		return 1
	}
	fmt.Fprintln(stderr, "baseline server at", b.URL())
	<-ctx.Done()
	b.Close()
	return 0
}
