package rest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membudget"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/metrics"
	"github.com/pixelplayground/pixelplayground/ports"
)

// fakeStore is a CanvasStore on a domain.Canvas, with call counters and
// error injection.
type fakeStore struct {
	mu      sync.Mutex
	size    domain.Size
	canvas  *domain.Canvas
	meta    map[int]domain.PixelInfo
	seq     domain.Seq
	ts      domain.Timestamp
	clock   ports.Clock
	err     error // every call but Size and Ping fails with it
	pingErr error
	places  int
	resets  int
	written []domain.Write
}

func newFakeStore(size domain.Size, clock ports.Clock) *fakeStore {
	return &fakeStore{size: size, canvas: domain.NewCanvas(size), meta: map[int]domain.PixelInfo{}, clock: clock}
}

func (s *fakeStore) Size() domain.Size { return s.size }

func (s *fakeStore) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *fakeStore) next() (domain.Seq, domain.Timestamp) {
	s.seq++
	s.ts = domain.NextTimestamp(s.ts, domain.TimestampOf(s.clock.Now()))
	return s.seq, s.ts
}

func (s *fakeStore) Place(_ context.Context, writes []domain.Write) ([]domain.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	s.places++
	events := make([]domain.Event, 0, len(writes))
	for _, w := range writes {
		if !s.size.Contains(w.X, w.Y) {
			return nil, errors.New("fake store: write off the canvas reached the store")
		}
		seq, ts := s.next()
		e := domain.Event{Kind: domain.PixelPlaced, Seq: seq, Time: ts, Pixel: w.Pixel, Username: w.Username, Origin: w.Origin}
		s.canvas.Apply(e)
		s.meta[s.size.Index(w.X, w.Y)] = domain.PixelInfo{Pixel: w.Pixel, Seq: seq, Time: ts, Username: w.Username}
		s.written = append(s.written, w)
		events = append(events, e)
	}
	return events, nil
}

func (s *fakeStore) Reset(_ context.Context, origin domain.Origin) (domain.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return domain.Event{}, s.err
	}
	s.resets++
	seq, ts := s.next()
	e := domain.Event{Kind: domain.CanvasReset, Seq: seq, Time: ts, Origin: origin}
	s.canvas.Apply(e)
	clear(s.meta)
	return e, nil
}

func (s *fakeStore) Snapshot(context.Context) (domain.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return domain.Snapshot{}, s.err
	}
	snap := s.canvas.Snapshot()
	snap.Epoch = fakeEpoch
	return snap, nil
}

func (s *fakeStore) Pixel(_ context.Context, x, y int) (domain.PixelInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return domain.PixelInfo{}, s.err
	}
	if info, ok := s.meta[s.size.Index(x, y)]; ok {
		return info, nil
	}
	return domain.PixelInfo{Pixel: domain.Pixel{X: x, Y: y, Color: domain.White}}, nil
}

func (s *fakeStore) Since(context.Context, domain.Seq, domain.Epoch, int) (ports.History, error) {
	return ports.History{}, errors.New("fake store: Since is not used by the REST API")
}

// fakeEpoch is the fake store's timeline.
const fakeEpoch = "fake0epoch"

func (s *fakeStore) Head(context.Context) (domain.Head, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return domain.Head{}, s.err
	}
	return domain.Head{Seq: s.seq, Epoch: fakeEpoch}, nil
}

func (s *fakeStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pingErr
}

func (s *fakeStore) counts() (places, resets, written int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.places, s.resets, len(s.written)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is an API on a fake store, routed as the apps route it.
type harness struct {
	t       testing.TB
	store   *fakeStore
	clock   *fakeClock
	metrics *metrics.Metrics
	api     *API
	handler fasthttp.RequestHandler
}

// testEpoch is 2026-11-22T03:25:00.123456Z.
var testEpoch = time.Date(2026, 11, 22, 3, 25, 0, 123_456_000, time.UTC)

func newHarness(t testing.TB, size domain.Size, mutate func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, clock: &fakeClock{t: testEpoch}, metrics: metrics.New()}
	h.store = newFakeStore(size, h.clock)
	o := Options{Store: h.store, Metrics: h.metrics, Clock: h.clock, Log: slog.New(slog.DiscardHandler), OperatorToken: "s3cret"}
	if mutate != nil {
		mutate(&o)
	}
	h.api = New(o)
	r := router.New()
	h.api.Register(r)
	r.NotFound = NotFound
	r.MethodNotAllowed = MethodNotAllowed
	h.handler = h.api.CORS(r.Handler)
	return h
}

// do runs one request through the handler and returns a copy of the
// response. headers are name, value pairs.
func (h *harness) do(method, uri, body string, headers ...string) *fasthttp.Response {
	return h.doFrom("127.0.0.1", method, uri, body, headers...)
}

func (h *harness) doFrom(ip, method, uri, body string, headers ...string) *fasthttp.Response {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	if body != "" {
		req.SetBodyString(body)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}, nil)
	h.handler(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// requestsLimit is the REST_RATE limiter the app builds (an in-process
// budget), on the harness's clock.
func requestsLimit(o *Options, rule domain.RateRule) ports.Budget {
	return membudget.New(rule, o.Clock)
}
