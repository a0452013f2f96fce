package k8s

// The invariants of Redis high availability in production (issue 11): a
// master, replicas and Sentinels spread so that a node drain never takes
// a majority, the apps following the Sentinels and waiting for a replica,
// the flows Sentinel needs and no others, and start scripts that follow
// the current master instead of starting a second one.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

func statefulSet(t *testing.T, objs []object, name string) *appsv1.StatefulSet {
	t.Helper()
	for _, s := range ofType[*appsv1.StatefulSet](objs) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no StatefulSet %s", name)
	return nil
}

// script is a container's shell script ([sh, -c, script]).
func script(t *testing.T, c corev1.Container) string {
	t.Helper()
	if len(c.Command) != 3 || c.Command[1] != "-c" {
		t.Fatalf("%s: want the command as [sh, -c, script], got %q", c.Name, c.Command)
	}
	return c.Command[2]
}

// monitorLine finds "sentinel monitor <name> <host> <port> <quorum>" in the
// Sentinels' script.
var monitorLine = regexp.MustCompile(`sentinel monitor (\S+) \S+ 6379 ([0-9]+)`)

// One pod per node for Redis and for the Sentinels, and budgets that let a
// drain take at most one of each: the Sentinels keep their quorum, and a
// master keeps a replica to confirm its writes.
func TestProductionRedisSurvivesANodeDrain(t *testing.T) {
	objs := rendered(t, prodOverlay)
	redis := statefulSet(t, objs, redisName)
	sentinels := statefulSet(t, objs, sentinelName)
	m := monitorLine.FindStringSubmatch(script(t, sentinels.Spec.Template.Spec.Containers[0]))
	if m == nil {
		t.Fatal("the Sentinels' script monitors no master")
	}
	quorum, _ := strconv.Atoi(m[2])
	nSentinels := replicasOf(sentinels.Spec.Replicas)
	if nSentinels < 3 || nSentinels%2 == 0 || int32(quorum) <= nSentinels/2 {
		t.Errorf("%d Sentinels with quorum %d: want an odd number, at least 3, and a majority quorum", nSentinels, quorum)
	}
	nRedis := replicasOf(redis.Spec.Replicas)
	minReplicas := flagValue(script(t, redis.Spec.Template.Spec.Containers[0]), "--min-replicas-to-write")
	if nRedis < 3 {
		t.Errorf("%d Redis pods: want a master and two replicas, so one may be drained while writes go on", nRedis)
	}
	for _, c := range []struct {
		sts      *appsv1.StatefulSet
		mayLose  int32 // pods a drain may take without harm
		whyLimit string
	}{
		{sentinels, nSentinels - int32(quorum), "the Sentinels would lose their quorum"},
		{redis, nRedis - 1 - int32(minReplicas), "the master would be left without the replicas min-replicas-to-write asks for"},
	} {
		name := c.sts.Name
		if !requiredAntiAffinityOnHostname(t, c.sts) {
			t.Errorf("%s: no required pod anti-affinity on kubernetes.io/hostname for its own pods: one node's drain could take several", name)
		}
		var mine []*policyv1.PodDisruptionBudget
		for _, pdb := range ofType[*policyv1.PodDisruptionBudget](objs) {
			if selectorMatches(t, pdb.Spec.Selector, c.sts.Spec.Template.Labels) {
				mine = append(mine, pdb)
			}
		}
		if len(mine) != 1 {
			t.Errorf("%s: %d PodDisruptionBudgets, want one", name, len(mine))
			continue
		}
		allowed := allowedDisruptions(t, mine[0], replicasOf(c.sts.Spec.Replicas))
		if allowed > c.mayLose || allowed < 1 {
			t.Errorf("%s: its budget allows %d disruptions at once; want 1..%d (more and %s)", name, allowed, c.mayLose, c.whyLimit)
		}
	}
}

func requiredAntiAffinityOnHostname(t *testing.T, sts *appsv1.StatefulSet) bool {
	t.Helper()
	a := sts.Spec.Template.Spec.Affinity
	if a == nil || a.PodAntiAffinity == nil {
		return false
	}
	for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		if term.TopologyKey == "kubernetes.io/hostname" && selectorMatches(t, term.LabelSelector, sts.Spec.Template.Labels) {
			return true
		}
	}
	return false
}

// flagValue is the number after flag in a script, -1 when absent.
func flagValue(script, flag string) int {
	m := regexp.MustCompile(regexp.QuoteMeta(flag) + ` ([0-9]+)`).FindStringSubmatch(script)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// The api and the gateways ask every Sentinel, by its stable name, for the
// master the Sentinels monitor, with the Sentinels' password, and wait
// for a replica on every write, no more replicas than remain with one pod
// down.
func TestProductionAppsFollowTheSentinels(t *testing.T) {
	objs := rendered(t, prodOverlay)
	ws := workloads(objs)
	sentinels := statefulSet(t, objs, sentinelName)
	svc := serviceNamed(ofType[*corev1.Service](objs), sentinels.Spec.ServiceName)
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != sentinelPort {
		t.Fatalf("the Sentinels' serviceName %q must name a headless Service on port %d", sentinels.Spec.ServiceName, sentinelPort)
	}
	var want []string
	for i := range replicasOf(sentinels.Spec.Replicas) {
		want = append(want, fmt.Sprintf("%s-%d.%s:%d", sentinels.Name, i, svc.Name, sentinelPort))
	}
	m := monitorLine.FindStringSubmatch(script(t, sentinels.Spec.Template.Spec.Containers[0]))
	if m == nil {
		t.Fatal("the Sentinels' script monitors no master")
	}
	nRedis := int(replicasOf(statefulSet(t, objs, redisName).Spec.Replicas))
	for _, app := range []string{"api", "gateway"} {
		c := ws[app].Template.Spec.Containers[0]
		if got, _ := envValue(t, objs, c, "REDIS_SENTINELS"); got != strings.Join(want, ",") {
			t.Errorf("%s: REDIS_SENTINELS=%q, want every Sentinel: %q", app, got, strings.Join(want, ","))
		}
		if got, _ := envValue(t, objs, c, "REDIS_MASTER_NAME"); got != m[1] {
			t.Errorf("%s: REDIS_MASTER_NAME=%q, the Sentinels monitor %q", app, got, m[1])
		}
		waitFor, _ := envValue(t, objs, c, "REDIS_WAIT_REPLICAS")
		if n, err := strconv.Atoi(waitFor); err != nil || n < 1 || n > nRedis-2 {
			t.Errorf("%s: REDIS_WAIT_REPLICAS=%q; want 1..%d: at least one (no acknowledged write lost), and no more than remain with one of %d pods down", app, waitFor, nRedis-2, nRedis)
		}
		if url, _ := envValue(t, objs, c, "REDIS_URL"); url != "" {
			t.Errorf("%s: REDIS_URL is set; the apps refuse it with REDIS_SENTINELS", app)
		}
		found := false
		for _, e := range c.Env {
			if e.Name == "REDIS_SENTINEL_PASSWORD" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
				generatedFrom(e.ValueFrom.SecretKeyRef.Name, redisSecret) && e.ValueFrom.SecretKeyRef.Key == "password" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: REDIS_SENTINEL_PASSWORD must come from Secret %s key password, the Sentinels' requirepass", app, redisSecret)
		}
	}
}

// The flows Sentinel needs, and that nobody else gets in.
func TestProductionSentinelFlows(t *testing.T) {
	objs := rendered(t, prodOverlay)
	policies := ofType[*networkingv1.NetworkPolicy](objs)
	ws := workloads(objs)
	if _, ok := ws[sentinelName]; !ok {
		t.Fatal("no Sentinels")
	}
	pods := map[string]peer{}
	for name, w := range ws {
		pods[name] = peer{name: name, namespace: namespace, nsLabels: map[string]string{"kubernetes.io/metadata.name": namespace},
			labels: w.Template.Labels, container: w.Template.Spec.Containers[0]}
	}
	dns := nsPeer("kube-dns", "kube-system", map[string]string{"k8s-app": "kube-dns"})
	stranger := nsPeer("a pod elsewhere", "default", map[string]string{"app": "curl"})
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	sentinel, redis := pods[sentinelName], pods[redisName]
	for _, f := range []struct {
		src, dst peer
		port     int32
		proto    corev1.Protocol
		want     bool
	}{
		{pods["api"], sentinel, sentinelPort, tcp, true},
		{pods["gateway"], sentinel, sentinelPort, tcp, true},
		{pods["web"], sentinel, sentinelPort, tcp, false},
		{stranger, sentinel, sentinelPort, tcp, false},
		{sentinel, sentinel, sentinelPort, tcp, true},
		{sentinel, redis, redisPort, tcp, true},
		{redis, redis, redisPort, tcp, true},
		{redis, sentinel, sentinelPort, tcp, true},
		{sentinel, dns, 53, udp, true},
		{redis, dns, 53, udp, true},
		{sentinel, pods["api"], apps["api"], tcp, false},
		{redis, sentinel, redisPort, tcp, false},
	} {
		if got := policyAllows(t, policies, f.src, f.dst, f.port, f.proto); got != f.want {
			t.Errorf("%s -> %s:%d/%s allowed=%v, want %v", f.src.name, f.dst.name, f.port, f.proto, got, f.want)
		}
	}
}

// startRedis runs prod's Redis start script as pod host with stand-ins:
// redis-cli answers sentinelAnswer to the Sentinels (nothing when empty:
// none reachable) and "master" to ROLE on masterPod only; redis-server
// prints its arguments. It returns them.
func startRedis(t *testing.T, sh, script, host, sentinelAnswer, masterPod string) string {
	t.Helper()
	dir := t.TempDir()
	fakeBin(t, dir, "redis-cli", `case "$*" in
*"sentinel get-master-addr-by-name"*) [ -n "$SENTINEL_ANSWER" ] || exit 1; echo "$SENTINEL_ANSWER"; echo 6379 ;;
*role*) case "$*" in *"-h $MASTER_POD "*) echo master ;; *) [ -n "$MASTER_POD" ] && echo slave || exit 1 ;; esac ;;
esac
`)
	out := filepath.Join(dir, "args")
	fakeBin(t, dir, "redis-server", `echo "$@" > "$OUT"`+"\n")
	cmd := exec.Command(sh, "-c", script)
	cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "OUT=" + out, "REDIS_PASSWORD=pw", "HOSTNAME=" + host,
		"SENTINEL_ANSWER=" + sentinelAnswer, "MASTER_POD=" + masterPod}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start as %s: %v\n%s", host, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// A Redis pod starts as a replica of the master the Sentinels name (as the
// master when that is itself); with no Sentinel answering, of a pod that
// says it is a master; failing that, of redis-0. Garbage from a Sentinel is
// not followed. Every pod announces its stable name, authenticates to its
// master and refuses writes without a replica.
func TestProductionRedisStartFollowsTheMaster(t *testing.T) {
	sh := requireTool(t, "sh")
	objs := rendered(t, prodOverlay)
	s := script(t, statefulSet(t, objs, redisName).Spec.Template.Spec.Containers[0])
	for _, c := range []struct {
		host, sentinels, masterPod string
		replicaOf                  string // "" : starts as the master
	}{
		{"redis-1", "redis-2.redis", "", "redis-2.redis"},
		{"redis-2", "redis-2.redis", "", ""},
		{"redis-0", "redis-1.redis", "", "redis-1.redis"}, // redis-0 after a failover: not a second master
		{"redis-1", "NOAUTH Authentication required.", "", "redis-0.redis"},
		{"redis-0", "", "redis-2.redis", "redis-2.redis"},
		{"redis-1", "", "", "redis-0.redis"},
		{"redis-0", "", "", ""},
	} {
		args := startRedis(t, sh, s, c.host, c.sentinels, c.masterPod)
		got := ""
		if m := regexp.MustCompile(`--replicaof (\S+) 6379`).FindStringSubmatch(args); m != nil {
			got = m[1]
		}
		if got != c.replicaOf {
			t.Errorf("%s with Sentinels saying %q and master pod %q: replicaof %q, want %q (args %q)", c.host, c.sentinels, c.masterPod, got, c.replicaOf, args)
		}
		for _, want := range []string{"--replica-announce-ip " + c.host + ".redis", "--masterauth pw", "--min-replicas-to-write 1", "--requirepass pw"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s: redis-server %q lacks %q", c.host, args, want)
			}
		}
	}
}

// A Sentinel writes its configuration where it may rewrite it, monitoring
// the master the other Sentinels name (redis-0 on the first start), with
// a quick down-after, hostnames, and the password; without a password it
// does not start.
func TestProductionSentinelConfiguration(t *testing.T) {
	sh := requireTool(t, "sh")
	objs := rendered(t, prodOverlay)
	sts := statefulSet(t, objs, sentinelName)
	c := sts.Spec.Template.Spec.Containers[0]
	s := script(t, c)
	writable := false
	for _, m := range c.VolumeMounts {
		writable = writable || m.MountPath == "/data" && !m.ReadOnly
	}
	if !writable {
		t.Error("the Sentinel's configuration directory /data is not a writable volume")
	}
	run := func(password, host, answer string) (string, error) {
		dir := t.TempDir()
		fakeBin(t, dir, "redis-cli", `case "$*" in *"get-master-addr-by-name"*) [ -n "$ANSWER" ] || exit 1; echo "$ANSWER" ;; *) exit 1 ;; esac`+"\n")
		fakeBin(t, dir, "redis-server", `cat "$1"`+"\n")
		cmd := exec.Command(sh, "-c", s)
		cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "REDIS_PASSWORD=" + password, "HOSTNAME=" + host, "ANSWER=" + answer, "SENTINEL_DIR=" + dir}
		b, err := cmd.Output()
		return string(b), err
	}
	if conf, err := run("", "redis-sentinel-0", ""); err == nil {
		t.Errorf("without a password the Sentinel started with:\n%s", conf)
	}
	for _, c := range []struct{ host, answer, master string }{
		{"redis-sentinel-1", "", "redis-0.redis"},
		{"redis-sentinel-1", "redis-2.redis", "redis-2.redis"},
	} {
		conf, err := run("pw", c.host, c.answer)
		if err != nil {
			t.Fatalf("%s: %v", c.host, err)
		}
		for _, want := range []string{
			"sentinel monitor pixel " + c.master + " 6379 2",
			"sentinel resolve-hostnames yes", "sentinel announce-hostnames yes",
			"sentinel announce-ip " + c.host + ".redis-sentinel",
			"requirepass pw", "sentinel auth-pass pixel pw",
		} {
			if !strings.Contains(conf, want+"\n") {
				t.Errorf("%s: configuration lacks %q:\n%s", c.host, want, conf)
			}
		}
		if d := flagValue(conf, "sentinel down-after-milliseconds pixel"); d < 1000 || d > 5000 {
			t.Errorf("%s: down-after-milliseconds %d; want 1000..5000 (a failover within seconds, not on a hiccup)", c.host, d)
		}
	}
}
