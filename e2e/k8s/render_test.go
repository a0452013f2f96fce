package k8s

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The overlays every check runs against.
const (
	devOverlay  = "k8s/overlays/dev"
	prodOverlay = "k8s/overlays/prod"
)

var overlays = []string{devOverlay, prodOverlay}

// repoRoot is the checkout's root: go test runs in the package directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found above the k8s package: %v", err)
	}
	return root
}

// requireTool returns the path of a command-line tool the test needs. A
// missing tool skips the test on a developer's machine but fails it in CI,
// where a silent skip would hide that nothing was checked.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI but not on PATH: %v", name, err)
		}
		t.Skipf("%s not on PATH, skipping (install it to run this check)", name)
	}
	return path
}

// object is one decoded document of a rendered overlay.
type object struct {
	Kind      string // apiVersion/kind, e.g. apps/v1/Deployment
	Name      string
	Namespace string
	Obj       metav1.Object // a pointer to the typed k8s.io/api struct
	Raw       []byte
}

func (o object) String() string { return o.Kind + " " + o.Name }

// knownKinds maps apiVersion/kind to the typed struct each document is
// decoded into. A kind missing here fails decoding: a manifest nobody
// checks is a manifest that can silently be wrong.
var knownKinds = map[string]func() metav1.Object{
	"v1/Namespace":                           func() metav1.Object { return &corev1.Namespace{} },
	"v1/ConfigMap":                           func() metav1.Object { return &corev1.ConfigMap{} },
	"v1/Secret":                              func() metav1.Object { return &corev1.Secret{} },
	"v1/Service":                             func() metav1.Object { return &corev1.Service{} },
	"apps/v1/Deployment":                     func() metav1.Object { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                    func() metav1.Object { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget":          func() metav1.Object { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/Ingress":           func() metav1.Object { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() metav1.Object { return &networkingv1.NetworkPolicy{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() metav1.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
	"scheduling.k8s.io/v1/PriorityClass":     func() metav1.Object { return &schedulingv1.PriorityClass{} },
	// Custom resources: no k8s.io/api types exist for them, and the
	// projects' own Go modules are not dependencies here. Each is decoded,
	// just as strictly, into a struct of the fields these manifests use
	// (below): a misspelt field fails, and so does a field nobody added to
	// the struct, which is the point: the tests then check it too.
	"traefik.io/v1alpha1/IngressRoute":    func() metav1.Object { return &ingressRoute{} },
	"monitoring.coreos.com/v1/PodMonitor": func() metav1.Object { return &podMonitor{} },
}

// clusterScoped kinds have no namespace.
var clusterScoped = map[string]bool{"v1/Namespace": true, "scheduling.k8s.io/v1/PriorityClass": true}

// ingressRoute is the part of Traefik's IngressRoute (traefik.io/v1alpha1,
// doc.traefik.io/traefik/reference/routing-configuration/kubernetes/crd/http/ingressroute/)
// that the manifests use.
type ingressRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		EntryPoints []string `json:"entryPoints"`
		Routes      []struct {
			Kind     string `json:"kind"`
			Match    string `json:"match"`
			Priority int    `json:"priority"`
			Services []struct {
				Name string             `json:"name"`
				Port intstr.IntOrString `json:"port"`
			} `json:"services"`
		} `json:"routes"`
	} `json:"spec"`
}

// podMonitor is the part of the Prometheus Operator's PodMonitor
// (monitoring.coreos.com/v1) that the manifests use.
type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// splitDocuments splits a YAML stream on its "---" separator lines,
// dropping documents that are empty or only comments.
func splitDocuments(stream []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		meaningful := false
		for _, line := range strings.Split(cur.String(), "\n") {
			if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
				meaningful = true
				break
			}
		}
		if meaningful {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(stream))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimRight(line, " ") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

// decodeDocuments decodes every document of a stream strictly: unknown or
// duplicated fields and unknown kinds are errors.
func decodeDocuments(stream []byte) ([]object, error) {
	var objs []object
	var errs []error
	for i, doc := range splitDocuments(stream) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			errs = append(errs, fmt.Errorf("document %d: %w", i, err))
			continue
		}
		kind := tm.APIVersion + "/" + tm.Kind
		newObj, ok := knownKinds[kind]
		if !ok {
			errs = append(errs, fmt.Errorf("document %d: kind %q is not one the tests know how to check", i, kind))
			continue
		}
		obj := newObj()
		if err := unmarshalStrict(doc, obj); err != nil {
			errs = append(errs, fmt.Errorf("document %d (%s %s): %w", i, kind, nameOf(doc), err))
			continue
		}
		if obj.GetName() == "" {
			errs = append(errs, fmt.Errorf("document %d (%s): no metadata.name", i, kind))
			continue
		}
		objs = append(objs, object{Kind: kind, Name: obj.GetName(), Namespace: obj.GetNamespace(), Obj: obj, Raw: doc})
	}
	return objs, errors.Join(errs...)
}

// unmarshalStrict decodes one YAML document the way the API server's
// strict field validation does: duplicate keys, unknown fields and fields
// whose case differs from the API's are all errors. (sigs.k8s.io/yaml's own
// UnmarshalStrict goes through encoding/json, which matches field names
// case-insensitively and so accepts readOnlyRootFileSystem, a field the API
// server would drop.)
func unmarshalStrict(doc []byte, obj any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// nameOf digs the name out of a document that failed to decode, for the
// error message only.
func nameOf(doc []byte) string {
	var m struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = yaml.Unmarshal(doc, &m)
	return m.Metadata.Name
}

var (
	renderMu    sync.Mutex
	renderCache = map[string][]byte{}
)

// renderOverlay runs `kubectl kustomize` on an overlay (relative to the
// repository root), once per test binary.
func renderOverlay(t testing.TB, overlay string) []byte {
	t.Helper()
	kubectl := requireTool(t, "kubectl")
	renderMu.Lock()
	defer renderMu.Unlock()
	if out, ok := renderCache[overlay]; ok {
		return out
	}
	out, err := runCommand(repoRoot(t), nil, kubectl, "kustomize", overlay)
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", overlay, err)
	}
	renderCache[overlay] = out
	return out
}

// renderKustomization renders a kustomization.yaml written for the test
// into a directory of its own inside the repository (kustomize wants the
// overlays it builds on at relative paths), for variations of an overlay.
func renderKustomization(t testing.TB, kustomization string, files map[string]string) []byte {
	t.Helper()
	kubectl := requireTool(t, "kubectl")
	dir, err := os.MkdirTemp(repoRoot(t), ".k8stest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	files["kustomization.yaml"] = kustomization
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCommand(dir, nil, kubectl, "kustomize", ".")
	if err != nil {
		t.Fatalf("kubectl kustomize of\n%s\n%v", kustomization, err)
	}
	return out
}

// decoded strictly decodes a render.
func decoded(t testing.TB, stream []byte) []object {
	t.Helper()
	objs, err := decodeDocuments(stream)
	if err != nil {
		t.Fatalf("does not decode strictly:\n%v", err)
	}
	return objs
}

// prodWithPodMonitor is the prod overlay with the Prometheus Operator
// component, as scripts/deploy.sh applies it on a cluster that has the
// operator.
func prodWithPodMonitor(t testing.TB) []object {
	t.Helper()
	return decoded(t, renderKustomization(t, `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../k8s/overlays/prod]
components: [../k8s/components/prometheus-operator]
`, map[string]string{}))
}

// rendered renders and strictly decodes an overlay.
func rendered(t testing.TB, overlay string) []object {
	t.Helper()
	objs, err := decodeDocuments(renderOverlay(t, overlay))
	if err != nil {
		t.Fatalf("%s does not decode strictly:\n%v", overlay, err)
	}
	if len(objs) == 0 {
		t.Fatalf("%s rendered no objects", overlay)
	}
	return objs
}

// runCommand runs a command with a deadline, returning stdout and, on
// failure, an error carrying stderr.
func runCommand(dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return stdout.Bytes(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
		}
		return stdout.Bytes(), nil
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		// Reap it; its exit error (killed) goes into the message.
		waitErr := <-done
		return nil, fmt.Errorf("%s %s: timed out after 2m (%v)\n%s", name, strings.Join(args, " "), waitErr, stderr.String())
	}
}

func TestOverlaysRenderAndDecodeStrictly(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			objs := rendered(t, overlay)
			seen := map[string]bool{}
			for _, o := range objs {
				key := o.Kind + "/" + o.Namespace + "/" + o.Name
				if seen[key] {
					t.Errorf("%s rendered twice", o)
				}
				seen[key] = true
			}
		})
	}
}

// The strict decoding is what catches a misspelt field, which Kubernetes
// would otherwise drop silently (or reject only at apply time). Prove it
// bites, on a real rendered manifest and on small ones.
func TestStrictDecodingRejectsTypos(t *testing.T) {
	dev := renderOverlay(t, devOverlay)
	if _, err := decodeDocuments(dev); err != nil {
		t.Fatalf("the untouched render must decode: %v", err)
	}
	typos := map[string][2]string{
		"misspelt probe":           {"readinessProbe:", "readinessProbes:"},
		"misspelt security field":  {"readOnlyRootFilesystem:", "readOnlyRootFileSystem:"},
		"misspelt top-level field": {"replicas:", "replica:"},
	}
	for name, typo := range typos {
		t.Run(name, func(t *testing.T) {
			broken := bytes.Replace(dev, []byte(typo[0]), []byte(typo[1]), 1)
			if bytes.Equal(broken, dev) {
				t.Fatalf("the dev render has no %q to misspell", typo[0])
			}
			_, err := decodeDocuments(broken)
			if err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(typo[1], ":")) {
				t.Fatalf("want an unknown-field error naming %q, got %v", typo[1], err)
			}
		})
	}

	cases := map[string]string{
		"unknown field": `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replica: 2
`,
		"duplicate field": `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
data: {A: "1"}
data: {B: "2"}
`,
		"unknown kind": `apiVersion: example.com/v1
kind: Widget
metadata: {name: x}
`,
		"field in the wrong case": `apiVersion: v1
kind: Service
metadata: {name: x}
spec:
  clusterIp: None
`,
		"wrong type": `apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replicas: three
`,
		"no name": `apiVersion: v1
kind: ConfigMap
data: {A: "1"}
`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeDocuments([]byte(doc)); err == nil {
				t.Fatalf("decoded without error:\n%s", doc)
			}
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	stream := "# leading comment only\n---\na: 1\n---\n\n---\nb: 2\n--- \nc: 3\n"
	docs := splitDocuments([]byte(stream))
	if len(docs) != 3 {
		t.Fatalf("want 3 documents, got %d: %q", len(docs), docs)
	}
	for i, want := range []string{"a: 1\n", "b: 2\n", "c: 3\n"} {
		if string(docs[i]) != want {
			t.Errorf("document %d = %q, want %q", i, docs[i], want)
		}
	}
}
