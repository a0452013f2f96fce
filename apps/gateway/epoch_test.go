package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// switchProxy forwards TCP connections to one Redis and, on switchTo,
// closes them all and forwards new ones to another: what a client sees of
// a failover behind one address (a Sentinel-aware client or a DNS name
// would, after its own delay).
type switchProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.switchTo("") })
	go p.serve()
	return p
}

func (p *switchProxy) addr() string { return p.ln.Addr().String() }

func (p *switchProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		out, err := net.DialTimeout("tcp", target, 2*time.Second)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); _ = out.Close() }()
		go func() { _, _ = io.Copy(in, out); _ = in.Close() }()
	}
}

// switchTo sends new connections to target and closes the open ones.
func (p *switchProxy) switchTo(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestNoPhantomPixelsAfterAFailoverToALaggingReplica loses a suffix for
// real: a gateway and the api draw on a master whose replica is promoted
// (REPLICAOF NO ONE) while the master takes two more writes, which every
// client draws; then the address they use leads to the promoted replica,
// which hands those seqs to new writes. The canvas had events from before
// epochs (seq 5), so its first epoch's base is 5 and the new one's too.
// Then:
//   - the client connected throughout is told to reload and ends with the
//     api's canvas, pixel for pixel;
//   - a resume with the old epoch gets recovered:false;
//   - a resume without an epoch above the base gets recovered:false;
//   - a resume without an epoch at the base is replayed;
//   - a resume with the new epoch is replayed.
func TestNoPhantomPixelsAfterAFailoverToALaggingReplica(t *testing.T) {
	master, replica := redistest.Start(t), redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mc, rc := master.Client(t), replica.Client(t)
	host, port := master.InternalAddr(t)
	if err := rc.ReplicaOf(ctx, host, strconv.Itoa(port)).Err(); err != nil {
		t.Fatal(err)
	}
	// The master makes a new replication id (so a new epoch) when its
	// first replica attaches, which happens asynchronously: wait for it
	// here, so that the only epoch change in this test is the loss's.
	waitCaughtUp(t, mc, rc)
	// Five events from before epochs.
	old, err := redisstore.Open(ctx, mc, redisstore.Options{Size: domain.DefaultSize})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := old.Place(ctx, []domain.Write{{Pixel: domain.Pixel{X: i, Y: 0, Color: 0x112233}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := mc.Del(ctx, redisstore.KeyEpoch).Err(); err != nil {
		t.Fatal(err)
	}

	proxy := startProxy(t, master.Addr())
	env := []string{"REDIS_URL=redis://" + proxy.addr() + "/0"}
	gw := testbin.Start(t, testbin.Build(t, "./apps/gateway"), env...)
	api := testbin.Start(t, testbin.Build(t, "./apps/api"), env...)

	watcher, err := wsclient.NewResilient(ctx, gw.WS("/ws"), wsclient.ResilientOptions{APIURL: api.URL("")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watcher.Close() })
	artist := dial(t, gw.WS("/ws"), "Artist")
	draw := func(c *wsclient.Client, x, y int, color string) uint64 {
		t.Helper()
		id := "w" + strconv.Itoa(x) + "-" + strconv.Itoa(y)
		if err := c.PlacePixel(x, y, color, id); err != nil {
			t.Fatal(err)
		}
		return waitFor(t, c, 10*time.Second, func(m wsclient.PixelUpdated) bool { return m.ID == id }).Seq
	}
	for i := range 3 {
		draw(artist, i, 1, "#00FF00") // seqs 6..8, on both servers
	}
	waitCaughtUp(t, mc, rc)
	if err := rc.ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	var lost uint64
	for i := range 2 {
		lost = draw(artist, i, 9, "#BADBAD") // seqs 9, 10: the master's alone
	}
	if err := watcher.WaitSeq(ctx, lost); err != nil {
		t.Fatal(err)
	}
	if got := watcher.Snapshot(); got.At(0, 9) != 0xBADBAD {
		t.Fatal("the watcher never drew the lost pixels")
	}
	oldEpoch := resumeOnce(t, gw.WS("/ws"), 0, "").Epoch // the epoch the lost seqs are on

	proxy.switchTo(replica.Addr())
	// Writes are refused until the gateway's connections reach the
	// replica; then they take the lost seqs again.
	var reused uint64
	waitfor.Until(t, 30*time.Second, func() error {
		c, err := wsclient.Dial(ctx, gw.WS("/ws"), wsclient.Options{})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.PlacePixel(0, 3, "#0000FF", "after"); err != nil {
			return err
		}
		for m := range c.Messages() {
			switch m := m.(type) {
			case wsclient.PixelUpdated:
				if m.ID == "after" {
					reused = m.Seq
					return nil
				}
			case wsclient.Error:
				if m.ID == "after" {
					return errString(m.Message)
				}
			}
		}
		return errString("closed")
	})
	newArtist := dial(t, gw.WS("/ws"), "After")
	for i := 1; i < 4; i++ {
		draw(newArtist, i, 3, "#0000FF")
	}
	if reused != lost-1 {
		t.Errorf("the first write on the promoted replica got seq %d, want %d (the first lost one)", reused, lost-1)
	}
	var canvas struct {
		Seq   uint64
		Epoch string
	}
	getJSON(t, api.URL("/api/canvas"), &canvas)
	if canvas.Epoch == "" || canvas.Epoch == oldEpoch {
		t.Fatalf("the api's snapshot is on epoch %q; the lost seqs were on %q", canvas.Epoch, oldEpoch)
	}
	t.Logf("epoch %s -> %s; head %d", oldEpoch, canvas.Epoch, canvas.Seq)

	for _, tc := range []struct {
		name      string
		since     uint64
		epoch     string
		recovered bool
	}{
		{"the old epoch", lost, oldEpoch, false},
		{"no epoch, above the base", 7, "", false},
		{"no epoch, at the base", 5, "", true},
		{"the new epoch", 8, canvas.Epoch, true},
	} {
		m := resumeOnce(t, gw.WS("/ws"), tc.since, tc.epoch)
		if m.Recovered != tc.recovered || m.Epoch != canvas.Epoch {
			t.Errorf("resume since=%d with %s: %+v, want recovered=%v on epoch %q", tc.since, tc.name, m, tc.recovered, canvas.Epoch)
		}
	}

	// The watcher, connected throughout, ends with the store's canvas.
	snapshotEqual := func() error {
		snap, err := wsclient.FetchSnapshot(ctx, nil, api.URL(""))
		if err != nil {
			return err
		}
		got := watcher.Snapshot()
		if got.Seq != snap.Seq || !bytes.Equal(got.RGB, snap.RGB) {
			return errString("the watcher's canvas (seq " + strconv.FormatUint(got.Seq, 10) + ") differs from the api's (seq " + strconv.FormatUint(snap.Seq, 10) + ")")
		}
		return nil
	}
	waitfor.Until(t, 20*time.Second, snapshotEqual)
	if s := watcher.Stats(); s.Reloads == 0 || len(s.Problems) > 0 {
		t.Errorf("watcher: %d reloads, problems %v", s.Reloads, s.Problems)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// resumeOnce dials with ?since= (and &epoch= if given) and returns the
// resumed message.
func resumeOnce(t *testing.T, url string, since uint64, epoch string) wsclient.Resumed {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, url, wsclient.Options{Resume: true, Since: since, Epoch: epoch})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return waitFor(t, c, 10*time.Second, func(wsclient.Resumed) bool { return true })
}

func waitCaughtUp(t *testing.T, master, replica *redis.Client) {
	t.Helper()
	field := func(info, name string) string {
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, name+":"); ok {
				return v
			}
		}
		return ""
	}
	waitfor.True(t, 20*time.Second, "the replica has the master's writes", func() bool {
		m, err1 := master.Info(context.Background(), "replication").Result()
		r, err2 := replica.Info(context.Background(), "replication").Result()
		mo := field(m, "master_repl_offset")
		return err1 == nil && err2 == nil && mo != "" && mo == field(r, "slave_repl_offset") && field(r, "master_link_status") == "up"
	})
}
