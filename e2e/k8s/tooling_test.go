package k8s

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

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

	prod := workloads(rendered(t, prodOverlay))
	dev := workloads(rendered(t, devOverlay))
	tilt := evalTiltfile(t)
	tiltRefs := map[string]bool{}
	for _, d := range tilt.DockerBuilds {
		tiltRefs[d.Ref] = true
	}
	for name, w := range prod {
		prodImage := w.Template.Spec.Containers[0].Image
		if name == redisName {
			continue
		}
		ref, ok := refs[name]
		if !ok {
			t.Errorf("the prod overlay runs %s but scripts/images.sh does not build it", prodImage)
			continue
		}
		// With no TAG and no prefix, the script builds exactly what the
		// prod overlay deploys.
		if ref != prodImage {
			t.Errorf("%s: scripts/images.sh builds %s by default, the prod overlay deploys %s", name, ref, prodImage)
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

func TestDeployScriptAppliesProdAndWaitsForEveryRollout(t *testing.T) {
	bash := requireTool(t, "bash")
	root := repoRoot(t)
	for name, c := range map[string]struct {
		env    []string
		images []string
	}{
		"as released": {nil, []string{"pixel-api:0.1.0", "pixel-gateway:0.1.0", "pixel-web:0.1.0", "redis:7-alpine"}},
		"from a registry": {
			[]string{"IMAGE_PREFIX=localhost:5005/", "TAG=v9"},
			[]string{"localhost:5005/pixel-api:v9", "localhost:5005/pixel-gateway:v9", "localhost:5005/pixel-web:v9", "redis:7-alpine"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			env, log := fakeTools(t)
			env = append(env, "IMAGE_PREFIX=", "TAG=")
			if _, err := runCommand(root, append(env, c.env...), bash, "scripts/deploy.sh"); err != nil {
				t.Fatal(err)
			}
			calls := readLines(t, log)
			if len(calls) == 0 || !strings.HasPrefix(calls[0], "kubectl apply -k ") {
				t.Fatalf("first call %q, want kubectl apply -k", calls)
			}
			var rollouts []string
			for _, call := range calls[1:] {
				rollouts = append(rollouts, strings.Fields(call)[5])
				if !strings.HasPrefix(call, "kubectl rollout status -n "+namespace+" ") {
					t.Errorf("unexpected call %q", call)
				}
			}
			sort.Strings(rollouts)
			want := []string{"deployment/api", "deployment/gateway", "deployment/web", "statefulset/redis"}
			if fmt.Sprint(rollouts) != fmt.Sprint(want) {
				t.Errorf("waited for %v, want %v", rollouts, want)
			}
			applied, err := os.ReadFile(filepath.Join(filepath.Dir(log), "applied.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := decodeDocuments(applied)
			if err != nil {
				t.Fatal(err)
			}
			var images []string
			for _, w := range workloads(objs) {
				images = append(images, w.Template.Spec.Containers[0].Image)
			}
			sort.Strings(images)
			if fmt.Sprint(images) != fmt.Sprint(c.images) {
				t.Errorf("applied images %v, want %v", images, c.images)
			}
			if replicas := workloads(objs)["gateway"].Replicas; replicas != 4 {
				t.Errorf("applied %d gateways, want the prod overlay's 4", replicas)
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
			Servers int `json:"servers"`
			Agents  int `json:"agents"`
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
