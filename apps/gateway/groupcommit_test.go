package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// A gateway gathers the writes of its connections into shared Redis
// scripts (GROUP_COMMIT_WINDOW's default), and GROUP_COMMIT_WINDOW=0s runs
// one script per write: 40 clients each send 10 pixels at once, every one
// is acknowledged to its sender, and Redis counts the scripts
// (INFO commandstats).
func TestGatewayGathersWritesIntoSharedScripts(t *testing.T) {
	r := redistest.Start(t)
	gwBin := testbin.Build(t, "./apps/gateway")
	const clients, each = 40, 10
	for _, tc := range []struct {
		window   string
		gathered bool
	}{{"", true}, {"0s", false}} {
		name := "GROUP_COMMIT_WINDOW=" + tc.window
		if tc.window == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			r.Flush(t)
			env := []string{"REDIS_URL=redis://" + r.Addr() + "/0", "IP_PIXEL_RATE=0", "IP_MAX_CONNECTIONS=0"}
			if tc.window != "" {
				env = append(env, "GROUP_COMMIT_WINDOW="+tc.window)
			}
			gw := testbin.Start(t, gwBin, env...)
			conns := make([]*wsclient.Client, clients)
			for i := range conns {
				conns[i] = dial(t, gw.WS("/ws"), "gc"+strconv.Itoa(i))
			}
			admin := r.Client(t)
			if err := admin.ConfigResetStat(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i, c := range conns {
				wg.Go(func() { sendAndAwaitAcks(t, c, i, each) })
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			scripts := scriptCalls(t, admin.Info(context.Background(), "commandstats").Val())
			t.Logf("%d writes from %d connections ran %d scripts", clients*each, clients, scripts)
			if tc.gathered && scripts >= clients*each {
				t.Errorf("%d writes ran %d scripts: the gateway did not gather them", clients*each, scripts)
			}
			if !tc.gathered && scripts < clients*each {
				t.Errorf("%d writes ran only %d scripts with group commit off", clients*each, scripts)
			}
		})
	}
}

// sendAndAwaitAcks sends n pixels on c and waits for the echo of each.
func sendAndAwaitAcks(t *testing.T, c *wsclient.Client, who, n int) {
	want := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("c%d-%d", who, i)
		want[id] = true
		if err := c.PlacePixel(who, i, "#00FF00", id); err != nil {
			t.Errorf("client %d: %v", who, err)
			return
		}
	}
	deadline := time.After(20 * time.Second)
	for len(want) > 0 {
		select {
		case m := <-c.Messages():
			switch m := m.(type) {
			case wsclient.PixelUpdated:
				delete(want, m.ID)
			case wsclient.Error:
				t.Errorf("client %d: error %+v", who, m)
				return
			}
		case <-c.Done():
			t.Errorf("client %d: closed: %+v", who, c.Closed())
			return
		case <-deadline:
			t.Errorf("client %d: %d writes never acknowledged", who, len(want))
			return
		}
	}
}

// scriptCalls sums the calls of EVALSHA and EVAL in INFO commandstats.
func scriptCalls(t *testing.T, info string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		for _, cmd := range []string{"cmdstat_evalsha:calls=", "cmdstat_eval:calls="} {
			if rest, ok := strings.CutPrefix(line, cmd); ok {
				v, err := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				n += v
			}
		}
	}
	return n
}
