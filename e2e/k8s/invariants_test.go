package k8s

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	namespace  = "pixel-playground"
	nameLabel  = "app.kubernetes.io/name"
	partLabel  = "app.kubernetes.io/component"
	systemName = "pixel-playground"
	redisName  = "redis"
	// sentinelName is the Sentinels' StatefulSet, in the overlays with
	// Redis high availability (prod).
	sentinelName = "redis-sentinel"
	sentinelPort = 26379
	redisPort    = 6379
	configName   = "pixel-config"
	redisSecret  = "redis-auth"
	// adminPort is ADMIN_PORT: /health, /ready and /metrics, for the
	// kubelet and Prometheus, never routed by the Ingress.
	adminPort = 9090
)

// apps are the three Go services with their ports; Redis is the fourth
// workload.
var apps = map[string]int32{"api": 3001, "gateway": 3002, "web": 3000}

// workload is a Deployment or StatefulSet seen through what the checks
// need.
type workload struct {
	Kind     string
	Name     string
	Replicas int32
	Template *corev1.PodTemplateSpec
	Selector *metav1.LabelSelector
	Object   metav1.Object
}

func workloads(objs []object) map[string]workload {
	ws := map[string]workload{}
	for _, o := range objs {
		switch v := o.Obj.(type) {
		case *appsv1.Deployment:
			ws[v.Name] = workload{"Deployment", v.Name, replicasOf(v.Spec.Replicas), &v.Spec.Template, v.Spec.Selector, v}
		case *appsv1.StatefulSet:
			ws[v.Name] = workload{"StatefulSet", v.Name, replicasOf(v.Spec.Replicas), &v.Spec.Template, v.Spec.Selector, v}
		}
	}
	return ws
}

// replicasOf applies the API default of 1.
func replicasOf(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func ofType[T any](objs []object) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.Obj.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func configMap(t *testing.T, objs []object, name string) *corev1.ConfigMap {
	t.Helper()
	for _, cm := range ofType[*corev1.ConfigMap](objs) {
		if cm.Name == name {
			return cm
		}
	}
	t.Fatalf("no ConfigMap %s", name)
	return nil
}

func forEachOverlay(t *testing.T, check func(t *testing.T, overlay string, objs []object)) {
	for _, overlay := range overlays {
		t.Run(strings.TrimPrefix(overlay, "k8s/overlays/"), func(t *testing.T) {
			check(t, overlay, rendered(t, overlay))
		})
	}
}

// redisWorkloads are the Redis workloads of an overlay: Redis alone in
// dev, Redis and its Sentinels in prod.
func redisWorkloads(overlay string) []string {
	if overlay == prodOverlay {
		return []string{redisName, sentinelName}
	}
	return []string{redisName}
}

func TestEveryWorkloadIsThere(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, overlay string, objs []object) {
		ws := workloads(objs)
		want := append(sortedNames(apps), redisWorkloads(overlay)...)
		sort.Strings(want)
		if got := sortedNames(ws); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("workloads %v, want %v", got, want)
		}
		for _, name := range redisWorkloads(overlay) {
			if ws[name].Kind != "StatefulSet" {
				t.Errorf("%s is a %s, want a StatefulSet (stable identity and name)", name, ws[name].Kind)
			}
		}
		for app := range apps {
			if ws[app].Kind != "Deployment" {
				t.Errorf("%s is a %s, want a Deployment", app, ws[app].Kind)
			}
		}
	})
}

func effectiveBool(container, pod *bool) bool {
	if container != nil {
		return *container
	}
	return pod != nil && *pod
}

func TestContainersAreHardenedAndBounded(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		for _, name := range sortedNames(workloads(objs)) {
			w := workloads(objs)[name]
			spec := w.Template.Spec
			psc := spec.SecurityContext
			if psc == nil {
				psc = &corev1.PodSecurityContext{}
			}
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Errorf("%s: automountServiceAccountToken must be false: nothing here calls the API server", name)
			}
			if spec.HostNetwork || spec.HostPID || spec.HostIPC {
				t.Errorf("%s: shares a host namespace", name)
			}
			all := append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...)
			if len(spec.Containers) == 0 {
				t.Errorf("%s: no containers", name)
			}
			for _, c := range all {
				where := name + "/" + c.Name
				if c.LivenessProbe == nil || c.ReadinessProbe == nil {
					t.Errorf("%s: needs both a liveness and a readiness probe", where)
				}
				checkResources(t, where, name, c)
				sc := c.SecurityContext
				if sc == nil {
					t.Errorf("%s: no securityContext", where)
					continue
				}
				if !effectiveBool(sc.RunAsNonRoot, psc.RunAsNonRoot) {
					t.Errorf("%s: runAsNonRoot is not true", where)
				}
				uid := sc.RunAsUser
				if uid == nil {
					uid = psc.RunAsUser
				}
				if uid == nil || *uid == 0 {
					t.Errorf("%s: needs a numeric non-zero runAsUser so runAsNonRoot holds on any image", where)
				}
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("%s: readOnlyRootFilesystem is not true", where)
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("%s: allowPrivilegeEscalation is not false", where)
				}
				if sc.Privileged != nil && *sc.Privileged {
					t.Errorf("%s: privileged", where)
				}
				if sc.Capabilities == nil || !containsString(capNames(sc.Capabilities.Drop), "ALL") {
					t.Errorf("%s: capabilities must drop ALL", where)
				}
				if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
					t.Errorf("%s: adds capabilities %v", where, sc.Capabilities.Add)
				}
				seccomp := sc.SeccompProfile
				if seccomp == nil {
					seccomp = psc.SeccompProfile
				}
				if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("%s: seccompProfile must be RuntimeDefault", where)
				}
			}
		}
	})
}

func capNames(caps []corev1.Capability) []string {
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = string(c)
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The probes must hit the endpoints the apps serve with the meaning the
// platform expects: /health says "restart me if this fails", /ready says
// "send me traffic".
func TestAppProbesUseHealthAndReady(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		for _, app := range sortedNames(apps) {
			c := ws[app].Template.Spec.Containers[0]
			for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/health", c.ReadinessProbe: "/ready"} {
				if probe == nil || probe.HTTPGet == nil {
					t.Errorf("%s: want an HTTP probe on %s", app, path)
					continue
				}
				if probe.HTTPGet.Path != path {
					t.Errorf("%s: probe path %q, want %q", app, probe.HTTPGet.Path, path)
				}
				if !containerExposes(ws[app].Template.Spec.Containers, probe.HTTPGet.Port) {
					t.Errorf("%s: probe port %s is not a port the container exposes", app, probe.HTTPGet.Port.String())
				}
				// The probes use the admin port: the public one is the
				// ingress's, and its /health and /ready are only kept for
				// old scripts.
				if got := containerPortNumber(ws[app].Template.Spec.Containers[0], probe.HTTPGet.Port); got != adminPort {
					t.Errorf("%s: %s probe on port %s (%d), want the admin port %d", app, path, probe.HTTPGet.Port.String(), got, adminPort)
				}
			}
		}
	})
}

// containerExposes reports whether a port (by number or name) is one of
// the containers' ports.
func containerExposes(cs []corev1.Container, port intstr.IntOrString) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if port.Type == intstr.Int && p.ContainerPort == port.IntVal {
				return true
			}
			if port.Type == intstr.String && port.StrVal != "" && p.Name == port.StrVal {
				return true
			}
		}
	}
	return false
}

func selectorMatches(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("invalid selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

func TestServicesSelectWorkloadPorts(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		services := ofType[*corev1.Service](objs)
		if len(services) == 0 {
			t.Fatal("no Services")
		}
		for _, svc := range services {
			if len(svc.Spec.Selector) == 0 {
				t.Errorf("Service %s has no selector", svc.Name)
				continue
			}
			var matched []workload
			for _, name := range sortedNames(ws) {
				w := ws[name]
				if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.Template.Labels)) {
					matched = append(matched, w)
				}
			}
			if len(matched) != 1 {
				t.Errorf("Service %s selects %d workloads, want exactly one", svc.Name, len(matched))
				continue
			}
			if matched[0].Name != svc.Name {
				t.Errorf("Service %s selects workload %s; name them alike", svc.Name, matched[0].Name)
			}
			for _, p := range svc.Spec.Ports {
				target := p.TargetPort
				if target.Type == intstr.Int && target.IntVal == 0 {
					target = intstr.FromInt32(p.Port)
				}
				if !containerExposes(matched[0].Template.Spec.Containers, target) {
					t.Errorf("Service %s port %d targets %s, which %s does not expose", svc.Name, p.Port, target.String(), matched[0].Name)
				}
			}
		}
		for app, port := range apps {
			svc := serviceNamed(services, app)
			if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != port {
				t.Errorf("want a Service %s on port %d", app, port)
			}
		}
	})
}

func serviceNamed(services []*corev1.Service, name string) *corev1.Service {
	for _, s := range services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func TestIngressRoutesEveryPathToAService(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ingresses := ofType[*networkingv1.Ingress](objs)
		if len(ingresses) != 1 {
			t.Fatalf("want one Ingress, got %d", len(ingresses))
		}
		ing := ingresses[0]
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "traefik" {
			t.Errorf("ingressClassName must be traefik (k3s' built-in controller)")
		}
		for k := range ing.Annotations {
			lk := strings.ToLower(k)
			for _, banned := range []string{"rewrite", "affinity", "sticky", "middleware", "strip"} {
				if strings.Contains(lk, banned) {
					t.Errorf("annotation %s: no rewrites or affinity, the apps serve their own prefixes and any gateway serves any client", k)
				}
			}
		}
		services := ofType[*corev1.Service](objs)
		routes := map[string]string{}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				t.Errorf("a rule with no http paths")
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
					t.Errorf("path %s: want pathType Prefix", p.Path)
				}
				if p.Backend.Service == nil {
					t.Errorf("path %s: no service backend", p.Path)
					continue
				}
				svc := serviceNamed(services, p.Backend.Service.Name)
				if svc == nil {
					t.Errorf("path %s: backend Service %s does not exist", p.Path, p.Backend.Service.Name)
					continue
				}
				if !servicePortExists(svc, p.Backend.Service.Port) {
					t.Errorf("path %s: Service %s has no port %+v", p.Path, svc.Name, p.Backend.Service.Port)
				}
				routes[p.Path] = svc.Name
			}
		}
		want := map[string]string{"/ws": "gateway", "/api": "api", "/": "web"}
		if fmt.Sprint(routes) != fmt.Sprint(want) {
			t.Errorf("routes %v, want %v", routes, want)
		}
	})
}

func servicePortExists(svc *corev1.Service, port networkingv1.ServiceBackendPort) bool {
	for _, p := range svc.Spec.Ports {
		if (port.Name != "" && p.Name == port.Name) || (port.Name == "" && port.Number == p.Port) {
			return true
		}
	}
	return false
}

func TestReplicaCounts(t *testing.T) {
	want := map[string]map[string]int32{
		devOverlay:  {"api": 1, "gateway": 1, "web": 1, redisName: 1},
		prodOverlay: {"api": 3, "web": 2, redisName: 3, sentinelName: 3},
	}
	forEachOverlay(t, func(t *testing.T, overlay string, objs []object) {
		for name, w := range workloads(objs) {
			n, pinned := want[overlay][name]
			switch {
			case pinned && w.Replicas != n:
				t.Errorf("%s: %d replicas, want %d", name, w.Replicas, n)
			case !pinned && w.Object.(*appsv1.Deployment).Spec.Replicas != nil:
				// An autoscaled Deployment carries no count: every apply
				// would reset the autoscaler's.
				t.Errorf("%s: replicas pinned to %d, but its HorizontalPodAutoscaler owns the count", name, w.Replicas)
			}
		}
	})
}

// replicaRange is the counts a workload can run at: its pinned count, or
// its autoscaler's range.
func replicaRange(objs []object, w workload) (lo, hi int32) {
	for _, hpa := range ofType[*autoscalingv2.HorizontalPodAutoscaler](objs) {
		if hpa.Spec.ScaleTargetRef.Name == w.Name && hpa.Spec.ScaleTargetRef.Kind == w.Kind {
			return replicasOf(hpa.Spec.MinReplicas), hpa.Spec.MaxReplicas
		}
	}
	return w.Replicas, w.Replicas
}

// Capacity never drops in a rollout (maxUnavailable: 0). The gateways go
// further: each drained client must land on a new pod, or it reconnects
// again when its pod is drained in turn (1.44 reconnects per client on a
// 4-pod rollout with maxSurge: 1). So the whole new set is started, and
// must stay ready for minReadySeconds, before any old pod is drained:
// maxSurge covers every count the Deployment can run at.
func TestRollingUpdatesNeverDropBelowWanted(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		for _, d := range ofType[*appsv1.Deployment](objs) {
			s := d.Spec.Strategy
			if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil {
				t.Errorf("%s: want an explicit RollingUpdate strategy", d.Name)
				continue
			}
			if u := s.RollingUpdate.MaxUnavailable; u == nil || u.String() != "0" && u.String() != "0%" {
				t.Errorf("%s: maxUnavailable must be 0", d.Name)
			}
			if s.RollingUpdate.MaxSurge == nil {
				t.Errorf("%s: no maxSurge", d.Name)
				continue
			}
			lo, hi := replicaRange(objs, ws[d.Name])
			for _, n := range []int32{lo, hi} {
				surge, err := intstr.GetScaledValueFromIntOrPercent(s.RollingUpdate.MaxSurge, int(n), true)
				if err != nil {
					t.Fatal(err)
				}
				if surge < 1 {
					t.Errorf("%s: maxSurge %s is 0 at %d replicas: with maxUnavailable 0 the rollout cannot move", d.Name, s.RollingUpdate.MaxSurge.String(), n)
				}
				if d.Name == "gateway" && int32(surge) < n {
					t.Errorf("gateway: maxSurge %s is %d pods at %d replicas: clients drained from old pods land on old pods drained next (want the whole new set first, e.g. 100%%)", s.RollingUpdate.MaxSurge.String(), surge, n)
				}
			}
			if d.Name == "gateway" && d.Spec.MinReadySeconds < 5 {
				t.Errorf("gateway: minReadySeconds %d: a new pod must stay ready a while before old ones drain onto it", d.Spec.MinReadySeconds)
			}
		}
	})
}

func TestEveryAppHasADisruptionBudgetThatAllowsDrains(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, overlay string, objs []object) {
		ws := workloads(objs)
		pdbs := ofType[*policyv1.PodDisruptionBudget](objs)
		for _, app := range append(sortedNames(apps), redisWorkloads(overlay)...) {
			w := ws[app]
			var mine []*policyv1.PodDisruptionBudget
			for _, pdb := range pdbs {
				if selectorMatches(t, pdb.Spec.Selector, w.Template.Labels) {
					mine = append(mine, pdb)
				}
			}
			if len(mine) != 1 {
				t.Errorf("%s: %d PodDisruptionBudgets select it, want exactly one", app, len(mine))
				continue
			}
			if allowed := allowedDisruptions(t, mine[0], w.Replicas); allowed < 1 {
				t.Errorf("%s: PodDisruptionBudget %s allows %d disruptions at %d replicas: a node drain would hang", app, mine[0].Name, allowed, w.Replicas)
			}
			if mine[0].Spec.MinAvailable == nil && mine[0].Spec.MaxUnavailable == nil {
				t.Errorf("%s: PodDisruptionBudget %s limits nothing", app, mine[0].Name)
			}
		}
	})
}

func allowedDisruptions(t *testing.T, pdb *policyv1.PodDisruptionBudget, replicas int32) int32 {
	t.Helper()
	if pdb.Spec.MaxUnavailable != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(replicas), false)
		if err != nil {
			t.Fatal(err)
		}
		return int32(n)
	}
	if pdb.Spec.MinAvailable != nil {
		n, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(replicas), true)
		if err != nil {
			t.Fatal(err)
		}
		return replicas - int32(n)
	}
	return replicas
}

// Only api and gateway pods may open connections to Redis, and with
// Sentinel (prod) the other Redis pods (replication) and the Sentinels.
// Evaluated against every workload's real pod labels, not against the
// policy text.
func TestRedisIsReachableOnlyFromAPIAndGateway(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, overlay string, objs []object) {
		ws := workloads(objs)
		redisPods := ws[redisName].Template.Labels
		var policies []*networkingv1.NetworkPolicy
		for _, np := range ofType[*networkingv1.NetworkPolicy](objs) {
			if selectorMatches(t, &np.Spec.PodSelector, redisPods) {
				policies = append(policies, np)
			}
		}
		if len(policies) == 0 {
			t.Fatal("no NetworkPolicy selects the redis pods: anything in the cluster can reach them")
		}
		allowed := map[string]bool{}
		for _, np := range policies {
			if !containsPolicyType(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
				t.Errorf("NetworkPolicy %s does not restrict ingress", np.Name)
			}
			for _, rule := range np.Spec.Ingress {
				if !rulePermitsPort(rule, redisPort) {
					continue
				}
				if len(rule.From) == 0 {
					t.Errorf("NetworkPolicy %s: an ingress rule with no 'from' admits everyone", np.Name)
				}
				for _, peer := range rule.From {
					if peer.NamespaceSelector != nil || peer.IPBlock != nil {
						t.Errorf("NetworkPolicy %s admits peers outside the namespace", np.Name)
					}
					if peer.PodSelector == nil {
						continue
					}
					for name, w := range ws {
						if selectorMatches(t, peer.PodSelector, w.Template.Labels) {
							allowed[name] = true
						}
					}
				}
			}
		}
		want := "[api gateway]"
		if overlay == prodOverlay {
			want = "[api gateway redis redis-sentinel]"
		}
		if got := sortedNames(allowed); fmt.Sprint(got) != want {
			t.Errorf("workloads allowed to reach redis:%d: %v, want %s", redisPort, got, want)
		}
	})
}

func containsPolicyType(types []networkingv1.PolicyType, want networkingv1.PolicyType) bool {
	for _, p := range types {
		if p == want {
			return true
		}
	}
	return false
}

func rulePermitsPort(rule networkingv1.NetworkPolicyIngressRule, port int32) bool {
	if len(rule.Ports) == 0 {
		return true
	}
	for _, p := range rule.Ports {
		if p.Port == nil || (p.Port.Type == intstr.Int && p.Port.IntVal == port) || (p.Port.Type == intstr.String && p.Port.StrVal == "redis") {
			return true
		}
	}
	return false
}

// envValue resolves a container's environment variable from env and then
// from envFrom ConfigMaps, the way the kubelet does (env wins).
func envValue(t *testing.T, objs []object, c corev1.Container, name string) (string, bool) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	for _, src := range c.EnvFrom {
		if src.ConfigMapRef == nil {
			continue
		}
		if v, ok := configMap(t, objs, src.ConfigMapRef.Name).Data[src.Prefix+name]; ok {
			return v, true
		}
	}
	return "", false
}

// A pod being deleted first sleeps (so the ingress stops sending it new
// requests), then gets SIGTERM and drains for up to SHUTDOWN_TIMEOUT; the
// grace period must cover both or the kubelet kills it mid-drain, and the
// gateway's clients see a dropped socket instead of a 1012 close.
func TestGracePeriodCoversPreStopAndShutdown(t *testing.T) {
	const margin = 2 * time.Second
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		for _, app := range sortedNames(apps) {
			spec := ws[app].Template.Spec
			c := spec.Containers[0]
			raw, ok := envValue(t, objs, c, "SHUTDOWN_TIMEOUT")
			if !ok {
				t.Errorf("%s: SHUTDOWN_TIMEOUT is not set; the grace period cannot be checked against it", app)
				continue
			}
			shutdown, err := time.ParseDuration(raw)
			if err != nil {
				t.Errorf("%s: SHUTDOWN_TIMEOUT %q: %v", app, raw, err)
				continue
			}
			var preStop time.Duration
			if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
				h := c.Lifecycle.PreStop
				if h.Exec != nil {
					t.Errorf("%s: preStop exec cannot work: the distroless image has no binaries but the app (use the sleep action)", app)
				}
				if h.Sleep != nil {
					preStop = time.Duration(h.Sleep.Seconds) * time.Second
				}
			}
			if spec.TerminationGracePeriodSeconds == nil {
				t.Errorf("%s: no terminationGracePeriodSeconds", app)
				continue
			}
			grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
			if grace < preStop+shutdown+margin {
				t.Errorf("%s: grace period %v < preStop %v + SHUTDOWN_TIMEOUT %v + %v", app, grace, preStop, shutdown, margin)
			}
		}
	})
}

func TestPodsAdvertiseTheirMetrics(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		for app, port := range apps {
			ann := ws[app].Template.Annotations
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != strconv.Itoa(adminPort) {
				t.Errorf("%s: prometheus annotations %v, want scrape=true path=/metrics port=%d (the admin port)", app, ann, adminPort)
			}
			if !containerExposes(ws[app].Template.Spec.Containers, intstr.FromInt32(port)) {
				t.Errorf("%s: does not expose its port %d", app, port)
			}
			if !containerExposes(ws[app].Template.Spec.Containers, intstr.FromInt32(adminPort)) {
				t.Errorf("%s: does not expose the admin port %d", app, adminPort)
			}
		}
	})
}

func TestLabelsAndNamespace(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		var sawNamespace bool
		for _, o := range objs {
			if o.Kind == "v1/Namespace" {
				sawNamespace = o.Name == namespace
				continue
			}
			if want := namespace; clusterScoped[o.Kind] {
				if o.Namespace != "" {
					t.Errorf("%s is cluster-scoped but has namespace %q", o, o.Namespace)
				}
			} else if o.Namespace != want {
				t.Errorf("%s is in namespace %q, want %q", o, o.Namespace, want)
			}
			if o.Obj.GetLabels()[nameLabel] != systemName {
				t.Errorf("%s: label %s=%q, want %q", o, nameLabel, o.Obj.GetLabels()[nameLabel], systemName)
			}
		}
		if !sawNamespace {
			t.Errorf("the overlay does not create namespace %s", namespace)
		}
		for name, w := range workloads(objs) {
			for what, ls := range map[string]map[string]string{"labels": w.Object.GetLabels(), "pod labels": w.Template.Labels} {
				if ls[nameLabel] != systemName || ls[partLabel] != name {
					t.Errorf("%s: %s %v, want %s=%s and %s=%s", name, what, ls, nameLabel, systemName, partLabel, name)
				}
			}
			if !selectorMatches(t, w.Selector, w.Template.Labels) {
				t.Errorf("%s: its selector does not match its own pods", name)
			}
		}
	})
}

func TestRedisKeepsItsDataAndRequiresAPassword(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		var sts *appsv1.StatefulSet
		for _, s := range ofType[*appsv1.StatefulSet](objs) {
			if s.Name == redisName {
				sts = s
			}
		}
		if sts == nil {
			t.Fatal("no redis StatefulSet")
		}
		svc := serviceNamed(ofType[*corev1.Service](objs), sts.Spec.ServiceName)
		if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("serviceName %q must name a headless Service", sts.Spec.ServiceName)
		}
		if len(sts.Spec.VolumeClaimTemplates) != 1 {
			t.Fatalf("want one volumeClaimTemplate, got %d", len(sts.Spec.VolumeClaimTemplates))
		}
		claim := sts.Spec.VolumeClaimTemplates[0].Name
		c := sts.Spec.Template.Spec.Containers[0]
		var dataDir string
		for _, m := range c.VolumeMounts {
			if m.Name == claim {
				dataDir = m.MountPath
			}
		}
		if dataDir == "" {
			t.Fatalf("the claim %s is not mounted", claim)
		}
		cmdline := strings.Join(append(append([]string(nil), c.Command...), c.Args...), " ")
		for _, want := range []string{"--appendonly yes", "--dir " + dataDir} {
			if !strings.Contains(cmdline, want) {
				t.Errorf("redis command %q lacks %q", cmdline, want)
			}
		}
		for _, probe := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if probe == nil || probe.Exec == nil || !strings.Contains(strings.Join(probe.Exec.Command, " "), "redis-cli") || !strings.Contains(strings.Join(probe.Exec.Command, " "), "ping") {
				t.Errorf("redis needs startup, liveness and readiness probes, each running redis-cli ping")
			}
		}
		uid := c.SecurityContext.RunAsUser
		if uid == nil {
			uid = sts.Spec.Template.Spec.SecurityContext.RunAsUser
		}
		if uid == nil || *uid != 999 {
			t.Errorf("redis must run as uid 999, the image's redis user")
		}
		checkRequiredRedisPassword(t, objs, "redis", c)
	})
}

// checkRequiredRedisPassword: REDIS_PASSWORD comes from the Secret
// redis-auth (or the hashed name kustomize generated from it), key
// password, and is not optional: a missing Secret keeps the pod from
// starting rather than running without a password. A Secret the overlay
// generates must be there; one it does not generate is the operator's.
func checkRequiredRedisPassword(t *testing.T, objs []object, where string, c corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name != "REDIS_PASSWORD" {
			continue
		}
		ref := (*corev1.SecretKeySelector)(nil)
		if e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
		if ref == nil || !generatedFrom(ref.Name, redisSecret) || ref.Key != "password" {
			t.Errorf("%s: REDIS_PASSWORD must come from Secret %s key password", where, redisSecret)
			return
		}
		if ref.Optional != nil && *ref.Optional {
			t.Errorf("%s: REDIS_PASSWORD is optional: a missing Secret would mean Redis without a password", where)
		}
		if ref.Name != redisSecret {
			found := false
			for _, s := range ofType[*corev1.Secret](objs) {
				found = found || s.Name == ref.Name && len(s.Data["password"]) > 0
			}
			if !found {
				t.Errorf("%s: REDIS_PASSWORD refers to generated Secret %s, which is not rendered or has no password", where, ref.Name)
			}
		}
		return
	}
	t.Errorf("%s: no REDIS_PASSWORD", where)
}

// generatedFrom reports whether name is base or kustomize's hashed name
// for a generator called base (base-<10 characters>).
func generatedFrom(name, base string) bool {
	return name == base || strings.HasPrefix(name, base+"-") && len(name) == len(base)+11
}

// The apps find Redis through the ConfigMap: its host and port must be the
// Redis Service's, and the page must use its own origin for /api and /ws.
func TestAppsAreConfiguredForTheCluster(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, overlay string, objs []object) {
		ws := workloads(objs)
		for _, app := range sortedNames(apps) {
			c := ws[app].Template.Spec.Containers[0]
			if port, _ := envValue(t, objs, c, "PORT"); port != strconv.Itoa(int(apps[app])) {
				t.Errorf("%s: PORT=%q, want %d", app, port, apps[app])
			}
			wantFormat := "json"
			if overlay == devOverlay {
				wantFormat = "text"
			}
			if f, _ := envValue(t, objs, c, "LOG_FORMAT"); f != wantFormat {
				t.Errorf("%s: LOG_FORMAT=%q, want %q", app, f, wantFormat)
			}
			checkTrustedProxies(t, objs, app, c)
			if v, _ := envValue(t, objs, c, "ADMIN_PORT"); v != strconv.Itoa(adminPort) || containerPortNumber(c, intstr.FromString("admin")) != adminPort {
				t.Errorf("%s: ADMIN_PORT=%q and container port admin must both be %d", app, v, adminPort)
			}
			if app == "web" {
				for _, name := range []string{"WS_URL", "API_URL"} {
					if v, ok := envValue(t, objs, c, name); !ok || v != "" {
						t.Errorf("web: %s=%q (set=%v), want set and empty: same origin behind the ingress", name, v, ok)
					}
				}
				continue
			}
			host, _ := envValue(t, objs, c, "REDIS_HOST")
			port, _ := envValue(t, objs, c, "REDIS_PORT")
			svc := serviceNamed(ofType[*corev1.Service](objs), host)
			if svc == nil || len(svc.Spec.Ports) == 0 || strconv.Itoa(int(svc.Spec.Ports[0].Port)) != port {
				t.Errorf("%s: REDIS_HOST=%q REDIS_PORT=%q do not name the redis Service", app, host, port)
			}
			checkRequiredRedisPassword(t, objs, app, c)
		}
	})
}

// Dev images are bare names Tilt swaps for what it built; prod images are
// pinned releases.
func TestImageReferences(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, overlay string, objs []object) {
		ws := workloads(objs)
		for _, app := range sortedNames(apps) {
			image := ws[app].Template.Spec.Containers[0].Image
			name, tag := splitImage(image)
			if name != "pixel-"+app {
				t.Errorf("%s: image %q, want pixel-%s", app, image, app)
			}
			switch overlay {
			case devOverlay:
				if tag != "" {
					t.Errorf("%s: dev image %q carries a tag; Tilt replaces the whole reference", app, image)
				}
			case prodOverlay:
				// By digest: a tag can be moved, a digest names the bytes.
				if !digestRE.MatchString(image) {
					t.Errorf("%s: prod image %q is not pinned by digest (name@sha256:<64 hex>)", app, image)
				}
			}
		}
	})
}

var digestRE = regexp.MustCompile(`^[^@]+@sha256:[0-9a-f]{64}$`)

// splitImage splits "registry:5000/name:tag" into name (with registry) and
// tag, minding the registry's port colon; a digest goes with the name.
func splitImage(ref string) (name, tag string) {
	if at := strings.Index(ref, "@"); at >= 0 {
		return ref[:at], ""
	}
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, ""
}

func TestSplitImage(t *testing.T) {
	for ref, want := range map[string][2]string{
		"pixel-api":                      {"pixel-api", ""},
		"pixel-api:0.1.0":                {"pixel-api", "0.1.0"},
		"localhost:5005/pixel-api":       {"localhost:5005/pixel-api", ""},
		"localhost:5005/pixel-api:v2":    {"localhost:5005/pixel-api", "v2"},
		"gcr.io/distroless/static:debug": {"gcr.io/distroless/static", "debug"},
	} {
		if n, tag := splitImage(ref); n != want[0] || tag != want[1] {
			t.Errorf("splitImage(%q) = %q, %q; want %q, %q", ref, n, tag, want[0], want[1])
		}
	}
}
