package wsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

// Backoff defaults for Resilient.
const (
	DefaultMinBackoff = 50 * time.Millisecond
	DefaultMaxBackoff = time.Second
)

// ErrNotConnected is returned by Resilient's writes between a drop and the
// next successful dial.
var ErrNotConnected = errors.New("wsclient: not connected")

// ResilientOptions configure NewResilient.
type ResilientOptions struct {
	// Options apply to every dial. Handler, Resume and Since are Resilient's
	// own: it always resumes, from 0 on the first dial.
	Options
	// APIURL is the REST base (http://host:port, no /api) from which the
	// snapshot is reloaded when a resume cannot be served. Without it such
	// a resume is recorded in ResilientStats.Problems and the canvas stays
	// incomplete.
	APIURL string
	// MinBackoff is the wait before the first redial; it doubles after each
	// failed dial up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient loads snapshots; the default gives up after 10 s.
	HTTPClient *http.Client
	// OnMessage sees every message (Closed included) on the reader
	// goroutine, after the canvas applied it.
	OnMessage func(Message)
}

// withDefaults fills what o leaves unset, the embedded dial Options
// included.
func (o ResilientOptions) withDefaults() ResilientOptions {
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	o.Options = o.Options.withDefaults()
	return o
}

// Reconnect is one drop and what it took to recover from it.
type Reconnect struct {
	DroppedAt time.Time
	CloseCode int  // how the dropped connection ended
	Attempts  int  // dials until one succeeded; 0 while still trying
	Replayed  int  // events received between connected and resumed
	Recovered bool // the server could replay everything missed
	Reloaded  bool // the snapshot was loaded instead
	// ResumedAfter is the time from the drop to the resumed message: the
	// canvas is complete again. FirstEventAfter is the time from the drop to
	// the first event after resumed, i.e. live traffic flowing again (0 if
	// none arrived yet).
	ResumedAfter, FirstEventAfter time.Duration
}

// ResilientStats is what a Resilient observed.
type ResilientStats struct {
	Reconnects []Reconnect
	Events     uint64 // pixel_updated and canvas_reset applied
	// Gaps counts events skipped by the seq stream outside a reload: events
	// the server never delivered. Zero is the protocol's promise.
	Gaps uint64
	// Duplicates counts events at or below a seq already applied (not
	// counting those covered by a reloaded snapshot).
	Duplicates uint64
	Reloads    int
	// Problems lists anything else that went wrong (failed reloads, a
	// server that sends no seq, a snapshot older than the canvas).
	Problems []string
}

// Resilient is a client that survives drops: it redials with backoff,
// resumes with ?since=<highest seq applied>, and keeps a canvas that a test
// can compare with the server's snapshot.
type Resilient struct {
	url    string
	o      ResilientOptions
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	client  *Client
	canvas  *domain.Canvas
	lastSeq uint64 // highest event seq applied
	epoch   string // the timeline lastSeq is on, as the server last said
	snapSeq uint64 // seq of the last snapshot loaded
	stats   ResilientStats
	changed chan struct{} // closed (and replaced) on every change
}

// session is the state of one connection of a Resilient.
type session struct {
	rec      int // index in stats.Reconnects; -1 for the first connection
	drop     time.Time
	resumed  bool
	replayed int
	synced   chan struct{} // closed once resumed (and any reload) is done
	// ready is closed once the connection is the Resilient's current
	// client: its messages wait for that, so whoever sees an event applied
	// also sees the connection (and its Attempts) in place.
	ready   chan struct{}
	started bool
}

func newSession(rec int, drop time.Time) *session {
	return &session{rec: rec, drop: drop, synced: make(chan struct{}), ready: make(chan struct{})}
}

// NewResilient dials (resuming from seq 0, so the server replays its
// history) and returns once the canvas is synced: after resumed, and after a
// snapshot reload if the history did not reach back far enough. Later drops
// are handled in the background until Close.
func NewResilient(ctx context.Context, url string, o ResilientOptions) (*Resilient, error) {
	o = o.withDefaults()
	rctx, cancel := context.WithCancel(context.Background())
	r := &Resilient{url: url, o: o, ctx: rctx, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
	s := newSession(-1, time.Time{})
	c, err := r.dial(ctx, s)
	if err != nil {
		cancel()
		return nil, err
	}
	r.mu.Lock()
	r.client = c
	r.mu.Unlock()
	close(s.ready)
	wait := time.NewTimer(o.HandshakeTimeout)
	defer wait.Stop()
	select {
	case <-s.synced:
	case <-c.Done():
		err = fmt.Errorf("wsclient: connection closed before resumed: %w", c.Closed().Err)
	case <-wait.C:
		err = errors.New("wsclient: no resumed message (does the server support resume?)")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		_ = c.Close()
		<-c.Done()
		cancel()
		return nil, err
	}
	go r.run(c)
	return r, nil
}

func (r *Resilient) dial(ctx context.Context, s *session) (*Client, error) {
	o := r.o.Options
	r.mu.Lock()
	o.Resume, o.Since, o.Epoch = true, r.lastSeq, r.epoch
	r.mu.Unlock()
	o.Handler = func(m Message) { r.handle(s, m) }
	return Dial(ctx, r.url, o)
}

// run waits for each drop and redials until Close.
func (r *Resilient) run(c *Client) {
	defer close(r.done)
	for {
		select {
		case <-c.Done():
		case <-r.ctx.Done():
			_ = c.Close()
			<-c.Done()
			return
		}
		drop := time.Now()
		r.mu.Lock()
		r.client = nil
		r.stats.Reconnects = append(r.stats.Reconnects, Reconnect{DroppedAt: drop, CloseCode: c.Closed().Code})
		s := newSession(len(r.stats.Reconnects)-1, drop)
		r.notify()
		r.mu.Unlock()

		backoff := r.o.MinBackoff
		for attempts := 1; ; attempts++ {
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-r.ctx.Done():
				t.Stop()
				return
			}
			next, err := r.dial(r.ctx, s)
			if err == nil {
				r.mu.Lock()
				r.client = next
				r.stats.Reconnects[s.rec].Attempts = attempts
				r.notify()
				r.mu.Unlock()
				close(s.ready)
				c = next
				break
			}
			backoff = min(2*backoff, r.o.MaxBackoff)
		}
	}
}

// handle runs on the reader goroutine of the session's connection.
func (r *Resilient) handle(s *session, m Message) {
	if !s.started {
		s.started = true
		select {
		case <-s.ready:
		case <-r.ctx.Done():
		}
	}
	r.mu.Lock()
	switch m := m.(type) {
	case Connected:
		r.adoptSize(m)
	case PixelUpdated:
		c, err := domain.ParseColor(m.Color)
		if err != nil {
			r.problem("pixel_updated seq %d: bad colour %q", m.Seq, m.Color)
			break
		}
		r.apply(s, domain.Event{Kind: domain.PixelPlaced, Seq: m.Seq, Time: millisToTimestamp(m.Timestamp),
			Pixel: domain.Pixel{X: m.X, Y: m.Y, Color: c}, Username: m.Username})
	case CanvasReset:
		r.apply(s, domain.Event{Kind: domain.CanvasReset, Seq: m.Seq, Time: millisToTimestamp(m.Timestamp)})
	case Resumed:
		r.resumed(s, m)
	}
	r.notify()
	r.mu.Unlock()
	if r.o.OnMessage != nil {
		r.o.OnMessage(m)
	}
}

// adoptSize creates the canvas on the first connected, and flags a server
// whose canvas changed size under us.
func (r *Resilient) adoptSize(m Connected) {
	w, h := m.Width, m.Height
	if w <= 0 || h <= 0 {
		w, h = domain.DefaultWidth, domain.DefaultHeight
	}
	size, err := domain.NewSize(w, h)
	if err != nil {
		r.problem("connected: %v", err)
		return
	}
	if r.canvas == nil {
		r.canvas = domain.NewCanvas(size)
	} else if r.canvas.Size() != size {
		r.problem("canvas size changed from %v to %v", r.canvas.Size(), size)
	}
}

func (r *Resilient) apply(s *session, e domain.Event) {
	if r.canvas == nil {
		return // connected always comes first; this is a broken server
	}
	switch {
	case e.Seq == 0:
		r.problem("event without seq: the server does not speak the seq extension")
	case e.Seq <= r.snapSeq:
		// Already in the snapshot.
	case e.Seq <= r.lastSeq:
		r.stats.Duplicates++
	default:
		if e.Seq > r.lastSeq+1 {
			r.stats.Gaps += e.Seq - r.lastSeq - 1
		}
		r.lastSeq = e.Seq
	}
	r.canvas.Apply(e)
	r.stats.Events++
	if !s.resumed {
		s.replayed++
	} else if s.rec >= 0 && r.stats.Reconnects[s.rec].FirstEventAfter == 0 {
		r.stats.Reconnects[s.rec].FirstEventAfter = time.Since(s.drop)
	}
}

// resumed ends a replay, or (recovered=false, which a server may also send
// unasked) says the client must reload the snapshot. Called with r.mu held;
// releases it around the HTTP request.
func (r *Resilient) resumed(s *session, m Resumed) {
	first := !s.resumed
	if first {
		s.resumed = true
		if s.rec >= 0 {
			rec := &r.stats.Reconnects[s.rec]
			rec.ResumedAfter, rec.Recovered, rec.Replayed = time.Since(s.drop), m.Recovered, s.replayed
		}
	}
	if !m.Recovered {
		r.reload(s, m)
	}
	r.epoch = m.Epoch
	if first {
		close(s.synced)
	}
}

func (r *Resilient) reload(s *session, m Resumed) {
	if r.o.APIURL == "" {
		r.problem("resume after seq %d not recovered and no APIURL to reload from", r.lastSeq)
		r.lastSeq = max(r.lastSeq, m.Seq) // count gaps from here on, not the unrecoverable hole
		return
	}
	r.mu.Unlock()
	snap, err := FetchSnapshot(r.ctx, r.o.HTTPClient, r.o.APIURL)
	r.mu.Lock()
	if err != nil {
		r.problem("reload: %v", err)
		r.lastSeq = max(r.lastSeq, m.Seq)
		return
	}
	switch {
	case m.Seq < r.lastSeq || m.Epoch != r.epoch:
		// The server went back or to another timeline (its store lost
		// writes we had seen) and will reuse those seqs: the snapshot is
		// the truth now.
		r.lastSeq = snap.Seq
	case snap.Seq < r.lastSeq:
		r.problem("snapshot at seq %d is older than seq %d already applied", snap.Seq, r.lastSeq)
	default:
		r.lastSeq = snap.Seq
	}
	r.canvas = domain.CanvasFromSnapshot(snap)
	r.snapSeq = snap.Seq
	r.stats.Reloads++
	if s.rec >= 0 {
		r.stats.Reconnects[s.rec].Reloaded = true
	}
}

func (r *Resilient) problem(format string, args ...any) {
	const maxProblems = 100 // a broken server must not grow this forever
	if len(r.stats.Problems) < maxProblems {
		r.stats.Problems = append(r.stats.Problems, fmt.Sprintf(format, args...))
	}
}

func (r *Resilient) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

func millisToTimestamp(ms float64) domain.Timestamp {
	return domain.Timestamp(math.Round(ms * 1000))
}

// Client is the current connection, or nil between a drop and the next dial.
func (r *Resilient) Client() *Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.client
}

// PlacePixel sends through the current connection.
func (r *Resilient) PlacePixel(x, y int, color, id string) error {
	c := r.Client()
	if c == nil {
		return ErrNotConnected
	}
	return c.PlacePixel(x, y, color, id)
}

// Seq is the highest event seq applied (or the snapshot's, after a reload).
func (r *Resilient) Seq() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastSeq
}

// Snapshot copies the canvas as this client sees it.
func (r *Resilient) Snapshot() domain.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.canvas == nil {
		return domain.Snapshot{}
	}
	return r.canvas.Snapshot()
}

// Stats copies what was observed so far.
func (r *Resilient) Stats() ResilientStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Reconnects = append([]Reconnect(nil), s.Reconnects...)
	s.Problems = append([]string(nil), s.Problems...)
	return s
}

// WaitSeq waits until the canvas includes seq.
func (r *Resilient) WaitSeq(ctx context.Context, seq uint64) error {
	for {
		r.mu.Lock()
		ok, changed := r.lastSeq >= seq, r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wsclient: waiting for seq %d (at %d): %w", seq, r.Seq(), ctx.Err())
		}
	}
}

// WaitConnected waits until a connection is up (it may already be).
func (r *Resilient) WaitConnected(ctx context.Context) (*Client, error) {
	for {
		r.mu.Lock()
		c, changed := r.client, r.changed
		r.mu.Unlock()
		if c != nil {
			return c, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close stops redialling and closes the connection.
func (r *Resilient) Close() error {
	r.cancel()
	<-r.done
	return nil
}

// maxSnapshotBytes bounds a snapshot body: the largest canvas plus slack.
const maxSnapshotBytes = 3*domain.MaxSide*domain.MaxSide + 1

// FetchSnapshot loads GET <apiURL>/api/canvas/raw: packed RGB with the size,
// seq and epoch in X-Canvas-Width, X-Canvas-Height, X-Canvas-Seq and
// X-Canvas-Epoch.
func FetchSnapshot(ctx context.Context, hc *http.Client, apiURL string) (domain.Snapshot, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(apiURL, "/")+"/api/canvas/raw", nil)
	if err != nil {
		return domain.Snapshot{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return domain.Snapshot{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return domain.Snapshot{}, fmt.Errorf("GET %s: HTTP %d", req.URL, resp.StatusCode)
	}
	w, errW := strconv.Atoi(resp.Header.Get("X-Canvas-Width"))
	h, errH := strconv.Atoi(resp.Header.Get("X-Canvas-Height"))
	seq, errS := strconv.ParseUint(resp.Header.Get("X-Canvas-Seq"), 10, 64)
	if err := errors.Join(errW, errH, errS); err != nil {
		return domain.Snapshot{}, fmt.Errorf("GET %s: bad canvas headers: %w", req.URL, err)
	}
	size, err := domain.NewSize(w, h)
	if err != nil {
		return domain.Snapshot{}, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSnapshotBytes))
	if err != nil {
		return domain.Snapshot{}, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	if len(body) != 3*size.Pixels() {
		return domain.Snapshot{}, fmt.Errorf("GET %s: %d bytes for a %v canvas, want %d", req.URL, len(body), size, 3*size.Pixels())
	}
	return domain.Snapshot{Size: size, Seq: seq, Epoch: domain.Epoch(resp.Header.Get("X-Canvas-Epoch")), RGB: body}, nil
}
