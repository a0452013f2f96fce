package provingground

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// lateJoinBatches × 1000 pixels are written while the gateway is frozen, so
// that when it thaws its sequencer has thousands of Pub/Sub messages to
// work through while a new connection registers.
const lateJoinBatches = 3

// putPixels writes a batch of pixels through PUT /api/pixels.
func putPixels(apiURL string, first, n int) error {
	var b strings.Builder
	b.WriteString(`{"pixels":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		k := first + i
		x, y := writePixel(k, canvasWidth*canvasWidth)
		fmt.Fprintf(&b, `{"x":%d,"y":%d,"color":%q}`, x, y, writeColor(k%maxWriteNumber+1))
	}
	b.WriteString(`]}`)
	req, err := http.NewRequest(http.MethodPut, apiURL+"/api/pixels", strings.NewReader(b.String()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /api/pixels: HTTP %d", resp.StatusCode)
	}
	return nil
}

// TestLateJoinerWhileGatewayLags belongs with suite 2 (churn): a client
// that connects while its gateway is behind the store, as happens to
// clients joining a loaded gateway. The protocol says `connected.seq` is
// the point after which the connection receives every event; so no event
// it then receives may be at or below that seq, and none after it may be
// missing. The gateway is frozen (SIGSTOP) while the api writes a few
// thousand pixels, a client dials, and the gateway is thawed: its
// sequencer and the new registration then race, as under real load.
// Found by pixelbench's out-of-order count at 5000 clients × 1000 px/s on
// the split apps (scripts/sweep.sh).
func TestLateJoinerWhileGatewayLags(t *testing.T) {
	rep := newReport(t, "Proving ground 2b: a client joining a lagging gateway")
	c := startCluster(t, 1, 20, 40)
	gw := c.gateways[0]
	apiURL := c.api.URL("")
	const attempts = 5
	written, violations := 0, 0
	for attempt := range attempts {
		if err := gw.Cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		thawed := make(chan struct{})
		thaw := func() {
			select {
			case <-thawed:
			default:
				_ = gw.Cmd.Process.Signal(syscall.SIGCONT)
				close(thawed)
			}
		}
		t.Cleanup(thaw)
		for range lateJoinBatches {
			if err := putPixels(apiURL, written, 1000); err != nil {
				thaw()
				t.Fatal(err)
			}
			written += 1000
		}
		// Scenario timing, not a wait: the gateway thaws while the dial
		// below is under way, so that its registration races the backlog.
		time.AfterFunc(300*time.Millisecond, thaw)
		cl, p, _, err := dialProbe(gw.WS("/ws"), fmt.Sprintf("late-%d", attempt), nil)
		<-thawed
		if err != nil {
			t.Fatal(err)
		}
		caughtUp := func() error {
			if seqs, _, _, _ := p.snapshot(); seqs.last() < uint64(written) {
				return fmt.Errorf("attempt %d: the client is at seq %d, the store at %d", attempt, seqs.last(), written)
			}
			return nil
		}
		err = waitfor.Poll(10*time.Second, caughtUp)
		// Then let whatever the thawed sequencer still holds arrive: it
		// hands events on in the order the store sequenced them, so once
		// a pixel written after all the others (a marker) has reached the
		// client, nothing from before it is still on its way.
		if err == nil {
			if err = putPixels(apiURL, written, 1); err == nil {
				written++
				err = waitfor.Poll(10*time.Second, caughtUp)
			}
		}
		closeAll([]*wsclient.Client{cl})
		if err != nil {
			t.Fatal(err)
		}
		seqs, _, _, _ := p.snapshot()
		rep.add(fmt.Sprintf("attempt %d", attempt), "connected.seq %d, then %v", cl.ConnectedSeq(), &seqs)
		if !seqs.clean() {
			violations++
			t.Errorf("attempt %d: connected.seq was %d, then %v", attempt, cl.ConnectedSeq(), &seqs)
		}
	}
	rep.add("result", "%d of %d joins broke the connected.seq promise", violations, attempts)
}
