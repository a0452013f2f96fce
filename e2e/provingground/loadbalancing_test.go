package provingground

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"

	"github.com/pixelplayground/pixelplayground/internal/measure"
)

// TestLoadBalancing is suite 1: four gateway processes behind a round-robin
// TCP load balancer, plus the api, on one Redis. NUM_CLIENTS clients connect
// through the balancer and each sends PIXELS_PER_CLIENT pixels at
// PIXELS_PER_SECOND. It proves that the gateways share the load, that every
// client receives every pixel exactly once and in seq order whichever
// gateway it and the writer are on, that presence counts and names every
// client across gateways, and that each gateway's /health reports exactly
// its own connections.
func TestLoadBalancing(t *testing.T) {
	rep := newReport(t, "Proving ground 1: load balancing")
	numClients := intSetting(t, rep, "NUM_CLIENTS", 48)
	perClient := intSetting(t, rep, "PIXELS_PER_CLIENT", 25)
	pps := floatSetting(t, rep, "PIXELS_PER_SECOND", 10)
	total := numClients * perClient
	if total > maxWriteNumber {
		t.Fatalf("NUM_CLIENTS × PIXELS_PER_CLIENT = %d; at most %d writes can be told apart", total, maxWriteNumber)
	}
	// The limiter is not under test here: leave every client room to spare.
	pixelRate := int(math.Ceil(2*pps)) + 20
	c := startCluster(t, gatewayCount, pixelRate, 2*pixelRate)
	rep.add("gateways", "%d behind a round-robin TCP load balancer, PIXEL_RATE=%d PIXEL_BURST=%d", gatewayCount, pixelRate, 2*pixelRate)
	lb := startLoadBalancer(t, c.addrs())
	url := "ws://" + lb.Addr() + "/ws"

	// got[i][n] counts how often client i received write n.
	got := make([][]uint8, numClients)
	foreign := make([]int, numClients)
	names := make([]string, numClients)
	for i := range names {
		names[i] = fmt.Sprintf("lb-%04d", i)
	}
	clients := make([]*wsclient.Client, numClients)
	probes := make([]*probe, numClients)
	connectTimes := make([]time.Duration, numClients)
	t.Cleanup(func() { closeAll(clients) })

	dialStart := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var dialErrs []error
	sem := make(chan struct{}, 16)
	for i := range numClients {
		got[i] = make([]uint8, total+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			seen := got[i]
			cl, p, took, err := dialProbe(url, names[i], func(m wsclient.PixelUpdated, _ time.Time) {
				if n, ok := writeOf(m.Color); ok && n >= 1 && n <= total {
					seen[n]++
				} else {
					foreign[i]++
				}
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				dialErrs = append(dialErrs, err)
				return
			}
			clients[i], probes[i], connectTimes[i] = cl, p, took
		}()
	}
	wg.Wait()
	rep.add("connections", "%d/%d opened through the balancer in %s (connect p50 %s ms, p99 %s ms)",
		numClients-len(dialErrs), numClients, time.Since(dialStart).Round(time.Millisecond),
		ms(percentile(connectTimes, 0.5)), ms(percentile(connectTimes, 0.99)))
	if len(dialErrs) > 0 {
		t.Fatalf("%d of %d connections failed, first: %v", len(dialErrs), numClients, dialErrs[0])
	}

	// Every gateway carries its share and reports exactly its own. A client
	// names itself with set_username after the socket opens, so a gateway
	// may list it as Anonymous for a moment: wait for the names as well as
	// the count, then judge what was read.
	var health []gatewayHealth
	err := waitfor.Poll(15*time.Second, func() error {
		health = make([]gatewayHealth, len(c.gateways))
		sum := 0
		var users []string
		for i, g := range c.gateways {
			if err := getJSON(g.URL("/health"), &health[i]); err != nil {
				return err
			}
			sum += health[i].Connections
			users = append(users, health[i].Users...)
		}
		if sum != numClients {
			return fmt.Errorf("gateways report %d connections in all, want %d", sum, numClients)
		}
		slices.Sort(users)
		if !slices.Equal(users, names) {
			return fmt.Errorf("the gateways' /health users together are not the clients, once each: %v", users)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	even := float64(numClients) / float64(len(c.gateways))
	active := lb.Active()
	var perGateway []int
	for i, h := range health {
		perGateway = append(perGateway, h.Connections)
		if math.Abs(float64(h.Connections)-even) > 0.3*even {
			t.Errorf("gateway %d carries %d connections; an even share is %.1f (±30%%)", i, h.Connections, even)
		}
		if h.Connections != active[i] {
			t.Errorf("gateway %d reports %d connections, the balancer proxies %d to it", i, h.Connections, active[i])
		}
		if len(h.Users) != h.Connections {
			t.Errorf("gateway %d: /health users has %d entries for %d connections", i, len(h.Users), h.Connections)
		}
	}
	rep.add("connections per gateway", "%v (/health), even share %.1f", perGateway, even)

	// Presence: everybody, as counted and named by every gateway.
	presenceStart := time.Now()
	checkPresence := func() error {
		for i, p := range probes {
			p.mu.Lock()
			stats, users := p.stats, p.users
			p.mu.Unlock()
			if stats == nil || stats.ActiveUsers != numClients {
				return fmt.Errorf("client %s: latest stats %+v, want activeUsers %d", names[i], stats, numClients)
			}
			if !slices.Equal(users, names) {
				return fmt.Errorf("client %s: latest user_list has %d names, want the %d clients", names[i], len(users), numClients)
			}
		}
		return nil
	}
	if err := waitfor.Poll(20*time.Second, checkPresence); err != nil {
		t.Fatal(err)
	}
	rep.add("presence", "every client saw activeUsers=%d and all names within %s of the last connect",
		numClients, time.Since(presenceStart).Round(10*time.Millisecond))

	// Draw: every client its share, evenly spread over time.
	interval := time.Duration(float64(time.Second) / pps)
	drawStart := time.Now()
	var sendErrs []error
	for i, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			offset := interval * time.Duration(i) / time.Duration(numClients)
			for k := range perClient {
				// Pacing, not waiting: write k is due at its slot.
				time.Sleep(time.Until(drawStart.Add(offset + time.Duration(k)*interval)))
				n := i*perClient + k + 1
				x, y := writePixel(n, canvasWidth*canvasWidth)
				if err := cl.PlacePixel(x, y, writeColor(n), fmt.Sprint(n)); err != nil {
					mu.Lock()
					sendErrs = append(sendErrs, fmt.Errorf("client %s write %d: %w", names[i], n, err))
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(sendErrs) > 0 {
		t.Fatalf("%d sends failed, first: %v", len(sendErrs), sendErrs[0])
	}
	err = waitfor.Poll(30*time.Second, func() error {
		for i, p := range probes {
			seqs, acked, _, closed := p.snapshot()
			if closed != nil {
				return fmt.Errorf("client %s was disconnected: %+v", names[i], *closed)
			}
			if seqs.inOrder < uint64(total) || acked < perClient {
				return fmt.Errorf("client %s: %d of %d pixels received, %d of %d own writes confirmed", names[i], seqs.inOrder, total, acked, perClient)
			}
		}
		return nil
	})
	drawTime := time.Since(drawStart)
	var deliveries uint64
	for _, p := range probes {
		p.mu.Lock()
		deliveries += p.deliveries
		p.mu.Unlock()
	}
	rep.add("writes", "%d sent at %.0f px/s in all", total, pps*float64(numClients))
	rep.add("deliveries", "%d in %s (%.0f/s), %.1f per write",
		deliveries, drawTime.Round(time.Millisecond), float64(deliveries)/drawTime.Seconds(), float64(deliveries)/float64(total))
	if err != nil {
		t.Fatal(err)
	}

	// Exactly once, in order, for everybody.
	var finalSeq uint64
	for i, p := range probes {
		seqs, acked, errs, _ := p.snapshot()
		if !seqs.clean() || seqs.inOrder != uint64(total) {
			t.Errorf("client %s: %v; want %d in order and nothing else", names[i], &seqs, total)
		}
		if acked != perClient || len(errs) > 0 {
			t.Errorf("client %s: %d of %d writes confirmed, errors %s", names[i], acked, perClient, measure.FormatCounts(errs, ", "))
		}
		p.mu.Lock()
		missing, twice := 0, 0
		for n := 1; n <= total; n++ {
			switch got[i][n] {
			case 0:
				missing++
			case 1:
			default:
				twice++
			}
		}
		if missing > 0 || twice > 0 || foreign[i] > 0 {
			t.Errorf("client %s: %d writes never received, %d received more than once, %d unknown", names[i], missing, twice, foreign[i])
		}
		last := seqs.last()
		p.mu.Unlock()
		if i == 0 {
			finalSeq = last
		} else if last != finalSeq {
			t.Errorf("client %s ends at seq %d, client %s at %d", names[i], last, names[0], finalSeq)
		}
	}
	var canvas apiCanvas
	if err := getJSON(c.api.URL("/api/canvas"), &canvas); err != nil {
		t.Fatal(err)
	}
	if canvas.Seq != finalSeq {
		t.Errorf("the api's snapshot is at seq %d, the clients at %d", canvas.Seq, finalSeq)
	}
	rep.add("completeness", "every client: %d/%d writes exactly once, seqs contiguous to %d", total, total, finalSeq)

	// Presence still right after the traffic.
	if err := waitfor.Poll(5*time.Second, checkPresence); err != nil {
		t.Error(err)
	}
	if !t.Failed() {
		rep.add("result", "PASS")
	}
}
