package k8s

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// dockerfileUser is the uid:gid the Dockerfile runs as, which the pod
// security contexts must repeat so runAsNonRoot can be verified.
const dockerfileUser = "65532:65532"

func TestDockerfileCopiesAPrebuiltBinaryAndRunsAsNonRoot(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var instructions []string
	sc := bufio.NewScanner(strings.NewReader(string(src)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			instructions = append(instructions, line)
		}
	}
	want := []string{
		"ARG BASE=gcr.io/distroless/static-debian12:nonroot",
		"FROM ${BASE}",
		"ARG APP",
		"COPY bin/linux/${APP} /app",
		"USER " + dockerfileUser,
		`ENTRYPOINT ["/app"]`,
	}
	if strings.Join(instructions, "\n") != strings.Join(want, "\n") {
		t.Errorf("Dockerfile instructions:\n%s\nwant:\n%s", strings.Join(instructions, "\n"), strings.Join(want, "\n"))
	}

	uid := strings.Split(dockerfileUser, ":")[0]
	forEachOverlay(t, func(t *testing.T, _ string, objs []object) {
		ws := workloads(objs)
		for _, app := range sortedNames(apps) {
			psc := ws[app].Template.Spec.SecurityContext
			if psc == nil || psc.RunAsUser == nil || fmt.Sprint(*psc.RunAsUser) != uid {
				t.Errorf("%s: pod runAsUser must be %s, the image's USER", app, uid)
			}
		}
	})

	ignore, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatalf("no .dockerignore: every build would send the whole repository: %v", err)
	}
	if !strings.Contains(string(ignore), "!bin/linux/") {
		t.Errorf(".dockerignore must keep bin/linux/ in the build context")
	}
}

// dryRunImages runs scripts/images.sh --dry-run and returns the image
// references it would build, keyed by the APP build argument, plus every
// command line it printed.
func dryRunImages(t *testing.T, env ...string) (map[string]string, []string) {
	t.Helper()
	bash := requireTool(t, "bash")
	out, err := runCommand(repoRoot(t), append(os.Environ(), env...), bash, "scripts/images.sh", "--dry-run", "images")
	if err != nil {
		t.Fatalf("scripts/images.sh --dry-run images: %v", err)
	}
	refs := map[string]string{}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	buildRE := regexp.MustCompile(`\bbuild --build-arg APP=(\S+) --build-arg BASE=(\S+) -t (\S+) -f Dockerfile \.$`)
	for _, line := range lines {
		if m := buildRE.FindStringSubmatch(line); m != nil {
			refs[m[1]] = m[3]
		}
	}
	return refs, lines
}

func TestImagesScriptBuildsEveryImageTheManifestsUse(t *testing.T) {
	refs, lines := dryRunImages(t, "BASE=scratch", "IMAGE_PREFIX=", "TAG=", "PUSH=")
	if len(refs) == 0 {
		t.Fatalf("no docker build in the dry run:\n%s", strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		if strings.Contains(line, " build --build-arg") && !strings.Contains(line, "--build-arg BASE=scratch ") {
			t.Errorf("BASE=scratch was not passed on: %s", line)
		}
	}
	// Each image is built after its binary is compiled, statically, for
	// Linux, to the path the Dockerfile copies.
	for app := range refs {
		compiled := -1
		built := -1
		for i, line := range lines {
			if strings.Contains(line, "go build") && strings.HasSuffix(line, "-o bin/linux/"+app+" ./apps/"+app) &&
				strings.Contains(line, "CGO_ENABLED=0") && strings.Contains(line, "GOOS=linux") {
				compiled = i
			}
			if strings.Contains(line, "--build-arg APP="+app+" ") {
				built = i
			}
		}
		if compiled < 0 || compiled > built {
			t.Errorf("%s: no static Linux build of bin/linux/%s before its image", app, app)
		}
	}

	commitTag := imagesTag(t)
	prod := workloads(rendered(t, prodOverlay))
	dev := workloads(rendered(t, devOverlay))
	tilt := evalTiltfile(t)
	tiltRefs := map[string]bool{}
	for _, d := range tilt.DockerBuilds {
		tiltRefs[d.Ref] = true
	}
	for name, w := range prod {
		prodImage := w.Template.Spec.Containers[0].Image
		if name == redisName || name == sentinelName {
			continue
		}
		ref, ok := refs[name]
		if !ok {
			t.Errorf("the prod overlay runs %s but scripts/images.sh does not build it", prodImage)
			continue
		}
		// With no TAG and no prefix, the script builds the image the prod
		// overlay deploys (by digest: scripts/deploy.sh fills it in),
		// tagged with the commit.
		refName, refTag := splitImage(ref)
		if prodName, _ := splitImage(prodImage); refName != prodName {
			t.Errorf("%s: scripts/images.sh builds %s by default, the prod overlay deploys %s", name, ref, prodImage)
		}
		if refTag != commitTag {
			t.Errorf("%s: scripts/images.sh tags %s by default, want the commit's tag %q", name, ref, commitTag)
		}
		devImage := dev[name].Template.Spec.Containers[0].Image
		if n, _ := splitImage(ref); n != devImage || !tiltRefs[devImage] {
			t.Errorf("%s: dev runs %s (Tilt builds %v), scripts build %s: the names must agree", name, devImage, sortedNames(tiltRefs), ref)
		}
	}
	if len(refs) != len(apps) {
		t.Errorf("scripts/images.sh builds %v, want one image per app", sortedNames(refs))
	}

	prefixed, _ := dryRunImages(t, "BASE=scratch", "IMAGE_PREFIX=localhost:5005/", "TAG=v9")
	for app, ref := range prefixed {
		if ref != "localhost:5005/pixel-"+app+":v9" {
			t.Errorf("IMAGE_PREFIX and TAG: got %s", ref)
		}
	}
}

// imagesTag is what `scripts/images.sh tag` prints with no TAG set.
func imagesTag(t *testing.T) string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TAG=") {
			env = append(env, kv)
		}
	}
	out, err := runCommand(repoRoot(t), env, requireTool(t, "bash"), "scripts/images.sh", "tag")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// The tag follows the code, so a rebuild of other code is a new image and
// a deploy of it rolls the pods: the commit (git describe), and for a
// dirty tree a hash of the changes on top.
func TestImageTagFollowsTheCommit(t *testing.T) {
	git := requireTool(t, "git")
	out, err := runCommand(repoRoot(t), nil, git, "describe", "--always")
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	described := strings.TrimSpace(string(out))
	tag := imagesTag(t)
	if tag != described && !regexp.MustCompile("^"+regexp.QuoteMeta(described)+"-dirty-[0-9a-f]{8}$").MatchString(tag) {
		t.Errorf("scripts/images.sh tag = %q, want %q or %q-dirty-<hash of the changes>", tag, described, described)
	}
}

// The Makefile only delegates; each target must reach its script, with the
// variables exported so `make images BASE=scratch` means what it says.
func TestMakefileTargetsRunTheScripts(t *testing.T) {
	makeTool := requireTool(t, "make")
	root := repoRoot(t)
	targets := map[string]string{
		"check":    "scripts/check.sh",
		"binaries": "scripts/images.sh binaries",
		"images":   "scripts/images.sh images",
		"dev":      "scripts/dev.sh",
		"down":     "scripts/down.sh",
		"deploy":   "scripts/deploy.sh",
	}
	for _, target := range sortedNames(targets) {
		out, err := runCommand(root, nil, makeTool, "--no-print-directory", "-n", target)
		if err != nil {
			t.Errorf("make -n %s: %v", target, err)
			continue
		}
		if got := strings.TrimSpace(string(out)); got != targets[target] {
			t.Errorf("make -n %s runs %q, want %q", target, got, targets[target])
		}
	}
	// What the scripts' environment holds when make runs them: the
	// Makefile's default base, and a command-line override.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BASE=") && !strings.HasPrefix(kv, "TAG=") {
			env = append(env, kv)
		}
	}
	printEnv := `print-env: ; @env | grep -E '^(BASE|TAG)=' | sort`
	for args, want := range map[string]string{
		"":                    "BASE=gcr.io/distroless/static-debian12:nonroot\nTAG=",
		"BASE=scratch TAG=v3": "BASE=scratch\nTAG=v3",
	} {
		cmdline := append([]string{"--no-print-directory", "--eval", printEnv, "print-env"}, strings.Fields(args)...)
		out, err := runCommand(root, env, makeTool, cmdline...)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("make %s: the scripts would see\n%s\nwant\n%s", args, got, want)
		}
	}
	for _, script := range []string{"images.sh", "dev.sh", "down.sh", "deploy.sh"} {
		info, err := os.Stat(filepath.Join(root, "scripts", script))
		if err != nil {
			t.Errorf("scripts/%s: %v", script, err)
			continue
		}
		if info.Mode()&0o111 == 0 {
			t.Errorf("scripts/%s is not executable", script)
		}
		if _, err := runCommand(root, nil, requireTool(t, "bash"), "-n", "scripts/"+script); err != nil {
			t.Errorf("scripts/%s does not parse: %v", script, err)
		}
	}
}

// fakeTools puts recording stand-ins for the cluster tools first on PATH:
// each appends its name and arguments to the returned log. kubectl's
// stand-in renders `apply -k DIR` with the real kubectl, so what would be
// applied is checked too.
func fakeTools(t *testing.T) (env []string, log string) {
	t.Helper()
	realKubectl := requireTool(t, "kubectl")
	dir := t.TempDir()
	log = filepath.Join(dir, "calls.log")
	for _, tool := range []string{"ctlptl", "tilt", "k3d", "docker"} {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %q\n", tool, log)
		if err := os.WriteFile(filepath.Join(dir, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	kubectl := fmt.Sprintf(`#!/bin/sh
echo "kubectl $*" >> %q
if [ "$1" = apply ] && [ "$2" = -k ]; then
  %q kustomize "$3" > %q || exit 1
fi
`, log, realKubectl, filepath.Join(dir, "applied.yaml"))
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(kubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return env, log
}

func readLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestDevAndDownScriptsDriveCtlptlAndTilt(t *testing.T) {
	bash := requireTool(t, "bash")
	root := repoRoot(t)
	env, log := fakeTools(t)
	if _, err := runCommand(root, env, bash, "scripts/dev.sh", "--port", "10351"); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(readLines(t, log), "\n"), "ctlptl apply -f ctlptl.yaml\ntilt up --port 10351"; got != want {
		t.Errorf("scripts/dev.sh ran:\n%s\nwant:\n%s", got, want)
	}
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	if _, err := runCommand(root, env, bash, "scripts/down.sh"); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(readLines(t, log), "\n"), "tilt down\nctlptl delete -f ctlptl.yaml"; got != want {
		t.Errorf("scripts/down.sh ran:\n%s\nwant:\n%s", got, want)
	}
}

// scripts/deploy.sh, against stand-ins: it applies prod through an overlay
// that pins each image by digest when docker knows its registry digest (by
// tag otherwise, or not at all with REQUIRE_DIGEST=1), generates the
// Secrets from files so a new password rolls the pods, adds the PodMonitor
// where the CRD exists, refuses to deploy with no Redis password, and
// waits for every rollout.
func TestDeployScriptAppliesProdAndWaitsForEveryRollout(t *testing.T) {
	bash := requireTool(t, "bash")
	root := repoRoot(t)
	digest := "sha256:" + strings.Repeat("ab", 32)
	password := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(password, []byte("s3cret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		env          []string
		kubectlFails string // a `kubectl get` the stand-in answers "not found"
		images       []string
		secret       string // the redis-auth the workloads use
		podMonitor   bool
		fails        bool
	}{
		"local images, by tag": {
			env:    []string{"TAG=v9", "REDIS_PASSWORD_FILE=" + password, "PODMONITOR=0"},
			images: []string{"pixel-api:v9", "pixel-gateway:v9", "pixel-web:v9", "redis:7-alpine", "redis:7-alpine"},
			secret: "generated",
		},
		"from a registry, by digest": {
			env:        []string{"IMAGE_PREFIX=localhost:5005/", "TAG=v9", "REDIS_PASSWORD_FILE=" + password},
			images:     []string{"localhost:5005/pixel-api@" + digest, "localhost:5005/pixel-gateway@" + digest, "localhost:5005/pixel-web@" + digest, "redis:7-alpine", "redis:7-alpine"},
			secret:     "generated",
			podMonitor: true,
		},
		"the Secret already in the cluster": {
			env:          []string{"TAG=v9"},
			kubectlFails: "get crd",
			images:       []string{"pixel-api:v9", "pixel-gateway:v9", "pixel-web:v9", "redis:7-alpine", "redis:7-alpine"},
			secret:       redisSecret,
		},
		"no password anywhere":            {env: []string{"TAG=v9"}, kubectlFails: "get secret", fails: true},
		"a digest required but not known": {env: []string{"TAG=v9", "REDIS_PASSWORD_FILE=" + password, "REQUIRE_DIGEST=1"}, fails: true},
	} {
		t.Run(name, func(t *testing.T) {
			env, log := fakeTools(t)
			dir := filepath.Dir(log)
			// docker knows a registry digest for registry images only.
			fakeBin(t, dir, "docker", fmt.Sprintf(`echo "docker $*" >> %q
for ref; do :; done
case "$ref" in */*) echo "${ref%%:*}@%s" ;; esac
`, log, digest))
			if c.kubectlFails != "" {
				real, err := os.ReadFile(filepath.Join(dir, "kubectl"))
				if err != nil {
					t.Fatal(err)
				}
				patched := strings.Replace(string(real), "\n", fmt.Sprintf("\ncase \"$*\" in *\"%s\"*) exit 1 ;; esac\n", c.kubectlFails), 1)
				fakeBin(t, dir, "kubectl", strings.TrimPrefix(patched, "#!/bin/sh\n"))
			}
			env = append(env, "IMAGE_PREFIX=", "TAG=", "REDIS_PASSWORD_FILE=", "REQUIRE_DIGEST=", "PODMONITOR=", "TRUSTED_PROXIES=")
			_, err := runCommand(root, append(env, c.env...), bash, "scripts/deploy.sh")
			if c.fails {
				if err == nil {
					t.Fatal("deploy.sh succeeded")
				}
				if b, _ := os.ReadFile(log); strings.Contains(string(b), "kubectl apply") {
					t.Errorf("deploy.sh applied before failing:\n%s", b)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var rollouts []string
			applied := false
			for _, call := range readLines(t, log) {
				switch {
				case strings.HasPrefix(call, "kubectl apply -k "):
					applied = true
				case strings.HasPrefix(call, "kubectl rollout status -n "+namespace+" "):
					if !applied {
						t.Errorf("%q before the apply", call)
					}
					rollouts = append(rollouts, strings.Fields(call)[5])
				case strings.HasPrefix(call, "kubectl get "), strings.HasPrefix(call, "kubectl -n "+namespace+" get "), strings.HasPrefix(call, "docker image inspect "):
				default:
					t.Errorf("unexpected call %q", call)
				}
			}
			sort.Strings(rollouts)
			want := []string{"deployment/api", "deployment/gateway", "deployment/web", "statefulset/redis", "statefulset/redis-sentinel"}
			if fmt.Sprint(rollouts) != fmt.Sprint(want) {
				t.Errorf("waited for %v, want %v", rollouts, want)
			}
			b, err := os.ReadFile(filepath.Join(dir, "applied.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeDocuments(b)
			if err != nil {
				t.Fatal(err)
			}
			var images []string
			for _, w := range workloads(objs) {
				images = append(images, w.Template.Spec.Containers[0].Image)
				for _, e := range w.Template.Spec.Containers[0].Env {
					if e.Name != "REDIS_PASSWORD" {
						continue
					}
					ref := e.ValueFrom.SecretKeyRef.Name
					if c.secret == redisSecret && ref != redisSecret || c.secret == "generated" && (ref == redisSecret || !generatedFrom(ref, redisSecret)) {
						t.Errorf("%s reads the password from Secret %s, want %s", w.Name, ref, c.secret)
					}
				}
			}
			sort.Strings(images)
			if fmt.Sprint(images) != fmt.Sprint(c.images) {
				t.Errorf("applied images %v, want %v", images, c.images)
			}
			if got := len(ofType[*podMonitor](objs)) == 1; got != c.podMonitor {
				t.Errorf("PodMonitor applied: %v, want %v", got, c.podMonitor)
			}
			if c.secret == "generated" {
				found := false
				for _, s := range ofType[*corev1.Secret](objs) {
					found = found || generatedFrom(s.Name, redisSecret) && string(s.Data["password"]) == "s3cret"
				}
				if !found {
					t.Error("no generated redis-auth Secret holding the file's password")
				}
			}
			if _, err := os.Stat(filepath.Join(root, ".tmp")); err == nil {
				t.Error("deploy.sh left .tmp behind")
			}
		})
	}
}

// The subset of ctlptl's API (github.com/tilt-dev/ctlptl/pkg/api) used in
// ctlptl.yaml, decoded strictly so a misspelt key fails here rather than
// being ignored by ctlptl.
type ctlptlRegistry struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Port       int    `json:"port"`
}

type ctlptlCluster struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Product    string `json:"product"`
	Registry   string `json:"registry"`
	K3D        *struct {
		V1Alpha5Simple *struct {
			Image   string `json:"image"`
			Servers int    `json:"servers"`
			Agents  int    `json:"agents"`
			Ports   []struct {
				Port        string   `json:"port"`
				NodeFilters []string `json:"nodeFilters"`
			} `json:"ports"`
		} `json:"v1alpha5Simple"`
	} `json:"k3d"`
}

func TestCtlptlConfigDeclaresK3dWithRegistryAndPort80(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "ctlptl.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var registry *ctlptlRegistry
	var cluster *ctlptlCluster
	for _, doc := range splitDocuments(src) {
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &kind); err != nil {
			t.Fatal(err)
		}
		switch kind.Kind {
		case "Registry":
			registry = &ctlptlRegistry{}
			if err := unmarshalStrict(doc, registry); err != nil {
				t.Fatalf("Registry: %v", err)
			}
		case "Cluster":
			cluster = &ctlptlCluster{}
			if err := unmarshalStrict(doc, cluster); err != nil {
				t.Fatalf("Cluster: %v", err)
			}
		default:
			t.Fatalf("unexpected kind %q in ctlptl.yaml", kind.Kind)
		}
	}
	if registry == nil || cluster == nil {
		t.Fatal("ctlptl.yaml needs a Registry and a Cluster")
	}
	for _, v := range []string{registry.APIVersion, cluster.APIVersion} {
		if v != "ctlptl.dev/v1alpha1" {
			t.Errorf("apiVersion %q, want ctlptl.dev/v1alpha1", v)
		}
	}
	if registry.Name == "" || registry.Port == 0 {
		t.Errorf("the Registry needs a name and a fixed port, got %+v", registry)
	}
	if cluster.Product != "k3d" || !strings.HasPrefix(cluster.Name, "k3d-") {
		t.Errorf("want product k3d and a name starting k3d- (ctlptl insists), got %q %q", cluster.Product, cluster.Name)
	}
	if cluster.Registry != registry.Name {
		t.Errorf("the cluster uses registry %q, the file declares %q", cluster.Registry, registry.Name)
	}
	if cluster.K3D == nil || cluster.K3D.V1Alpha5Simple == nil {
		t.Fatal("want a k3d v1alpha5Simple config")
	}
	// The manifests need Kubernetes 1.30 (the preStop sleep action), the
	// IngressRoute Traefik v3, which k3s bundles from 1.32 on: the k3s
	// image is pinned to such a version, not left to k3d's default.
	m := regexp.MustCompile(`^rancher/k3s:v1\.(\d+)\.\d+-k3s\d+$`).FindStringSubmatch(cluster.K3D.V1Alpha5Simple.Image)
	if m == nil {
		t.Errorf("k3s image %q is not pinned to a release (rancher/k3s:v1.X.Y-k3sN)", cluster.K3D.V1Alpha5Simple.Image)
	} else if minor, _ := strconv.Atoi(m[1]); minor < 32 {
		t.Errorf("k3s %s: want 1.32 or later (Kubernetes >= 1.30 for preStop sleep, Traefik v3 for the IngressRoute)", cluster.K3D.V1Alpha5Simple.Image)
	}
	published := false
	for _, p := range cluster.K3D.V1Alpha5Simple.Ports {
		if p.Port == "80:80" && containsString(p.NodeFilters, "loadbalancer") {
			published = true
		}
	}
	if !published {
		t.Errorf("port 80 is not published on the load balancer: the ingress would not be at http://localhost")
	}
}
