package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/testbin"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// TestAPIOnRedisSentinel: the api configured as the production overlay
// configures it (REDIS_SENTINELS, REDIS_MASTER_NAME, REDIS_WAIT_REPLICAS=1)
// writes through the master the Sentinels name, and after that master is
// SIGKILLed it writes to the replica they promote, with the pixel
// acknowledged before the kill still there.
func TestAPIOnRedisSentinel(t *testing.T) {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{Replicas: 2})
	bin := testbin.Build(t, "./apps/api")
	sentinels := ""
	for i, a := range set.Addrs() {
		if i > 0 {
			sentinels += ","
		}
		sentinels += a
	}
	api := testbin.Start(t, bin, "REDIS_SENTINELS="+sentinels, "REDIS_MASTER_NAME="+redistest.MasterName, "REDIS_WAIT_REPLICAS=1")
	testbin.ExpectJSON(t, 200, "PUT", api.URL("/api/pixel"), `{"x":1,"y":2,"color":"#112233"}`)

	old := set.Master.Addr()
	set.Master.Kill(t)
	set.WaitFailover(t, old, 30*time.Second)
	waitfor.Until(t, 30*time.Second, func() error {
		if code, m := testbin.CallJSON(t, "PUT", api.URL("/api/pixel"), `{"x":3,"y":4,"color":"#445566"}`); code != 200 {
			return fmt.Errorf("PUT after the failover: %d %v", code, m)
		}
		return nil
	})
	for _, px := range []struct {
		path, color string
	}{{"/api/pixel/1/2", "#112233"}, {"/api/pixel/3/4", "#445566"}} {
		if m := testbin.ExpectJSON(t, 200, "GET", api.URL(px.path), ""); m["color"] != px.color {
			t.Errorf("GET %s after the failover: %v, want %s", px.path, m, px.color)
		}
	}
}
