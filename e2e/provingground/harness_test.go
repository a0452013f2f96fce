package provingground

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// gatewayCount is how many gateway processes every suite runs: enough that
// most deliveries cross gateways through Redis, few enough for two cores.
const gatewayCount = 4

// canvasWidth is the servers' default canvas width; write numbers map to
// pixels row-major on it.
const canvasWidth = domain.DefaultWidth

var httpClient = &http.Client{Timeout: 10 * time.Second}

// ---------------------------------------------------------------------------
// Settings from the old scripts' environment variables.

// report collects a suite's settings and figures and prints them as one
// table when the test ends, pass or fail (t.Log: shown by -v, and always on
// failure).
type report struct {
	t     *testing.T
	title string
	mu    sync.Mutex
	rows  [][2]string
}

func newReport(t *testing.T, title string) *report {
	r := &report{t: t, title: title}
	// A cleanup runs even after t.Fatal. Registered first, it runs last,
	// once the processes are gone: the figures were gathered by then.
	t.Cleanup(r.print)
	return r
}

func (r *report) add(name, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, [2]string{name, fmt.Sprintf(format, args...)})
}

func (r *report) print() {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n%s\n", r.title, strings.Repeat("=", len(r.title)))
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, row := range r.rows {
		fmt.Fprintf(w, "%s\t%s\n", row[0], row[1])
	}
	_ = w.Flush()
	r.t.Log(b.String())
}

// intSetting reads a positive integer environment variable, with a
// default for CI, and records it in the report.
func intSetting(t *testing.T, r *report, name string, def int) int {
	t.Helper()
	v := def
	src := "default"
	if s := strings.TrimSpace(os.Getenv(name)); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive integer", name, s)
		}
		v, src = n, "env"
	}
	r.add(name, "%d (%s)", v, src)
	return v
}

// floatSetting is intSetting for a positive number.
func floatSetting(t *testing.T, r *report, name string, def float64) float64 {
	t.Helper()
	v := def
	src := "default"
	if s := strings.TrimSpace(os.Getenv(name)); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			t.Fatalf("%s=%q: want a positive number", name, s)
		}
		v, src = f, "env"
	}
	r.add(name, "%g (%s)", v, src)
	return v
}

// secondsSetting reads a duration given in seconds, as the old scripts did.
func secondsSetting(t *testing.T, r *report, name string, def float64) time.Duration {
	t.Helper()
	return time.Duration(floatSetting(t, r, name, def) * float64(time.Second))
}

// ---------------------------------------------------------------------------
// The deployment under test.

// cluster is Redis in a container, gateway processes and the api process,
// all torn down at the end of the test.
type cluster struct {
	redis    *redistest.Redis
	gwBin    string
	gwEnv    []string
	gateways []*testbin.Process
	api      *testbin.Process
}

// startCluster starts Redis first (so a machine without Docker skips before
// anything is built), then the gateways with the given per-connection pixel
// rate, then the api.
func startCluster(t *testing.T, gateways int, pixelRate, pixelBurst int) *cluster {
	t.Helper()
	r := redistest.Start(t)
	redisURL := "REDIS_URL=redis://" + r.Addr() + "/0"
	c := &cluster{
		redis: r,
		gwBin: testbin.Build(t, "./apps/gateway"),
		// Every client of the suites is this machine: the per-client pixel
		// budget, which would count them all as one, is off.
		gwEnv: []string{redisURL, "PIXEL_RATE=" + strconv.Itoa(pixelRate), "PIXEL_BURST=" + strconv.Itoa(pixelBurst), "IP_PIXEL_RATE=0"},
	}
	apiBin := testbin.Build(t, "./apps/api")
	for range gateways {
		c.gateways = append(c.gateways, testbin.Start(t, c.gwBin, c.gwEnv...))
	}
	// The suites' REST writers all share 127.0.0.1, where a deployment
	// would see many addresses: the per-IP limit would measure itself.
	c.api = testbin.Start(t, apiBin, redisURL, "REST_RATE=0", "IP_PIXEL_RATE=0")
	return c
}

// wsURLs is every gateway's /ws URL.
func (c *cluster) wsURLs() []string {
	urls := make([]string, len(c.gateways))
	for i, g := range c.gateways {
		urls[i] = g.WS("/ws")
	}
	return urls
}

// addrs is every gateway's host:port, for the load balancer.
func (c *cluster) addrs() []string {
	out := make([]string, len(c.gateways))
	for i, g := range c.gateways {
		out[i] = fmt.Sprintf("127.0.0.1:%d", g.Port)
	}
	return out
}

// restartGateway SIGKILLs gateway i, keeps it down for downFor, and starts
// it again on the same port (waiting for /health).
func (c *cluster) restartGateway(t *testing.T, i int, downFor time.Duration) {
	t.Helper()
	port := c.gateways[i].Port
	c.gateways[i].Kill()
	// Not a wait: the outage lasts downFor on purpose, so that clients and
	// the balancer meet a dead gateway for that long.
	time.Sleep(downFor)
	c.gateways[i] = testbin.StartOnPort(t, c.gwBin, port, c.gwEnv...)
}

func startLoadBalancer(t *testing.T, backends []string) *LoadBalancer {
	t.Helper()
	lb, err := NewLoadBalancer(backends...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lb.Close() })
	return lb
}

// gatewayHealth is a gateway's /health.
type gatewayHealth struct {
	Status      string
	Redis       string
	Connections int
	Users       []string
}

func getJSON(url string, into any) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// apiCanvas is GET /api/canvas.
type apiCanvas struct {
	Width, Height int
	Seq           uint64
	Pixels        map[string]string
}

// apiPixel is GET /api/pixel/{x}/{y}.
type apiPixel struct {
	Color string
	Seq   uint64
}

// processSample is what a process says about itself on /metrics.
type processSample struct {
	CPUSeconds float64
	RSSBytes   float64
}

// scrapeProcess reads process_cpu_seconds_total and
// process_resident_memory_bytes from a Prometheus text page.
func scrapeProcess(url string) (processSample, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return processSample{}, err
	}
	defer resp.Body.Close()
	var s processSample
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "process_cpu_seconds_total":
			dst = &s.CPUSeconds
		case "process_resident_memory_bytes":
			dst = &s.RSSBytes
		default:
			continue
		}
		if *dst, err = strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil {
			return s, fmt.Errorf("%s: %s %q: %w", url, name, value, err)
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if found != 2 {
		return s, fmt.Errorf("%s: process metrics missing", url)
	}
	return s, nil
}

// ---------------------------------------------------------------------------
// Writes that identify themselves.

// Write number n paints colour n (so n < 2^24) on pixel n mod region, so a
// receiver knows which write it got from the pixel alone: the server echoes
// the write id to the sender only.
const maxWriteNumber = 1<<24 - 2 // #FFFFFF stays white, i.e. "never written"

func writeColor(n int) string { return fmt.Sprintf("#%06X", n) }

func writePixel(n, region int) (x, y int) {
	i := n % region
	return i % canvasWidth, i / canvasWidth
}

// writeOf decodes a delivery's write number.
func writeOf(color string) (int, bool) {
	c, err := domain.ParseColor(color)
	if err != nil {
		return 0, false
	}
	return int(c), true
}

// ---------------------------------------------------------------------------
// Clients.

// seqTracker judges one connection's event stream: after connected at seq
// S it must receive S+1, S+2, ... with nothing skipped or repeated, and
// nothing at or below S, the point the protocol says the stream starts
// after.
type seqTracker struct {
	startSeq    uint64
	next        uint64
	inOrder     uint64
	missing     uint64
	beforeStart uint64 // at or below the connected seq
	outOfOrder  uint64 // above it, but at or below a seq already received
}

func (s *seqTracker) start(connectedSeq uint64) { s.startSeq, s.next = connectedSeq, connectedSeq+1 }

func (s *seqTracker) see(seq uint64) {
	switch {
	case seq == s.next:
		s.inOrder++
		s.next++
	case seq > s.next:
		s.missing += seq - s.next
		s.inOrder++
		s.next = seq + 1
	case seq <= s.startSeq:
		s.beforeStart++
	default:
		s.outOfOrder++
	}
}

// last is the highest seq received (or the connected seq).
func (s *seqTracker) last() uint64 { return s.next - 1 }

// clean reports whether the stream kept every promise.
func (s *seqTracker) clean() bool { return s.missing == 0 && s.beforeStart == 0 && s.outOfOrder == 0 }

func (s *seqTracker) String() string {
	return fmt.Sprintf("%d in order, %d seqs missing, %d at or below connected.seq, %d out of order or repeated",
		s.inOrder, s.missing, s.beforeStart, s.outOfOrder)
}

// probe records what one plain wsclient connection receives. Its handler
// runs on the client's reader goroutine; everything is read under mu.
type probe struct {
	name    string
	onPixel func(p wsclient.PixelUpdated, at time.Time) // called under mu

	mu         sync.Mutex
	seqs       seqTracker
	deliveries uint64
	acked      map[string]uint64 // write id -> seq
	errors     map[string]int    // by code
	stats      *wsclient.Stats
	users      []string
	closed     *wsclient.Closed
}

func newProbe(name string, onPixel func(wsclient.PixelUpdated, time.Time)) *probe {
	return &probe{name: name, onPixel: onPixel, acked: map[string]uint64{}, errors: map[string]int{}}
}

func (p *probe) handle(m wsclient.Message) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch m := m.(type) {
	case wsclient.Connected:
		p.seqs.start(m.Seq)
	case wsclient.PixelUpdated:
		p.deliveries++
		p.seqs.see(m.Seq)
		if m.ID != "" {
			p.acked[m.ID] = m.Seq
		}
		if p.onPixel != nil {
			p.onPixel(m, now)
		}
	case wsclient.Error:
		code := m.Code
		if code == "" {
			code = m.Message
		}
		p.errors[code]++
	case wsclient.Stats:
		p.stats = &m
	case wsclient.UserList:
		p.users = m.Users
	case wsclient.Closed:
		p.closed = &m
	}
}

// snapshot returns copies of the counters.
func (p *probe) snapshot() (seqs seqTracker, acked int, errs map[string]int, closed *wsclient.Closed) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seqs, len(p.acked), maps(p.errors), p.closed
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// dialProbe connects one recorded client; the duration is the dial up to
// the server's connected message.
func dialProbe(url, name string, onPixel func(wsclient.PixelUpdated, time.Time)) (*wsclient.Client, *probe, time.Duration, error) {
	p := newProbe(name, onPixel)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	c, err := wsclient.Dial(ctx, url, wsclient.Options{Username: name, Handler: p.handle})
	return c, p, time.Since(start), err
}

// closeAll closes clients and waits (bounded) until their readers ended.
func closeAll(clients []*wsclient.Client) {
	for _, c := range clients {
		if c != nil {
			_ = c.Close()
		}
	}
	timeout := time.After(5 * time.Second)
	for _, c := range clients {
		if c == nil {
			continue
		}
		select {
		case <-c.Done():
		case <-timeout:
			return
		}
	}
}

// pace calls tick every interval, starting after offset, until stop is
// closed. A tick that falls behind is skipped rather than bursted, so the
// offered load never exceeds what was asked.
func pace(stop <-chan struct{}, interval, offset time.Duration, tick func()) {
	next := time.Now().Add(offset)
	for {
		wait := time.Until(next)
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-stop:
				t.Stop()
				return
			case <-t.C:
			}
		} else {
			select {
			case <-stop:
				return
			default:
			}
		}
		tick()
		next = next.Add(interval)
		if behind := time.Since(next); behind > interval {
			next = next.Add(behind.Truncate(interval))
		}
	}
}

// ---------------------------------------------------------------------------
// Figures.

// percentile is the nearest-rank q-quantile (0..1) of ds, which it sorts.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(q*float64(len(ds)))) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64)
}

func mergeCounts(into, from map[string]int) {
	for k, v := range from {
		into[k] += v
	}
}
