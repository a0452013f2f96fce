package k8s

// The invariants of a production rollout (issue 14): no CPU throttling and
// a GC that starts before the OOM killer; nothing that fails open (the
// Redis password, config changes that would not reach the pods, trust in
// X-Forwarded-For); default-deny networking; probes and metrics on an
// admin port the Ingress never routes; Redis' own hygiene; the gateways'
// autoscaler; and old clients' WebSocket at /.

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// containerPortNumber resolves a port given by number or name against a
// container's ports (0 when it names none).
func containerPortNumber(c corev1.Container, port intstr.IntOrString) int32 {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort
		}
	}
	return 0
}

// checkResources: every container requests CPU and memory and has a
// memory limit. The Go apps have no CPU limit, or whole cores with
// GOMAXPROCS set to them: Go (1.25 on) sets GOMAXPROCS from a CPU limit but
// never below 2, so a fractional limit is used up early in each period
// and the app is throttled for the rest. Redis has requests equal to its
// limits (Guaranteed QoS, evicted last).
func checkResources(t *testing.T, where, workloadName string, c corev1.Container) {
	t.Helper()
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := req[res]; !ok || q.Sign() <= 0 {
			t.Errorf("%s: needs a positive %s request", where, res)
		}
		if l, ok := lim[res]; ok && req.Name(res, resource.DecimalSI).Cmp(l) > 0 {
			t.Errorf("%s: %s request above its limit", where, res)
		}
	}
	if m, ok := lim[corev1.ResourceMemory]; !ok || m.Sign() <= 0 {
		t.Errorf("%s: needs a memory limit", where)
	}
	if workloadName == redisName {
		for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			r, l := req[res], lim[res]
			if r.Cmp(l) != 0 {
				t.Errorf("%s: %s request %s and limit %s differ: Redis must be Guaranteed QoS", where, res, r.String(), l.String())
			}
		}
		return
	}
	cpu, limited := lim[corev1.ResourceCPU]
	if !limited {
		return
	}
	cores := cpu.MilliValue() / 1000
	gomaxprocs := ""
	for _, e := range c.Env {
		if e.Name == "GOMAXPROCS" {
			gomaxprocs = e.Value
		}
	}
	if cpu.MilliValue()%1000 != 0 || gomaxprocs != strconv.FormatInt(cores, 10) {
		t.Errorf("%s: CPU limit %s: a Go app is throttled under a fractional limit; drop it, or use whole cores with GOMAXPROCS=%d", where, cpu.String(), max(cores, 1))
	}
}

// goMemLimit parses GOMEMLIMIT as the Go runtime does: a number of bytes
// with an optional B, KiB, MiB, GiB or TiB suffix.
func goMemLimit(v string) (int64, error) {
	m := regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`).FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("GOMEMLIMIT %q is not a Go memory size", v)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, err
	}
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[m[2]]
	return n << shift, nil
}

// GOMEMLIMIT at about 90 % of the memory limit: at 100 % the GC only
// works hard once the container is already at the OOM killer's line.
func TestGoMemLimitIsAboutNinetyPercentOfTheMemoryLimit(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		for _, app := range sortedNames(apps) {
			c := ws[app].Template.Spec.Containers[0]
			var raw string
			for _, e := range c.Env {
				if e.Name == "GOMEMLIMIT" {
					if e.ValueFrom != nil {
						t.Errorf("%s: GOMEMLIMIT from %v is the whole limit; set about 90 %% of it", app, e.ValueFrom)
					}
					raw = e.Value
				}
			}
			soft, err := goMemLimit(raw)
			if err != nil {
				t.Errorf("%s: %v", app, err)
				continue
			}
			hard := c.Resources.Limits[corev1.ResourceMemory]
			if ratio := float64(soft) / float64(hard.Value()); ratio < 0.85 || ratio > 0.95 {
				t.Errorf("%s: GOMEMLIMIT %s is %.0f%% of the memory limit %s, want 85-95%%", app, raw, 100*ratio, hard.String())
			}
		}
	})
}

// The old value, every private range, let any pod forge X-Forwarded-For.
// Now: set for every app (trusted peers are also exempt from
// IP_MAX_CONNECTIONS, so without it every client behind the ingress shares
// one connection cap), valid, no wider than a cluster's pod CIDR, and
// backed by a NetworkPolicy that admits only the ingress controller to the
// public port (TestNetworkPolicies).
func checkTrustedProxies(t *testing.T, objs []object, app string, c corev1.Container) {
	t.Helper()
	v, _ := envValue(t, objs, c, "TRUSTED_PROXIES")
	if v == "" {
		t.Errorf("%s: TRUSTED_PROXIES unset: every client behind the ingress shares one rate bucket and one connection cap", app)
		return
	}
	for _, cidr := range strings.Split(v, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
		switch {
		case err != nil:
			t.Errorf("%s: TRUSTED_PROXIES=%q: %v", app, v, err)
		case p.Addr().Is4() && p.Bits() < 16, p.Addr().Is6() && p.Bits() < 48:
			t.Errorf("%s: TRUSTED_PROXIES names %s, wider than a pod CIDR: name only the ingress controller's pods", app, p)
		}
	}
}

// Changing a setting or the Redis password must roll every pod that reads
// it; a ConfigMap or Secret edited in place is read by nobody until the
// pods restart for another reason. kustomize's generators put a hash of
// the content in the name; this renders each overlay again with one value
// changed and checks that exactly the readers' pod templates changed.
func TestConfigAndSecretChangesRollThePods(t *testing.T) {
	readers := func(objs []object, prefix string) []string {
		var out []string
		for name, w := range workloads(objs) {
			if strings.Contains(string(mustJSON(t, w.Template)), `"`+prefix) {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out
	}
	for _, c := range []struct {
		overlay, change string
		readers         []string
	}{
		{devOverlay, "configMapGenerator:\n  - {name: pixel-config, behavior: merge, literals: [LOG_LEVEL=warn]}\n", []string{"api", "gateway", "web"}},
		{prodOverlay, "configMapGenerator:\n  - {name: pixel-config, behavior: merge, literals: [LOG_LEVEL=warn]}\n", []string{"api", "gateway", "web"}},
		{devOverlay, "secretGenerator:\n  - {name: redis-auth, behavior: replace, literals: [password=another]}\n", []string{"api", "gateway", redisName}},
	} {
		t.Run(strings.TrimPrefix(c.overlay, "k8s/overlays/")+"/"+strings.Fields(c.change)[0], func(t *testing.T) {
			before := rendered(t, c.overlay)
			after := decoded(t, renderKustomization(t, fmt.Sprintf(
				"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources: [../%s]\n%s",
				namespace, c.overlay, c.change), map[string]string{}))
			wb, wa := workloads(before), workloads(after)
			var changed []string
			for name := range wb {
				if string(mustJSON(t, wb[name].Template)) != string(mustJSON(t, wa[name].Template)) {
					changed = append(changed, name)
				}
			}
			sort.Strings(changed)
			if fmt.Sprint(changed) != fmt.Sprint(c.readers) {
				t.Errorf("pod templates changed: %v, want exactly the readers %v", changed, c.readers)
			}
			prefix := "pixel-config-"
			if strings.HasPrefix(c.change, "secret") {
				prefix = redisSecret + "-"
			}
			if got := readers(before, prefix); fmt.Sprint(got) != fmt.Sprint(c.readers) {
				t.Errorf("workloads reading %s*: %v, want %v", prefix, got, c.readers)
			}
		})
	}
}

// peer is a pod that opens or takes a connection.
type peer struct {
	name      string
	namespace string
	nsLabels  map[string]string
	labels    map[string]string
	container corev1.Container // for named ports; empty for outsiders
}

func nsPeer(name, ns string, podLabels map[string]string) peer {
	return peer{name: name, namespace: ns, nsLabels: map[string]string{"kubernetes.io/metadata.name": ns}, labels: podLabels}
}

// policyAllows evaluates the NetworkPolicies of one namespace for a
// connection from src to dst on port/proto, as the API defines them: a
// direction is open when no policy selects the pod for it, and otherwise
// when some rule of a policy that selects it admits the other end and the
// port. Only pods of this namespace are governed by these policies.
func policyAllows(t *testing.T, policies []*networkingv1.NetworkPolicy, src, dst peer, port int32, proto corev1.Protocol) bool {
	t.Helper()
	side := func(self, other peer, typ networkingv1.PolicyType) bool {
		if self.namespace != namespace {
			return true
		}
		selected := false
		for _, np := range policies {
			if !containsPolicyType(np.Spec.PolicyTypes, typ) || !labelSelectorMatches(t, &np.Spec.PodSelector, self.labels) {
				continue
			}
			selected = true
			if typ == networkingv1.PolicyTypeIngress {
				for _, r := range np.Spec.Ingress {
					if len(r.From) == 0 && portsAdmit(r.Ports, dst.container, port, proto) {
						return true
					}
					for _, p := range r.From {
						if peerMatches(t, p, np.Namespace, other) && portsAdmit(r.Ports, dst.container, port, proto) {
							return true
						}
					}
				}
			} else {
				for _, r := range np.Spec.Egress {
					if len(r.To) == 0 && portsAdmit(r.Ports, dst.container, port, proto) {
						return true
					}
					for _, p := range r.To {
						if peerMatches(t, p, np.Namespace, other) && portsAdmit(r.Ports, dst.container, port, proto) {
							return true
						}
					}
				}
			}
		}
		return !selected
	}
	return side(src, dst, networkingv1.PolicyTypeEgress) && side(dst, src, networkingv1.PolicyTypeIngress)
}

func labelSelectorMatches(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("invalid selector %v: %v", sel, err)
	}
	return s.Matches(labels.Set(l)) // an empty selector matches everything
}

func peerMatches(t *testing.T, p networkingv1.NetworkPolicyPeer, policyNS string, other peer) bool {
	t.Helper()
	if p.IPBlock != nil {
		return false // no rule here should admit by address
	}
	if p.NamespaceSelector == nil {
		if other.namespace != policyNS {
			return false
		}
	} else if !labelSelectorMatches(t, p.NamespaceSelector, other.nsLabels) {
		return false
	}
	return p.PodSelector == nil || labelSelectorMatches(t, p.PodSelector, other.labels)
}

func portsAdmit(ports []networkingv1.NetworkPolicyPort, dst corev1.Container, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil || containerPortNumber(dst, *p.Port) == port || (p.Port.Type == intstr.Int && p.Port.IntVal == port) {
			return true
		}
	}
	return false
}

// Default deny in both directions, then exactly the flows the system
// needs: Traefik to the apps' public ports, Prometheus to their admin
// port, the apps to DNS, api and gateway to Redis. Evaluated against the
// rendered pods' real labels and named ports.
func TestNetworkPolicies(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, overlay string, objs []object) {
		policies := ofType[*networkingv1.NetworkPolicy](objs)
		denyAll := false
		for _, np := range policies {
			if len(np.Spec.PodSelector.MatchLabels)+len(np.Spec.PodSelector.MatchExpressions) == 0 &&
				containsPolicyType(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && containsPolicyType(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) &&
				len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 {
				denyAll = true
			}
		}
		if !denyAll {
			t.Error("no default-deny NetworkPolicy (every pod, ingress and egress, no rules)")
		}
		ws := workloads(objs)
		pods := map[string]peer{}
		for name, w := range ws {
			pods[name] = peer{name: name, namespace: namespace, nsLabels: map[string]string{"kubernetes.io/metadata.name": namespace},
				labels: w.Template.Labels, container: w.Template.Spec.Containers[0]}
		}
		traefik := nsPeer("traefik", "kube-system", map[string]string{"app.kubernetes.io/name": "traefik"})
		dns := nsPeer("kube-dns", "kube-system", map[string]string{"k8s-app": "kube-dns"})
		prometheus := nsPeer("prometheus", "monitoring", map[string]string{"app.kubernetes.io/name": "prometheus"})
		stranger := nsPeer("a pod elsewhere", "default", map[string]string{"app": "curl"})
		internet := peer{name: "the internet", namespace: "", labels: map[string]string{}}
		tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP

		type flow struct {
			src, dst peer
			port     int32
			proto    corev1.Protocol
			want     bool
		}
		var flows []flow
		for app, port := range apps {
			flows = append(flows,
				flow{traefik, pods[app], port, tcp, true},
				flow{traefik, pods[app], adminPort, tcp, false},
				flow{prometheus, pods[app], adminPort, tcp, true},
				flow{prometheus, pods[app], port, tcp, false},
				flow{stranger, pods[app], port, tcp, false},
				flow{pods["web"], pods[app], port, tcp, false},
				flow{pods[app], dns, 53, udp, true},
				flow{pods[app], dns, 53, tcp, true},
				flow{pods[app], internet, 443, tcp, false},
				flow{pods[app], pods[redisName], redisPort, tcp, app != "web"},
			)
		}
		flows = append(flows,
			flow{traefik, pods[redisName], redisPort, tcp, false},
			flow{stranger, pods[redisName], redisPort, tcp, false},
			flow{prometheus, pods[redisName], redisPort, tcp, false},
			flow{pods[redisName], internet, 443, tcp, false},
			// With Sentinel, Redis pods find each other by name.
			flow{pods[redisName], dns, 53, udp, overlay == prodOverlay},
		)
		for _, f := range flows {
			if got := policyAllows(t, policies, f.src, f.dst, f.port, f.proto); got != f.want {
				t.Errorf("%s -> %s:%d/%s allowed=%v, want %v", f.src.name, f.dst.name, f.port, f.proto, got, f.want)
			}
		}
	})
}

// The admin port is for the kubelet and Prometheus only: no Service
// exposes it, so neither the Ingress nor the IngressRoute can route it.
func TestAdminPortIsNeverRouted(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		for _, svc := range ofType[*corev1.Service](objs) {
			w, ok := ws[svc.Name]
			if !ok {
				continue
			}
			for _, p := range svc.Spec.Ports {
				if containerPortNumber(w.Template.Spec.Containers[0], p.TargetPort) == adminPort {
					t.Errorf("Service %s exposes the admin port %d", svc.Name, adminPort)
				}
			}
		}
	})
}

// Old clients open their WebSocket at /, which the Ingress sends to the
// web app; an IngressRoute sends exactly the upgrade requests for / to the
// gateways.
func TestOldClientsWebSocketAtRootReachesAGateway(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		routes := ofType[*ingressRoute](objs)
		if len(routes) != 1 {
			t.Fatalf("want one IngressRoute, got %d", len(routes))
		}
		services := ofType[*corev1.Service](objs)
		found := false
		for _, r := range routes[0].Spec.Routes {
			m := r.Match
			if !strings.Contains(m, "Path(`/`)") || !regexp.MustCompile("Header(Regexp)?\\(`Upgrade`, `[^`]*websocket").MatchString(m) || !strings.Contains(m, "&&") {
				continue
			}
			if r.Kind != "Rule" || r.Priority <= 0 || len(r.Services) != 1 {
				t.Errorf("route %q: want kind Rule, a positive priority and one service", m)
				continue
			}
			s := r.Services[0]
			svc := serviceNamed(services, s.Name)
			if s.Name != "gateway" || svc == nil || !servicePortExists(svc, networkingv1.ServiceBackendPort{Name: s.Port.StrVal, Number: s.Port.IntVal}) {
				t.Errorf("route %q goes to %s:%s, want the gateway Service's port", m, s.Name, s.Port.String())
				continue
			}
			found = true
		}
		if !found {
			t.Error("no IngressRoute rule sends an Upgrade: websocket request for / to the gateways")
		}
		for _, ep := range routes[0].Spec.EntryPoints {
			if ep != "web" && ep != "websecure" {
				t.Errorf("entry point %q is not one of k3s' Traefik (web, websecure)", ep)
			}
		}
	})
}

// For Prometheus Operator users: the PodMonitor scrapes every app on the
// admin port, and nothing else.
func TestPodMonitorScrapesTheAdminPort(t *testing.T) {
	objs := prodWithPodMonitor(t)
	pms := ofType[*podMonitor](objs)
	if len(pms) != 1 {
		t.Fatalf("want one PodMonitor, got %d", len(pms))
	}
	pm := pms[0]
	if pm.Namespace != namespace {
		t.Errorf("PodMonitor in namespace %q, want %q", pm.Namespace, namespace)
	}
	ws := workloads(objs)
	for name, w := range ws {
		want := name != redisName && name != sentinelName
		if got := labelSelectorMatches(t, &pm.Spec.Selector, w.Template.Labels); got != want {
			t.Errorf("PodMonitor selects %s: %v, want %v", name, got, want)
		}
	}
	if len(pm.Spec.PodMetricsEndpoints) != 1 {
		t.Fatalf("want one endpoint, got %d", len(pm.Spec.PodMetricsEndpoints))
	}
	ep := pm.Spec.PodMetricsEndpoints[0]
	for _, app := range sortedNames(apps) {
		if containerPortNumber(ws[app].Template.Spec.Containers[0], intstr.FromString(ep.Port)) != adminPort || ep.Path != "/metrics" {
			t.Errorf("%s: the PodMonitor scrapes port %q path %q, want the admin port's /metrics", app, ep.Port, ep.Path)
		}
	}
	// The rest of prod is unchanged by the component.
	if len(objs) != len(rendered(t, prodOverlay))+1 {
		t.Errorf("the component adds %d objects, want the PodMonitor only", len(objs)-len(rendered(t, prodOverlay)))
	}
}

// In prod the gateways scale on connections per pod; removing a pod costs
// its clients a reconnect, so scale-down waits long.
func TestGatewaysScaleOnConnections(t *testing.T) {
	objs := rendered(t, prodOverlay)
	hpas := ofType[*autoscalingv2.HorizontalPodAutoscaler](objs)
	if len(hpas) != 1 {
		t.Fatalf("want one HorizontalPodAutoscaler, got %d", len(hpas))
	}
	h := hpas[0]
	if ref := h.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != "gateway" || ref.APIVersion != "apps/v1" {
		t.Errorf("scales %+v, want the gateway Deployment", ref)
	}
	if replicasOf(h.Spec.MinReplicas) < 2 || h.Spec.MaxReplicas <= replicasOf(h.Spec.MinReplicas) {
		t.Errorf("min %d max %d: want at least 2, and room above", replicasOf(h.Spec.MinReplicas), h.Spec.MaxReplicas)
	}
	ok := false
	for _, m := range h.Spec.Metrics {
		if m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil && m.Pods.Metric.Name == "pixel_ws_connections" &&
			m.Pods.Target.Type == autoscalingv2.AverageValueMetricType && m.Pods.Target.AverageValue != nil && m.Pods.Target.AverageValue.Sign() > 0 {
			ok = true
		}
	}
	if !ok || len(h.Spec.Metrics) != 1 {
		t.Errorf("metrics %+v, want only pixel_ws_connections per pod (Pods, AverageValue)", h.Spec.Metrics)
	}
	b := h.Spec.Behavior
	if b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds < 600 {
		t.Errorf("scale-down stabilisation must be at least 10 minutes: each removed pod sends its clients to reconnect")
	}
	if d := workloads(objs)["gateway"].Object.(*appsv1.Deployment); d.Spec.Replicas != nil {
		t.Errorf("the gateway Deployment pins %d replicas: every apply would override the autoscaler", *d.Spec.Replicas)
	}
}

func redisContainer(t *testing.T, objs []object) (*appsv1.StatefulSet, corev1.Container) {
	t.Helper()
	for _, s := range ofType[*appsv1.StatefulSet](objs) {
		if s.Name == redisName {
			return s, s.Spec.Template.Spec.Containers[0]
		}
	}
	t.Fatal("no redis StatefulSet")
	return nil, corev1.Container{}
}

// fakeBin writes an executable shell script into dir.
func fakeBin(t *testing.T, dir, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil { //nolint:gosec // a test's own stand-in, run by the test
		t.Fatal(err)
	}
}

// Redis' command is shell; run it with a stand-in redis-server: without a
// password it must refuse to start, with one it must require it, and it
// must bound its memory without evicting anything.
func TestRedisRefusesToRunOpenAndBoundsItsMemory(t *testing.T) {
	sh := requireTool(t, "sh")
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		sts, c := redisContainer(t, objs)
		if len(c.Command) != 3 || c.Command[1] != "-c" {
			t.Fatalf("want the command as [sh, -c, script], got %q", c.Command)
		}
		dir := t.TempDir()
		fakeBin(t, dir, "redis-server", `echo "$@" > "$OUT"`+"\n")
		run := func(password string) (string, error) {
			out := filepath.Join(dir, "args")
			_ = os.Remove(out)
			cmd := exec.Command(sh, "-c", c.Command[2])
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "OUT=" + out, "REDIS_PASSWORD=" + password}
			err := cmd.Run()
			b, _ := os.ReadFile(out)
			return string(b), err
		}
		if args, err := run(""); err == nil || args != "" {
			t.Errorf("with an empty password the command ran redis-server %q (err %v); it must refuse", args, err)
		}
		args, err := run("s3cret")
		if err != nil {
			t.Fatalf("with a password: %v", err)
		}
		fields := strings.Fields(args)
		flag := func(name string) string {
			for i := range fields[:len(fields)-1] {
				if fields[i] == name {
					return fields[i+1]
				}
			}
			return ""
		}
		if flag("--requirepass") != "s3cret" {
			t.Errorf("redis-server %q does not require the password", args)
		}
		if flag("--maxmemory-policy") != "noeviction" {
			t.Errorf("redis-server %q: want --maxmemory-policy noeviction (refuse writes, never drop canvas keys)", args)
		}
		maxmem := flag("--maxmemory")
		m := regexp.MustCompile(`^([0-9]+)mb$`).FindStringSubmatch(maxmem)
		limit := c.Resources.Limits[corev1.ResourceMemory]
		if m == nil {
			t.Errorf("--maxmemory %q: want <n>mb", maxmem)
		} else if n, _ := strconv.ParseInt(m[1], 10, 64); n<<20 > limit.Value()*3/4 {
			t.Errorf("--maxmemory %s leaves too little of the %s limit for buffers and an AOF rewrite (at most 75%%)", maxmem, limit.String())
		}
		if sts.Spec.Template.Spec.PriorityClassName == "" {
			t.Error("redis has no priorityClassName")
		} else {
			found := false
			for _, pc := range ofType[*schedulingv1.PriorityClass](objs) {
				found = found || pc.Name == sts.Spec.Template.Spec.PriorityClassName && pc.Value > 0 && !pc.GlobalDefault
			}
			if !found {
				t.Errorf("PriorityClass %s is not rendered (or not positive, or global default)", sts.Spec.Template.Spec.PriorityClassName)
			}
		}
		pdbs := 0
		for _, pdb := range ofType[*policyv1.PodDisruptionBudget](objs) {
			if selectorMatches(t, pdb.Spec.Selector, sts.Spec.Template.Labels) {
				pdbs++
			}
		}
		if pdbs != 1 {
			t.Errorf("%d PodDisruptionBudgets select redis, want 1", pdbs)
		}
	})
}

// While Redis replays a large append-only file it answers LOADING: the
// startup and liveness probes accept that (killing it would restart the
// replay), readiness does not. Run with a stand-in redis-cli.
func TestRedisProbesAcceptLoadingExceptReadiness(t *testing.T) {
	sh := requireTool(t, "sh")
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		_, c := redisContainer(t, objs)
		dir := t.TempDir()
		fakeBin(t, dir, "redis-cli", `echo "$REPLY_LINE"`+"\n")
		for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if p == nil || p.Exec == nil {
				t.Errorf("no exec %s probe", name)
				continue
			}
			for reply, want := range map[string]bool{
				"PONG": true, "LOADING Redis is loading the dataset in memory": name != "readiness",
				"NOAUTH Authentication required.": false, "Could not connect to Redis at 127.0.0.1:6379: Connection refused": false,
			} {
				cmd := exec.Command(p.Exec.Command[0], p.Exec.Command[1:]...)
				if p.Exec.Command[0] == "sh" {
					cmd = exec.Command(sh, p.Exec.Command[1:]...)
				}
				cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "REPLY_LINE=" + reply}
				if got := cmd.Run() == nil; got != want {
					t.Errorf("%s probe on %q passes=%v, want %v", name, reply, got, want)
				}
			}
		}
		if p := c.StartupProbe; p != nil && p.PeriodSeconds*p.FailureThreshold < 120 {
			t.Errorf("the startup probe gives Redis %ds to start; want at least 2 minutes for a large AOF", p.PeriodSeconds*p.FailureThreshold)
		}
	})
}
