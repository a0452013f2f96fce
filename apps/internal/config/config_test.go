package config

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
)

var testSpec = Spec{App: "gateway", Description: "test", DefaultPort: 3002,
	Settings: []Setting{Port, Redis, Canvas, Rates, Ping, Logging}}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsEnvAndFlagsInThatOrder(t *testing.T) {
	c, err := Load(testSpec, nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 3002 || c.Width != 50 || c.PixelRate.PerSecond != 20 || c.PixelRate.Burst != 40 || c.PingInterval != 30*time.Second || c.UsesRedis() {
		t.Fatalf("defaults = %+v", c)
	}
	// Settings an app does not take still get their defaults.
	if c.ShutdownTimeout != 10*time.Second || c.HistorySize != 10000 {
		t.Fatalf("defaults of settings not taken = %+v", c)
	}
	c, err = Load(testSpec, []string{"--port", "4000"}, env(map[string]string{"PORT": "3999", "REDIS_HOST": "redis", "PIXEL_RATE": "5"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 4000 || c.RedisHost != "redis" || !c.UsesRedis() || c.PixelRate.PerSecond != 5 {
		t.Fatalf("env and flags = %+v", c)
	}
}

func TestBadValuesAreClearErrors(t *testing.T) {
	_, err := Load(testSpec, nil, env(map[string]string{"PORT": "http", "CANVAS_WIDTH": "100000", "LOG_FORMAT": "xml", "PING_INTERVAL": "-1s"}), io.Discard)
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{"PORT", "CANVAS_WIDTH", "LOG_FORMAT", "PING_INTERVAL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	for _, bad := range []string{"NaN", "nan", "Inf", "-1", "0", "1e7", "fast"} {
		if _, err := Load(testSpec, nil, env(map[string]string{"PIXEL_RATE": bad}), io.Discard); err == nil || !strings.Contains(err.Error(), "PIXEL_RATE") {
			t.Errorf("PIXEL_RATE=%s: err %v, want a clear error", bad, err)
		}
	}
	for _, bad := range []string{"NaN", "-Inf", "-0.5"} {
		restSpec := Spec{App: "api", DefaultPort: 3001, Settings: []Setting{Port, RESTLimit}}
		if _, err := Load(restSpec, nil, env(map[string]string{"REST_RATE": bad}), io.Discard); err == nil || !strings.Contains(err.Error(), "REST_RATE") {
			t.Errorf("REST_RATE=%s: err %v, want a clear error", bad, err)
		}
	}
	if _, err := Load(testSpec, []string{"--data-dir", "x"}, env(nil), io.Discard); err == nil {
		t.Error("a flag the app does not take must be refused")
	}
	if _, err := Load(testSpec, []string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("a stray argument must be refused")
	}
}

func TestHelpListsExactlyTheAppsSettings(t *testing.T) {
	var out bytes.Buffer
	_, err := Load(testSpec, []string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"PORT", "REDIS_URL", "REDIS_HOST", "CANVAS_WIDTH", "PIXEL_RATE", "PING_INTERVAL", "LOG_FORMAT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not list %s:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "DATA_DIR") {
		t.Error("help lists DATA_DIR, which the gateway does not take")
	}
}

func TestRedisCluster(t *testing.T) {
	c, err := Load(testSpec, nil, env(nil), io.Discard)
	if err != nil || c.RedisCluster {
		t.Fatalf("default: cluster %v, %v", c.RedisCluster, err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, map[string]string{"REDIS_CLUSTER": "true"}, true},
		{nil, map[string]string{"REDIS_CLUSTER": "1"}, true},
		{[]string{"--redis-cluster"}, nil, true},
		{[]string{"--redis-cluster", "--port", "4000"}, nil, true},
		{[]string{"--redis-cluster=false"}, map[string]string{"REDIS_CLUSTER": "true"}, false},
		{nil, map[string]string{"REDIS_CLUSTER": "false"}, false},
	} {
		c, err := Load(testSpec, tc.args, env(tc.env), io.Discard)
		if err != nil || c.RedisCluster != tc.want {
			t.Errorf("args %v env %v: cluster %v, %v; want %v", tc.args, tc.env, c.RedisCluster, err, tc.want)
		}
	}
	// Saying the Redis is a cluster is asking for Redis, even at the
	// default address.
	if c, _ := Load(testSpec, []string{"--redis-cluster"}, env(nil), io.Discard); !c.UsesRedis() {
		t.Error("REDIS_CLUSTER=true alone does not use Redis")
	}
	if _, err := Load(testSpec, nil, env(map[string]string{"REDIS_CLUSTER": "yes please"}), io.Discard); err == nil || !strings.Contains(err.Error(), "REDIS_CLUSTER") {
		t.Errorf("REDIS_CLUSTER=yes please: err %v, want a clear error", err)
	}
	var out bytes.Buffer
	if _, err := Load(testSpec, []string{"--help"}, env(nil), &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "REDIS_CLUSTER") {
		t.Errorf("help does not list REDIS_CLUSTER (%v):\n%s", err, out.String())
	}
}

func TestRESTLimitAndTrustedProxies(t *testing.T) {
	spec := Spec{App: "api", DefaultPort: 3001, Settings: []Setting{Port, RESTLimit, Connections}}
	c, err := Load(spec, nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.RESTRate.PerSecond != 50 || c.RESTRate.Burst != 100 || c.TrustedProxies != nil {
		t.Fatalf("defaults: rate %+v, proxies %v", c.RESTRate, c.TrustedProxies)
	}
	c, err = Load(spec, []string{"--rest-rate", "0"}, env(map[string]string{"TRUSTED_PROXIES": " 10.42.0.0/16, 192.168.1.7 ,fd00::/8,"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	if c.RESTRate.PerSecond != 0 || strings.Join(got, " ") != "10.42.0.0/16 192.168.1.7/32 fd00::/8" {
		t.Fatalf("rate %+v, proxies %v", c.RESTRate, got)
	}
	_, err = Load(spec, nil, env(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,ingress", "REST_RATE": "-1"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") || !strings.Contains(err.Error(), "REST_RATE") {
		t.Errorf("bad values: %v", err)
	}
}

func TestIPPixelBudget(t *testing.T) {
	spec := Spec{App: "gateway", DefaultPort: 3002, Settings: []Setting{Port, IPBudget}}
	c, err := Load(spec, nil, env(nil), io.Discard)
	if err != nil || c.IPPixelRate != (domain.RateRule{PerSecond: 100, Burst: 1000}) {
		t.Fatalf("defaults: %+v, %v", c.IPPixelRate, err)
	}
	c, err = Load(spec, nil, env(map[string]string{"IP_PIXEL_RATE": "30", "IP_PIXEL_BURST": "30"}), io.Discard)
	if err != nil || c.IPPixelRate != (domain.RateRule{PerSecond: 30, Burst: 30}) {
		t.Fatalf("set: %+v, %v", c.IPPixelRate, err)
	}
	if c, err = Load(spec, nil, env(map[string]string{"IP_PIXEL_RATE": "0"}), io.Discard); err != nil || c.IPPixelRate.PerSecond != 0 {
		t.Fatalf("off: %+v, %v", c.IPPixelRate, err)
	}
	_, err = Load(spec, nil, env(map[string]string{"IP_PIXEL_RATE": "NaN", "IP_PIXEL_BURST": "0"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "IP_PIXEL_RATE") || !strings.Contains(err.Error(), "IP_PIXEL_BURST") {
		t.Errorf("bad values: %v", err)
	}
}

func TestDrainSpread(t *testing.T) {
	spec := Spec{App: "gateway", DefaultPort: 3002, Settings: []Setting{Port, Drain}}
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{{"", 3 * time.Second, true}, {"0s", 0, true}, {"500ms", 500 * time.Millisecond, true}, {"-1s", 0, false}, {"soon", 0, false}} {
		e := map[string]string{}
		if tc.v != "" {
			e["DRAIN_SPREAD"] = tc.v
		}
		c, err := Load(spec, nil, env(e), io.Discard)
		if (err == nil) != tc.ok || (tc.ok && c.DrainSpread != tc.want) {
			t.Errorf("DRAIN_SPREAD=%q: %v, %v", tc.v, c.DrainSpread, err)
		}
	}
}

func TestConnectionCaps(t *testing.T) {
	spec := Spec{App: "gateway", DefaultPort: 3002, Settings: []Setting{Port, Connections}}
	c, err := Load(spec, nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConnections != -1 || c.IPMaxConnections != 40 {
		t.Fatalf("defaults: max %d (want -1: derived), per IP %d", c.MaxConnections, c.IPMaxConnections)
	}
	c, err = Load(spec, []string{"--ip-max-connections", "0"}, env(map[string]string{"MAX_CONNECTIONS": "5000"}), io.Discard)
	if err != nil || c.MaxConnections != 5000 || c.IPMaxConnections != 0 {
		t.Fatalf("set: max %d, per IP %d, err %v", c.MaxConnections, c.IPMaxConnections, err)
	}
	_, err = Load(spec, nil, env(map[string]string{"MAX_CONNECTIONS": "lots", "IP_MAX_CONNECTIONS": "-2"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MAX_CONNECTIONS") || !strings.Contains(err.Error(), "IP_MAX_CONNECTIONS") {
		t.Errorf("bad values: %v", err)
	}
}

// TestREADMEListsEverySetting keeps the README's configuration table true:
// every variable an app reads is there with its default.
func TestREADMEListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // variable -> its table row
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(line, "|")
		for _, name := range strings.Split(cells[1], ",") {
			rows[strings.Trim(strings.TrimSpace(name), "`")] = line
		}
	}
	for _, o := range options(8080) {
		row, ok := rows[o.env]
		if !ok {
			t.Errorf("README's configuration table has no row for %s", o.env)
			continue
		}
		if o.def != "" && o.env != "PORT" && !strings.Contains(strings.Split(row, "|")[2], o.def) {
			t.Errorf("README gives %s's default as %q; it is %s", o.env, strings.TrimSpace(strings.Split(row, "|")[2]), o.def)
		}
	}
}

func TestMessageBudget(t *testing.T) {
	c, err := Load(testSpec, nil, env(nil), io.Discard)
	if err != nil || c.MessageRate != (domain.RateRule{PerSecond: 100, Burst: 200}) {
		t.Fatalf("defaults: %+v, %v", c.MessageRate, err)
	}
	c, err = Load(testSpec, nil, env(map[string]string{"MESSAGE_RATE": "5", "MESSAGE_BURST": "7"}), io.Discard)
	if err != nil || c.MessageRate != (domain.RateRule{PerSecond: 5, Burst: 7}) {
		t.Fatalf("set: %+v, %v", c.MessageRate, err)
	}
	_, err = Load(testSpec, nil, env(map[string]string{"MESSAGE_RATE": "0", "MESSAGE_BURST": "many"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MESSAGE_RATE") || !strings.Contains(err.Error(), "MESSAGE_BURST") {
		t.Errorf("bad values: %v", err)
	}
}

func TestAllowedOrigins(t *testing.T) {
	spec := Spec{App: "gateway", DefaultPort: 3002, Settings: []Setting{Port, Origins}}
	c, err := Load(spec, nil, env(nil), io.Discard)
	if err != nil || c.AllowedOrigins != nil {
		t.Fatalf("default: %q, %v", c.AllowedOrigins, err)
	}
	c, err = Load(spec, nil, env(map[string]string{"ALLOWED_ORIGINS": " https://pixels.example.com, http://localhost:3000/ ,"}), io.Discard)
	if err != nil || strings.Join(c.AllowedOrigins, " ") != "https://pixels.example.com http://localhost:3000/" {
		t.Fatalf("list: %q, %v", c.AllowedOrigins, err)
	}
	if c, err = Load(spec, nil, env(map[string]string{"ALLOWED_ORIGINS": "*"}), io.Discard); err != nil || len(c.AllowedOrigins) != 1 || c.AllowedOrigins[0] != "*" {
		t.Fatalf("any: %q, %v", c.AllowedOrigins, err)
	}
	for _, bad := range []string{"pixels.example.com", "https://pixels.example.com/page", "http://"} {
		if _, err := Load(spec, nil, env(map[string]string{"ALLOWED_ORIGINS": bad}), io.Discard); err == nil || !strings.Contains(err.Error(), "ALLOWED_ORIGINS") {
			t.Errorf("ALLOWED_ORIGINS=%s: err %v, want a clear error", bad, err)
		}
	}
}

func TestCanvasLimits(t *testing.T) {
	spec := Spec{App: "api", DefaultPort: 3001, Settings: []Setting{Port, RESTLimit}}
	c, err := Load(spec, nil, env(nil), io.Discard)
	if err != nil || c.MaxCanvases != 1000 || c.CanvasesPerIPPerDay != 10 || c.MaxCanvasSide != 1024 || c.CanvasIdleDays != 90 {
		t.Fatalf("defaults: %d %d %d %d, %v", c.MaxCanvases, c.CanvasesPerIPPerDay, c.MaxCanvasSide, c.CanvasIdleDays, err)
	}
	if c, err := Load(spec, []string{"--canvas-idle-days=0"}, env(nil), io.Discard); err != nil || c.CanvasIdleDays != 0 {
		t.Fatalf("CANVAS_IDLE_DAYS=0: %d, %v", c.CanvasIdleDays, err)
	}
	c, err = Load(spec, []string{"--max-canvas-side=4096"}, env(map[string]string{"MAX_CANVASES": "0", "CANVASES_PER_IP_PER_DAY": "0"}), io.Discard)
	if err != nil || c.MaxCanvases != 0 || c.CanvasesPerIPPerDay != 0 || c.MaxCanvasSide != 4096 {
		t.Fatalf("set: %d %d %d, %v", c.MaxCanvases, c.CanvasesPerIPPerDay, c.MaxCanvasSide, err)
	}
	for _, bad := range []map[string]string{{"MAX_CANVAS_SIDE": "4097"}, {"MAX_CANVAS_SIDE": "0"}, {"MAX_CANVASES": "-1"}, {"CANVASES_PER_IP_PER_DAY": "lots"}, {"CANVAS_IDLE_DAYS": "-1"}} {
		if _, err := Load(spec, nil, env(bad), io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestRedisSentinelsAndWait(t *testing.T) {
	c, err := Load(testSpec, nil, env(nil), io.Discard)
	if err != nil || len(c.RedisSentinels) != 0 || c.RedisWaitReplicas != 0 || c.RedisWaitTimeout != 500*time.Millisecond {
		t.Fatalf("defaults: sentinels %v wait %d/%s, %v", c.RedisSentinels, c.RedisWaitReplicas, c.RedisWaitTimeout, err)
	}
	c, err = Load(testSpec, []string{"--redis-wait-replicas", "1"}, env(map[string]string{
		"REDIS_SENTINELS": " s1:26379, s2:26379 ,s3:26379", "REDIS_MASTER_NAME": "pixel", "REDIS_SENTINEL_PASSWORD": "x", "REDIS_WAIT_TIMEOUT": "250ms",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.RedisSentinels, []string{"s1:26379", "s2:26379", "s3:26379"}) || c.RedisMasterName != "pixel" ||
		c.RedisSentinelPassword != "x" || c.RedisWaitReplicas != 1 || c.RedisWaitTimeout != 250*time.Millisecond || !c.UsesRedis() {
		t.Errorf("read %+v", c)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string // a piece of the error
	}{
		{map[string]string{"REDIS_SENTINELS": "s1:26379", "REDIS_MASTER_NAME": "pixel", "REDIS_CLUSTER": "true"}, "REDIS_CLUSTER"},
		{map[string]string{"REDIS_SENTINELS": "s1:26379", "REDIS_MASTER_NAME": "pixel", "REDIS_URL": "redis://r:6379"}, "REDIS_URL"},
		{map[string]string{"REDIS_SENTINELS": "s1:26379"}, "REDIS_MASTER_NAME"},
		{map[string]string{"REDIS_MASTER_NAME": "pixel"}, "REDIS_SENTINELS"},
		{map[string]string{"REDIS_SENTINELS": "s1"}, "host:port"},
		{map[string]string{"REDIS_SENTINELS": "s1:0"}, "host:port"},
		{map[string]string{"REDIS_WAIT_REPLICAS": "1", "REDIS_CLUSTER": "true"}, "REDIS_WAIT_REPLICAS"},
		{map[string]string{"REDIS_WAIT_REPLICAS": "-1"}, "REDIS_WAIT_REPLICAS"},
		{map[string]string{"REDIS_WAIT_TIMEOUT": "5s"}, "REDIS_WAIT_TIMEOUT"},
		{map[string]string{"REDIS_WAIT_TIMEOUT": "1ms"}, "REDIS_WAIT_TIMEOUT"},
	} {
		if _, err := Load(testSpec, nil, env(tc.env), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: err %v, want one naming %s", tc.env, err, tc.want)
		}
	}
}

func TestGroupCommit(t *testing.T) {
	c, err := Load(testSpec, nil, env(nil), io.Discard)
	if err != nil || c.GroupCommitWindow != time.Millisecond || c.GroupCommitMax != 256 {
		t.Fatalf("defaults: window %s max %d, %v", c.GroupCommitWindow, c.GroupCommitMax, err)
	}
	c, err = Load(testSpec, []string{"--group-commit-max", "0"}, env(map[string]string{"GROUP_COMMIT_WINDOW": "2500us"}), io.Discard)
	if err != nil || c.GroupCommitWindow != 2500*time.Microsecond || c.GroupCommitMax != 0 {
		t.Fatalf("window %s max %d, %v", c.GroupCommitWindow, c.GroupCommitMax, err)
	}
	for _, bad := range []map[string]string{
		{"GROUP_COMMIT_WINDOW": "-1ms"}, {"GROUP_COMMIT_WINDOW": "1s"}, {"GROUP_COMMIT_WINDOW": "soon"},
		{"GROUP_COMMIT_MAX": "1001"}, {"GROUP_COMMIT_MAX": "-1"},
	} {
		if _, err := Load(testSpec, nil, env(bad), io.Discard); err == nil || !strings.Contains(err.Error(), "GROUP_COMMIT_") {
			t.Errorf("%v: err %v, want a clear error", bad, err)
		}
	}
}
