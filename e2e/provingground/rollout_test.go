package provingground

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// rolloutDrainSpread is the gateways' DRAIN_SPREAD here: shorter than the
// default 3 s to keep the suite short; the order of events is the same.
const rolloutDrainSpread = "1s"

// rolloutWriteEvery paces the REST writer that keeps events flowing while
// the gateways roll, so that every resume has something to replay.
const rolloutWriteEvery = 50 * time.Millisecond

// rolloutMaxAverage is what surging every new gateway first guarantees:
// each client moves once; the slack is for a client that happens to
// reconnect during the surge.
const rolloutMaxAverage = 1.1

// rollGateway is a gateway process and its index in the balancer.
type rollGateway struct {
	p  *testbin.Process
	lb int
}

// TestRolloutReconnects rolls four gateways behind the balancer twice, the
// way a Deployment would with each strategy, and counts the reconnects of
// NUM_CLIENTS resilient clients per rollout:
//
//   - maxSurge 1 (what the manifests did): one new gateway up and ready,
//     then one old one out of the balancer and SIGTERMed, four times over;
//     the clients of a drained gateway may land on an old one and move again.
//   - maxSurge 100 % (what they do now): four new gateways up and ready,
//     then all old ones out and SIGTERMed at once; every client can only
//     land on a new gateway.
//
// Taking a backend out of the balancer before SIGTERM is what a Service
// does when a pod terminates (its endpoint goes, and readiness fails while
// it drains). A REST writer keeps drawing throughout. It asserts that the
// surge costs at most rolloutMaxAverage reconnects per client, that every
// client ends on a new gateway, and that every client's canvas ends equal
// to the api's, a pixel written after the rollouts included.
func TestRolloutReconnects(t *testing.T) {
	rep := newReport(t, "Proving ground: reconnects per gateway rollout")
	numClients := intSetting(t, rep, "NUM_CLIENTS", 200)
	c := startCluster(t, 0, 20, 40)
	c.gwEnv = append(c.gwEnv, "DRAIN_SPREAD="+rolloutDrainSpread)
	rep.add("gateways", "%d behind a round-robin TCP load balancer, DRAIN_SPREAD=%s", gatewayCount, rolloutDrainSpread)

	var lb *LoadBalancer
	startGateway := func() rollGateway {
		t.Helper()
		p := testbin.Start(t, c.gwBin, c.gwEnv...)
		waitfor.Until(t, 20*time.Second, func() error { return getStatus(p.URL("/ready"), http.StatusOK) })
		g := rollGateway{p: p}
		if lb == nil {
			lb = startLoadBalancer(t, []string{fmt.Sprintf("127.0.0.1:%d", p.Port)})
		} else {
			g.lb = lb.Add(fmt.Sprintf("127.0.0.1:%d", p.Port))
		}
		return g
	}
	// retire takes gateways out of the balancer, SIGTERMs them all at once
	// and waits until each drained and exited cleanly.
	retire := func(gs ...rollGateway) {
		t.Helper()
		for _, g := range gs {
			lb.SetOut(g.lb, true)
		}
		for _, g := range gs {
			if err := g.p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		// Terminate signals again, which a draining gateway ignores, and
		// waits for the exit.
		for _, g := range gs {
			if err := g.p.Terminate(t, 15*time.Second); err != nil {
				t.Fatalf("gateway on port %d: exit after SIGTERM: %v\n%s", g.p.Port, err, g.p.Logs())
			}
		}
	}
	current := make([]rollGateway, 0, gatewayCount)
	for range gatewayCount {
		current = append(current, startGateway())
	}
	url := "ws://" + lb.Addr() + "/ws"

	clients := make([]*wsclient.Resilient, numClients)
	t.Cleanup(func() {
		for _, r := range clients {
			if r != nil {
				_ = r.Close()
			}
		}
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var dialErrs []error
	sem := make(chan struct{}, 16)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			r, err := wsclient.NewResilient(ctx, url, wsclient.ResilientOptions{
				Options: wsclient.Options{Username: fmt.Sprintf("roll-%04d", i)},
				APIURL:  c.api.URL(""),
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErrs = append(dialErrs, err)
				return
			}
			clients[i] = r
		}()
	}
	wg.Wait()
	if len(dialErrs) > 0 {
		t.Fatalf("%d of %d clients failed to connect, first: %v", len(dialErrs), numClients, dialErrs[0])
	}
	rep.add("clients", "%d resilient clients through the balancer, spread %v", numClients, lb.Active())

	// Draw through the api throughout, so that every resume replays.
	stop := make(chan struct{})
	var drawing sync.WaitGroup
	var written, writeErrs int
	var firstWriteErr error
	drawing.Add(1)
	go func() {
		defer drawing.Done()
		pace(stop, rolloutWriteEvery, 0, func() {
			written++
			x, y := writePixel(written, canvasWidth*canvasWidth)
			if _, err := putPixel(c.api.URL(""), x, y, writeColor(written)); err != nil {
				if writeErrs++; firstWriteErr == nil {
					firstWriteErr = err
				}
			}
		})
	}()
	stopDrawing := sync.OnceFunc(func() { close(stop); drawing.Wait() })
	t.Cleanup(stopDrawing)

	reconnects := func() []int {
		out := make([]int, len(clients))
		for i, r := range clients {
			out[i] = len(r.Stats().Reconnects)
		}
		return out
	}
	// onNew waits until every client is connected to one of gs: the old
	// gateways have exited, so the connections the new ones count are all
	// there are.
	onNew := func(gs []rollGateway) {
		t.Helper()
		waitfor.Until(t, 30*time.Second, func() error {
			sum := 0
			for _, g := range gs {
				var h gatewayHealth
				if err := getJSON(g.p.URL("/health"), &h); err != nil {
					return err
				}
				sum += h.Connections
			}
			if sum != numClients {
				return fmt.Errorf("the new gateways hold %d connections, want %d (balancer: %v)", sum, numClients, lb.Active())
			}
			for i, r := range clients {
				if r.Client() == nil {
					return fmt.Errorf("client %d is between connections", i)
				}
			}
			return nil
		})
		active := lb.Active()
		for i, n := range active {
			if n > 0 && !slices.ContainsFunc(gs, func(g rollGateway) bool { return g.lb == i }) {
				t.Errorf("the balancer still proxies %d connections to old backend %d: %v", n, i, active)
			}
		}
	}
	roll := func(name string, strategy func([]rollGateway) []rollGateway) float64 {
		t.Helper()
		before := reconnects()
		start := time.Now()
		current = strategy(current)
		onNew(current)
		took := time.Since(start)
		after := reconnects()
		total, most := 0, 0
		for i := range after {
			d := after[i] - before[i]
			total += d
			most = max(most, d)
		}
		avg := float64(total) / float64(numClients)
		rep.add(name, "%.2f reconnects per client (%d in all, at most %d for one client), rollout %s",
			avg, total, most, took.Round(100*time.Millisecond))
		t.Logf("%s: %.2f reconnects per client (%d for %d clients, at most %d for one), rollout took %s",
			name, avg, total, numClients, most, took.Round(100*time.Millisecond))
		return avg
	}

	roll("maxSurge 1", func(old []rollGateway) []rollGateway {
		var next []rollGateway
		for _, g := range old {
			next = append(next, startGateway())
			retire(g)
		}
		return next
	})
	surge := roll("maxSurge 100%", func(old []rollGateway) []rollGateway {
		var next []rollGateway
		for range old {
			next = append(next, startGateway())
		}
		retire(old...)
		return next
	})
	if surge > rolloutMaxAverage {
		t.Errorf("maxSurge 100%%: %.2f reconnects per client, want at most %.2f (every client moves once)", surge, rolloutMaxAverage)
	}

	stopDrawing()
	rep.add("writes", "%d through the api during the rollouts, %d failed", written, writeErrs)
	if writeErrs > 0 {
		t.Errorf("%d of %d REST writes failed, first: %v", writeErrs, written, firstWriteErr)
	}

	// Nothing missed: a pixel written after the rollouts reaches everybody,
	// and every canvas ends equal to the api's.
	last := written + 1
	x, y := writePixel(last, canvasWidth*canvasWidth)
	seq, err := putPixel(c.api.URL(""), x, y, writeColor(last))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, r := range clients {
		if err := r.WaitSeq(ctx, seq); err != nil {
			t.Fatalf("client %d: the pixel written after the rollouts: %v", i, err)
		}
	}
	snap, err := wsclient.FetchSnapshot(ctx, httpClient, c.api.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	reloads := 0
	for i, r := range clients {
		st := r.Stats()
		reloads += st.Reloads
		if st.Gaps > 0 || st.Duplicates > 0 || len(st.Problems) > 0 {
			t.Errorf("client %d: %d seqs skipped, %d duplicated, problems %v", i, st.Gaps, st.Duplicates, st.Problems)
		}
		got := r.Snapshot()
		if got.Seq < seq || !bytes.Equal(got.RGB, snap.RGB) {
			t.Errorf("client %d: canvas at seq %d differs from the api's at seq %d", i, got.Seq, snap.Seq)
		}
	}
	rep.add("completeness", "every client on a new gateway, canvas equal to the api's at seq %d (%d snapshot reloads)", snap.Seq, reloads)
	if !t.Failed() {
		rep.add("result", "PASS")
	}
}

// getStatus fails unless GET url answers want.
func getStatus(url string, want int) error {
	resp, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: HTTP %d, want %d", url, resp.StatusCode, want)
	}
	return nil
}

// The balancer's rotation as a rollout changes it, without Docker.
func TestLoadBalancerAddAndSetOut(t *testing.T) {
	a, b := backendServer(t, "a"), backendServer(t, "b")
	lb, err := NewLoadBalancer(a.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	if i := lb.Add(b.Addr().String()); i != 1 {
		t.Fatalf("Add returned index %d, want 1", i)
	}
	lb.SetOut(0, true)
	for range 3 {
		if _, name := connectVia(t, lb); name != "b" {
			t.Fatalf("with a out of rotation, a connection went to %s", name)
		}
	}
	lb.SetOut(0, false)
	var got []string
	for range 2 {
		_, name := connectVia(t, lb)
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("with both in rotation, connections went to %v", got)
	}
	waitfor.True(t, 2*time.Second, "a holds 1 connection and b 4", func() bool { return slices.Equal(lb.Active(), []int{1, 4}) })
	if r := lb.Routed(); !slices.Equal(r, []int{1, 4}) {
		t.Fatalf("routed %v, want [1 4]", r)
	}
}
