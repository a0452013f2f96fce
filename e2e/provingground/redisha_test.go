package provingground

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// Redis high availability end to end (issue 11, must-hold 5): two gateway
// processes and the api on a real Sentinel set (or one Redis), WebSocket
// clients that draw and keep their canvas as the page does
// (wsclient.Resilient: epoch-aware resumes, snapshot reloads), and a
// failure of Redis in the middle. After each, every client's canvas must
// equal the store's snapshot pixel for pixel (no phantom pixels), every
// write acknowledged to its client must be in it (with
// REDIS_WAIT_REPLICAS=1), and the time until the clients' writes were
// accepted again is logged (docs/redis-ha.md has the figures).
//
// The writers are redistest.Writers (each write paints a pixel of its own,
// so a lost write is a pixel still white) with one client per writer.

// Load and timing of the HA scenarios: 4 clients per gateway, each
// drawing 10 pixels a second, one write at a time.
const (
	haClientsPerGateway = 4
	haPeriod            = 100 * time.Millisecond
	// haCallTimeout bounds one write as a client sees it: the gateway
	// answers within its 5 s store deadline (place.StoreTimeout), or the
	// connection drops.
	haCallTimeout = 7 * time.Second
	// haWaitTimeout is the production overlay's REDIS_WAIT_TIMEOUT.
	haWaitTimeout = "500ms"
)

var haSize = domain.Size{Width: canvasWidth, Height: domain.DefaultHeight}

// haClient is one drawing client: its writes wait for their echo (the
// server's acknowledgement) or their refusal.
type haClient struct {
	r *wsclient.Resilient

	mu      sync.Mutex
	waiting map[string]chan error
	// refused are the writes answered with an error, even after their
	// echo: with REDIS_WAIT_REPLICAS the echo (the event, published by
	// the master) comes before the replicas confirmed, and a refusal
	// that follows makes the outcome unknown, not acknowledged.
	refused map[string]bool
	drawn   map[int]bool // pixel indices of every pixel_updated received
}

func (c *haClient) onMessage(m wsclient.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m := m.(type) {
	case wsclient.PixelUpdated:
		c.drawn[haSize.Index(m.X, m.Y)] = true
		c.answer(m.ID, nil)
	case wsclient.Error:
		if m.ID != "" {
			c.refused[m.ID] = true
		}
		c.answer(m.ID, fmt.Errorf("%s: %s", m.Code, m.Message))
	case wsclient.Closed:
		for id := range c.waiting {
			c.answer(id, errors.New("connection lost"))
		}
	}
}

// answer ends the wait for write id, if any. Called with mu held.
func (c *haClient) answer(id string, err error) {
	if ch, ok := c.waiting[id]; ok && id != "" {
		ch <- err
		delete(c.waiting, id)
	}
}

// place sends one write and waits for its echo or its refusal.
func (c *haClient) place(ctx context.Context, w domain.Write) error {
	id := writeID(w)
	ch := make(chan error, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	if err := c.r.PlacePixel(w.X, w.Y, w.Color.String(), id); err != nil {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
		return ctx.Err()
	}
}

func writeID(w domain.Write) string { return strconv.Itoa(w.X) + "-" + strconv.Itoa(w.Y) }

// haDeployment is the apps under test, their clients and writers.
type haDeployment struct {
	gateways []*testbin.Process
	api      *testbin.Process
	clients  []*haClient // haClientsPerGateway per gateway, in gateway order
	writers  *redistest.Writers
}

// sentinelEnv configures an app as the production overlay does.
func sentinelEnv(set *redistest.Sentinels, waitReplicas int) []string {
	return []string{
		"REDIS_SENTINELS=" + strings.Join(set.Addrs(), ","),
		"REDIS_MASTER_NAME=" + redistest.MasterName,
		"REDIS_WAIT_REPLICAS=" + strconv.Itoa(waitReplicas),
		"REDIS_WAIT_TIMEOUT=" + haWaitTimeout,
	}
}

// startHA starts one gateway per entry of gatewayEnvs and the api with
// apiEnv, connects the clients and starts them drawing.
func startHA(t *testing.T, apiEnv []string, gatewayEnvs ...[]string) *haDeployment {
	t.Helper()
	// Every client is this machine: the per-IP budget is off.
	common := []string{"IP_PIXEL_RATE=0", "REST_RATE=0"}
	d := &haDeployment{api: testbin.Start(t, testbin.Build(t, "./apps/api"), append(common, apiEnv...)...)}
	gwBin := testbin.Build(t, "./apps/gateway")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for gi, env := range gatewayEnvs {
		gw := testbin.Start(t, gwBin, append(common, env...)...)
		d.gateways = append(d.gateways, gw)
		for i := range haClientsPerGateway {
			c := &haClient{waiting: map[string]chan error{}, refused: map[string]bool{}, drawn: map[int]bool{}}
			r, err := wsclient.NewResilient(ctx, gw.WS("/ws"), wsclient.ResilientOptions{
				Options:   wsclient.Options{Username: fmt.Sprintf("gw%d-%d", gi, i)},
				APIURL:    d.api.URL(""),
				OnMessage: c.onMessage,
			})
			if err != nil {
				t.Fatalf("client %d of gateway %d: %v", i, gi, err)
			}
			c.r = r
			t.Cleanup(func() { _ = r.Close() })
			d.clients = append(d.clients, c)
		}
	}
	d.writers = redistest.StartWritersWith(t, haSize, len(d.clients), haPeriod, haCallTimeout,
		func(ctx context.Context, g int, w domain.Write) error { return d.clients[g].place(ctx, w) })
	return d
}

// haResult is one scenario's line in the figures.
type haResult struct {
	scenario, wait string
	clients        int
	// acknowledged writes (echoed, never refused) missing from the store
	lost int
	// unknown: echoed, then refused (the replicas did not confirm in time)
	unknown int
	// drawnLost: pixels some client drew that the store no longer has:
	// the phantom pixels there would be without epochs.
	drawnLost int
	// phantoms: pixels on which a client's final canvas differs from the
	// store's snapshot
	phantoms int
	reloads  int
	// unanswered writes: no echo and no error within haCallTimeout on a
	// connection that stayed up (the protocol answers every write)
	unanswered int
	recovery   []time.Duration
}

func (r haResult) String() string {
	return fmt.Sprintf("| %s | %s | %d | %d (%d of unknown outcome) | %d (%d pixels drawn then lost; %d snapshot reloads) | %s / %s |",
		r.scenario, r.wait, r.clients, r.lost, r.unknown, r.phantoms, r.drawnLost, r.reloads,
		redistest.Percentile(r.recovery, 50).Round(10*time.Millisecond), redistest.Percentile(r.recovery, 99).Round(10*time.Millisecond))
}

// finish stops the writers, waits until every client's canvas equals the
// api's snapshot (the store's, through the failover client) and counts
// what was lost. It fails the test if a client never converges.
func (d *haDeployment) finish(t *testing.T, scenario, wait string, failure time.Time, recovery []time.Duration) haResult {
	t.Helper()
	d.writers.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var snap domain.Snapshot
	res := haResult{scenario: scenario, wait: wait, clients: len(d.clients), recovery: recovery}
	converged := waitfor.Poll(30*time.Second, func() error {
		var err error
		if snap, err = wsclient.FetchSnapshot(ctx, nil, d.api.URL("")); err != nil {
			return err
		}
		res.phantoms = 0
		var behind []string
		for i, c := range d.clients {
			got := c.r.Snapshot()
			if got.Seq != snap.Seq || !bytes.Equal(got.RGB, snap.RGB) {
				behind = append(behind, fmt.Sprintf("client %d at seq %d, %d pixels differ", i, got.Seq, differing(got, snap)))
				res.phantoms += differing(got, snap)
			}
		}
		if len(behind) > 0 {
			return fmt.Errorf("store at seq %d on epoch %s; %s", snap.Seq, snap.Epoch, strings.Join(behind, "; "))
		}
		return nil
	})
	if converged != nil {
		t.Errorf("clients' canvases never equal to the store's: %v", converged)
	}

	refused := map[string]bool{}
	drawn := map[int]bool{}
	for _, c := range d.clients {
		c.mu.Lock()
		for id := range c.refused {
			refused[id] = true
		}
		for i := range c.drawn {
			drawn[i] = true
		}
		c.mu.Unlock()
		s := c.r.Stats()
		res.reloads += s.Reloads
		if len(s.Problems) > 0 {
			t.Errorf("a client's problems: %v", s.Problems)
		}
	}
	for _, o := range d.writers.Outcomes() {
		if errors.Is(o.Err, context.DeadlineExceeded) {
			// Neither echo nor error, on a connection that stayed up.
			res.unanswered++
		}
		if !o.Acknowledged() {
			continue
		}
		if refused[writeID(o.Write)] {
			res.unknown++
		} else if !redistest.Holds(snap, o.Write) {
			res.lost++
		}
	}
	for i := range drawn {
		if snap.RGB[3*i] == 0xFF && snap.RGB[3*i+1] == 0xFF && snap.RGB[3*i+2] == 0xFF {
			res.drawnLost++
		}
	}
	if res.unanswered > 0 {
		t.Errorf("%d writes never answered (no echo, no error within %s)", res.unanswered, haCallTimeout)
	}
	refusedN, timedOut, longest := d.writers.Refusals(failure)
	t.Logf("%s, WAIT %s: %d writes, %d acknowledged, %d refused after the failure (%d timed out, the longest took %s); recovery per writer %v",
		scenario, wait, len(d.writers.Outcomes()), d.writers.AcknowledgedAfter(time.Time{}), refusedN, timedOut, longest.Round(time.Millisecond), recovery)
	t.Logf("figures: %s", res)
	return res
}

// differing counts the pixels on which a and b differ (all of them if
// their sizes do).
func differing(a, b domain.Snapshot) int {
	if len(a.RGB) != len(b.RGB) {
		return b.Size.Pixels()
	}
	n := 0
	for i := 0; i+2 < len(a.RGB); i += 3 {
		if a.RGB[i] != b.RGB[i] || a.RGB[i+1] != b.RGB[i+1] || a.RGB[i+2] != b.RGB[i+2] {
			n++
		}
	}
	return n
}

// killLaggingMaster: both replicas lag on purpose (what the master sends
// them is held), writes go on for a while, then the master is SIGKILLed
// and what the replicas had not received is gone with it. Sentinel
// promotes one of them; its history is shorter than what every client
// already drew.
func killLaggingMaster(t *testing.T, waitReplicas int) haResult {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{Replicas: 2, LaggableReplicas: true})
	env := sentinelEnv(set, waitReplicas)
	d := startHA(t, env, env, env)
	w := d.writers
	w.WaitAcknowledged(t, time.Time{}, 40, 30*time.Second)

	failure, _ := set.KillLaggingMaster(t, w, 30)
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	w.WaitAcknowledged(t, time.Now(), 20, 20*time.Second)
	res := d.finish(t, "master SIGKILLed while both replicas lag", strconv.Itoa(waitReplicas), failure, rec)
	if res.drawnLost == 0 {
		t.Error("no pixel the clients drew was lost: the replicas did not lag, so the test proves nothing about phantom pixels")
	}
	return res
}

// TestHAKillLaggingMaster: with REDIS_WAIT_REPLICAS=1 nothing acknowledged
// is lost; with 0, acknowledged writes are lost, and in both the clients,
// which drew the lost pixels, end with the store's canvas.
func TestHAKillLaggingMaster(t *testing.T) {
	t.Run("WAIT 1", func(t *testing.T) {
		if res := killLaggingMaster(t, 1); res.lost > 0 {
			t.Errorf("%d acknowledged writes lost", res.lost)
		}
	})
	t.Run("WAIT 0", func(t *testing.T) {
		res := killLaggingMaster(t, 0)
		t.Logf("without waiting, %d acknowledged writes lost", res.lost)
	})
}

// TestHAFrozenMaster: the master is SIGSTOPped until a replica is
// promoted, then SIGCONTed and waits to become a replica of the new one;
// the clients draw throughout.
func TestHAFrozenMaster(t *testing.T) {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{Replicas: 2})
	env := sentinelEnv(set, 1)
	d := startHA(t, env, env, env)
	w := d.writers
	w.WaitAcknowledged(t, time.Time{}, 40, 30*time.Second)

	oldMaster := set.Master
	old := oldMaster.Addr()
	failure := time.Now()
	thaw := oldMaster.FreezeUntilThawed(t)
	newMaster := set.WaitFailover(t, old, 30*time.Second)
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	thaw()
	set.WaitReplicaOf(t, oldMaster, newMaster, 30*time.Second)
	w.WaitAcknowledged(t, time.Now(), 20, 20*time.Second)
	if res := d.finish(t, "master SIGSTOPped, promoted replica, old master SIGCONTed back as a replica", "1", failure, rec); res.lost > 0 {
		t.Errorf("%d acknowledged writes lost", res.lost)
	}
}

// TestHAEverySecCrash: one Redis with production's appendfsync everysec,
// SIGKILLed under load and started again from its append-only file (no
// Sentinel: there is nobody to fail over to).
func TestHAEverySecCrash(t *testing.T) {
	r := redistest.StartWith(t, "--appendfsync", "everysec")
	env := []string{"REDIS_URL=redis://" + r.Addr() + "/0"}
	d := startHA(t, env, env, env)
	w := d.writers
	w.WaitAcknowledged(t, time.Time{}, 40, 30*time.Second)
	failure := time.Now()
	r.Kill(t)
	r.Start(t)
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	w.WaitAcknowledged(t, time.Now(), 20, 20*time.Second)
	if res := d.finish(t, "single Redis (appendfsync everysec) SIGKILLed under load, restarted", "0", failure, rec); res.lost > 0 {
		t.Errorf("%d acknowledged writes lost", res.lost)
	}
}

// TestHAGatewayPartition: the path between the second gateway and the
// master goes silent (a proxy holds both directions) while the first
// gateway, the api and the Sentinels still reach the master: no failover,
// the first gateway's clients keep drawing, the second's writes are
// refused. The partition ends when every client of the second gateway has
// been refused and the first's have had writes acknowledged meanwhile; it
// ends with the proxy cutting every connection, as a long partition
// leaves them dead.
//
// A process cannot be handed a dialer, so the second gateway dials the
// master through the proxy by REDIS_URL rather than asking the Sentinels;
// with no failover, its connections go to the same master either way.
func TestHAGatewayPartition(t *testing.T) {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{Replicas: 1})
	path := redistest.StartProxy(t, set.Master.Addr())
	env := sentinelEnv(set, 1)
	cutOff := []string{"REDIS_URL=redis://" + path.Addr() + "/0", "REDIS_WAIT_REPLICAS=1", "REDIS_WAIT_TIMEOUT=" + haWaitTimeout}
	d := startHA(t, env, env, cutOff)
	w := d.writers
	w.WaitAcknowledged(t, time.Time{}, 40, 30*time.Second)

	failure := time.Now()
	path.Hold(redistest.ToTarget, redistest.ToClient)
	onFirst := func(o redistest.Outcome) bool { return d.writerOnGateway(o) == 0 }
	if err := waitfor.Poll(30*time.Second, func() error {
		refused := map[string]bool{}
		ackedOnFirst := 0
		for _, o := range w.Outcomes() {
			switch {
			case !o.Start.After(failure):
			case onFirst(o) && o.Acknowledged():
				ackedOnFirst++
			case !onFirst(o) && !o.Acknowledged():
				refused[o.Write.Username] = true
			}
		}
		if len(refused) < haClientsPerGateway || ackedOnFirst < 20 {
			return fmt.Errorf("%d writers of the cut-off gateway refused, %d writes acknowledged on the other", len(refused), ackedOnFirst)
		}
		return nil
	}); err != nil {
		t.Fatalf("during the partition: %v", err)
	}
	healed := time.Now()
	path.Cut()
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	w.WaitAcknowledged(t, time.Now(), 20, 20*time.Second)
	t.Logf("the partition lasted %s", healed.Sub(failure).Round(time.Millisecond))
	for _, o := range w.Outcomes() {
		if onFirst(o) && !o.Acknowledged() && o.Start.After(failure) {
			t.Errorf("a client of the gateway that still reached the master was refused: %v", o.Err)
			break
		}
	}
	if res := d.finish(t, "one gateway cut off from the master (proxy held, then cut)", "1", failure, rec); res.lost > 0 {
		t.Errorf("%d acknowledged writes lost", res.lost)
	}
}

// writerOnGateway is the gateway whose client made the write.
func (d *haDeployment) writerOnGateway(o redistest.Outcome) int {
	g, _ := strconv.Atoi(strings.TrimPrefix(o.Write.Username, "writer"))
	return g / haClientsPerGateway
}
