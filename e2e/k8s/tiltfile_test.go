package k8s

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
)

// The Tiltfile cannot be run here (no Tilt, no cluster), so it is
// evaluated with go.starlark.net against stubs of the Tilt builtins it may
// use. Each stub takes exactly the parameters Tilt documents
// (docs.tilt.dev/api.html), so a misspelt keyword fails here as it would
// in Tilt, and records what it was given; the tests then hold the
// recording against the rendered dev overlay.

type portForward struct {
	Local, Container int
	Name             string
}

type liveUpdateStep struct {
	Kind          string // sync, run, fall_back_on, restart_container, initial_sync
	Local, Remote string
	Cmd           []string // run: argv, or ["sh", "-c", cmd] for a string
}

type tiltLocalResource struct {
	Name         string
	Cmd          string
	Deps         []string
	ResourceDeps []string
	TriggerMode  string
	AutoInit     bool
	Labels       []string
}

type tiltDockerBuild struct {
	Ref, Context, Dockerfile string
	BuildArgs                map[string]string
	Only                     []string
	Entrypoint               []string
	LiveUpdate               []liveUpdateStep
}

type tiltK8sResource struct {
	Workload, NewName string
	PortForwards      []portForward
	Links             []string
	ResourceDeps      []string
	Objects           []string
	Labels            []string
	TriggerMode       string
	AutoInit          bool
}

func (r tiltK8sResource) name() string {
	if r.NewName != "" {
		return r.NewName
	}
	return r.Workload
}

// tiltState is everything the Tiltfile declared.
type tiltState struct {
	// render renders a kustomize directory, for decode_yaml_stream.
	render func(dir string) ([]byte, error)

	K8sYAML        []string // kustomize directories passed to k8s_yaml
	LocalResources []tiltLocalResource
	DockerBuilds   []tiltDockerBuild
	K8sResources   []tiltK8sResource
}

// Values the stubs hand back to the Tiltfile, so that using one where Tilt
// expects another fails as it would in Tilt.
type (
	blobValue        struct{ kustomizeDir string }
	stepValue        struct{ step liveUpdateStep }
	portForwardValue struct{ pf portForward }
	linkValue        struct{ url string }
	triggerModeValue string
)

func (b blobValue) String() string            { return "Blob(kustomize " + b.kustomizeDir + ")" }
func (blobValue) Type() string                { return "blob" }
func (blobValue) Freeze()                     {}
func (blobValue) Truth() starlark.Bool        { return true }
func (blobValue) Hash() (uint32, error)       { return 0, fmt.Errorf("unhashable: blob") }
func (s stepValue) String() string            { return "LiveUpdateStep(" + s.step.Kind + ")" }
func (stepValue) Type() string                { return "live_update_step" }
func (stepValue) Freeze()                     {}
func (stepValue) Truth() starlark.Bool        { return true }
func (stepValue) Hash() (uint32, error)       { return 0, fmt.Errorf("unhashable: live_update_step") }
func (p portForwardValue) String() string     { return fmt.Sprintf("PortForward(%d)", p.pf.Local) }
func (portForwardValue) Type() string         { return "port_forward" }
func (portForwardValue) Freeze()              {}
func (portForwardValue) Truth() starlark.Bool { return true }
func (portForwardValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable: port_forward")
}
func (l linkValue) String() string               { return "Link(" + l.url + ")" }
func (linkValue) Type() string                   { return "link" }
func (linkValue) Freeze()                        {}
func (linkValue) Truth() starlark.Bool           { return true }
func (linkValue) Hash() (uint32, error)          { return 0, fmt.Errorf("unhashable: link") }
func (m triggerModeValue) String() string        { return string(m) }
func (triggerModeValue) Type() string            { return "trigger_mode" }
func (triggerModeValue) Freeze()                 {}
func (triggerModeValue) Truth() starlark.Bool    { return true }
func (m triggerModeValue) Hash() (uint32, error) { return starlark.String(m).Hash() }

const (
	triggerAuto   = "TRIGGER_MODE_AUTO"
	triggerManual = "TRIGGER_MODE_MANUAL"
)

// toStrings converts Tilt's "a string or a list of strings" arguments.
func toStrings(v starlark.Value) ([]string, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return nil, nil
	case starlark.String:
		return []string{string(v)}, nil
	case starlark.Indexable:
		out := make([]string, v.Len())
		for i := range out {
			s, ok := v.Index(i).(starlark.String)
			if !ok {
				return nil, fmt.Errorf("want a list of strings, got an element %s", v.Index(i).Type())
			}
			out[i] = string(s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string or a list of strings, got %s", v.Type())
}

// command converts a cmd argument: a string runs under sh -c, a list is
// argv.
func command(v starlark.Value) ([]string, error) {
	if s, ok := v.(starlark.String); ok {
		return []string{"sh", "-c", string(s)}, nil
	}
	return toStrings(v)
}

func triggerMode(v starlark.Value) (string, error) {
	if v == nil {
		return triggerAuto, nil
	}
	m, ok := v.(triggerModeValue)
	if !ok {
		return "", fmt.Errorf("trigger_mode must be TRIGGER_MODE_AUTO or TRIGGER_MODE_MANUAL, got %s", v.Type())
	}
	return string(m), nil
}

func (s *tiltState) builtins() starlark.StringDict {
	b := func(name string, fn func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)) *starlark.Builtin {
		return starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return fn(args, kwargs)
		})
	}
	return starlark.StringDict{
		"TRIGGER_MODE_AUTO":   triggerModeValue(triggerAuto),
		"TRIGGER_MODE_MANUAL": triggerModeValue(triggerManual),

		"kustomize": b("kustomize", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var dir string
			var bin, flags starlark.Value
			if err := starlark.UnpackArgs("kustomize", args, kwargs, "pathToDir", &dir, "kustomize_bin?", &bin, "flags?", &flags); err != nil {
				return nil, err
			}
			return blobValue{kustomizeDir: path.Clean(dir)}, nil
		}),

		"decode_yaml_stream": b("decode_yaml_stream", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var y starlark.Value
			if err := starlark.UnpackArgs("decode_yaml_stream", args, kwargs, "yaml", &y); err != nil {
				return nil, err
			}
			var stream []byte
			switch v := y.(type) {
			case starlark.String:
				stream = []byte(v)
			case blobValue:
				if s.render == nil {
					return nil, fmt.Errorf("decode_yaml_stream: no renderer for %s", v)
				}
				var err error
				if stream, err = s.render(v.kustomizeDir); err != nil {
					return nil, err
				}
			default:
				return nil, fmt.Errorf("decode_yaml_stream: want a string or a blob, got %s", y.Type())
			}
			var docs []starlark.Value
			for _, doc := range splitDocuments(stream) {
				var v any
				if err := yaml.Unmarshal(doc, &v); err != nil {
					return nil, fmt.Errorf("decode_yaml_stream: %w", err)
				}
				sv, err := toStarlark(v)
				if err != nil {
					return nil, err
				}
				docs = append(docs, sv)
			}
			return starlark.NewList(docs), nil
		}),

		"k8s_yaml": b("k8s_yaml", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var y starlark.Value
			var dup bool
			if err := starlark.UnpackArgs("k8s_yaml", args, kwargs, "yaml", &y, "allow_duplicates?", &dup); err != nil {
				return nil, err
			}
			blob, ok := y.(blobValue)
			if !ok {
				return nil, fmt.Errorf("k8s_yaml: the tests only know how to follow kustomize() blobs, got %s", y.Type())
			}
			s.K8sYAML = append(s.K8sYAML, blob.kustomizeDir)
			return starlark.None, nil
		}),

		"local_resource": b("local_resource", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var (
				name                                              string
				cmd, deps, mode, resourceDeps, ignore, serveCmd   starlark.Value
				cmdBat, serveCmdBat, links, labels, env, serveEnv starlark.Value
				probe                                             starlark.Value
				dir, serveDir                                     string
				autoInit                                          = true
				allowParallel                                     bool
			)
			if err := starlark.UnpackArgs("local_resource", args, kwargs,
				"name", &name, "cmd", &cmd, "deps?", &deps, "trigger_mode?", &mode,
				"resource_deps?", &resourceDeps, "ignore?", &ignore, "auto_init?", &autoInit,
				"serve_cmd?", &serveCmd, "cmd_bat?", &cmdBat, "serve_cmd_bat?", &serveCmdBat,
				"allow_parallel?", &allowParallel, "links?", &links, "labels?", &labels,
				"env?", &env, "serve_env?", &serveEnv, "readiness_probe?", &probe,
				"dir?", &dir, "serve_dir?", &serveDir); err != nil {
				return nil, err
			}
			r := tiltLocalResource{Name: name, AutoInit: autoInit}
			var err error
			argv, err := command(cmd)
			if err != nil {
				return nil, fmt.Errorf("local_resource %s: cmd: %w", name, err)
			}
			if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
				r.Cmd = argv[2]
			} else {
				r.Cmd = strings.Join(argv, " ")
			}
			if r.Deps, err = toStrings(deps); err != nil {
				return nil, fmt.Errorf("local_resource %s: deps: %w", name, err)
			}
			if r.ResourceDeps, err = toStrings(resourceDeps); err != nil {
				return nil, fmt.Errorf("local_resource %s: resource_deps: %w", name, err)
			}
			if r.Labels, err = toStrings(labels); err != nil {
				return nil, fmt.Errorf("local_resource %s: labels: %w", name, err)
			}
			if r.TriggerMode, err = triggerMode(mode); err != nil {
				return nil, fmt.Errorf("local_resource %s: %w", name, err)
			}
			s.LocalResources = append(s.LocalResources, r)
			return starlark.None, nil
		}),

		"docker_build": b("docker_build", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var (
				ref, contextDir                                  string
				dockerfile                                       = "Dockerfile"
				buildArgs                                        *starlark.Dict
				dockerfileContents, liveUpdate, ignore, only     starlark.Value
				entrypoint, ssh, secret, extraTag, containerArgs starlark.Value
				cacheFrom, extraHosts                            starlark.Value
				target, network, platform                        string
				matchInEnvVars, pull                             bool
			)
			if err := starlark.UnpackArgs("docker_build", args, kwargs,
				"ref", &ref, "context", &contextDir, "build_args?", &buildArgs,
				"dockerfile?", &dockerfile, "dockerfile_contents?", &dockerfileContents,
				"live_update?", &liveUpdate, "match_in_env_vars?", &matchInEnvVars,
				"ignore?", &ignore, "only?", &only, "entrypoint?", &entrypoint,
				"target?", &target, "ssh?", &ssh, "network?", &network, "secret?", &secret,
				"extra_tag?", &extraTag, "container_args?", &containerArgs,
				"cache_from?", &cacheFrom, "pull?", &pull, "platform?", &platform,
				"extra_hosts?", &extraHosts); err != nil {
				return nil, err
			}
			d := tiltDockerBuild{Ref: ref, Context: contextDir, Dockerfile: dockerfile, BuildArgs: map[string]string{}}
			if buildArgs != nil {
				for _, item := range buildArgs.Items() {
					k, kok := item[0].(starlark.String)
					v, vok := item[1].(starlark.String)
					if !kok || !vok {
						return nil, fmt.Errorf("docker_build %s: build_args must map strings to strings", ref)
					}
					d.BuildArgs[string(k)] = string(v)
				}
			}
			var err error
			if d.Only, err = toStrings(only); err != nil {
				return nil, fmt.Errorf("docker_build %s: only: %w", ref, err)
			}
			if entrypoint != nil {
				if d.Entrypoint, err = command(entrypoint); err != nil {
					return nil, fmt.Errorf("docker_build %s: entrypoint: %w", ref, err)
				}
			}
			if liveUpdate != nil {
				steps, ok := liveUpdate.(starlark.Indexable)
				if !ok {
					return nil, fmt.Errorf("docker_build %s: live_update must be a list", ref)
				}
				for i := 0; i < steps.Len(); i++ {
					step, ok := steps.Index(i).(stepValue)
					if !ok {
						return nil, fmt.Errorf("docker_build %s: live_update[%d] is a %s, not a live update step", ref, i, steps.Index(i).Type())
					}
					d.LiveUpdate = append(d.LiveUpdate, step.step)
				}
			}
			s.DockerBuilds = append(s.DockerBuilds, d)
			return starlark.None, nil
		}),

		"k8s_resource": b("k8s_resource", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var (
				workload, newName, podReadiness, discovery       string
				portForwards, extraSelectors, mode, resourceDeps starlark.Value
				objects, links, labels                           starlark.Value
				autoInit                                         = true
			)
			if err := starlark.UnpackArgs("k8s_resource", args, kwargs,
				"workload?", &workload, "new_name?", &newName, "port_forwards?", &portForwards,
				"extra_pod_selectors?", &extraSelectors, "trigger_mode?", &mode,
				"resource_deps?", &resourceDeps, "objects?", &objects, "auto_init?", &autoInit,
				"pod_readiness?", &podReadiness, "links?", &links, "labels?", &labels,
				"discovery_strategy?", &discovery); err != nil {
				return nil, err
			}
			r := tiltK8sResource{Workload: workload, NewName: newName, AutoInit: autoInit}
			if workload == "" && (newName == "" || objects == nil) {
				return nil, fmt.Errorf("k8s_resource: give a workload, or objects with a new_name")
			}
			var err error
			if r.ResourceDeps, err = toStrings(resourceDeps); err != nil {
				return nil, fmt.Errorf("k8s_resource %s: resource_deps: %w", r.name(), err)
			}
			if r.Objects, err = toStrings(objects); err != nil {
				return nil, fmt.Errorf("k8s_resource %s: objects: %w", r.name(), err)
			}
			if r.Labels, err = toStrings(labels); err != nil {
				return nil, fmt.Errorf("k8s_resource %s: labels: %w", r.name(), err)
			}
			if r.TriggerMode, err = triggerMode(mode); err != nil {
				return nil, fmt.Errorf("k8s_resource %s: %w", r.name(), err)
			}
			if r.PortForwards, err = portForwardsOf(portForwards); err != nil {
				return nil, fmt.Errorf("k8s_resource %s: port_forwards: %w", r.name(), err)
			}
			if r.Links, err = linksOf(links); err != nil {
				return nil, fmt.Errorf("k8s_resource %s: links: %w", r.name(), err)
			}
			s.K8sResources = append(s.K8sResources, r)
			return starlark.None, nil
		}),

		"sync": b("sync", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var local, remote string
			if err := starlark.UnpackArgs("sync", args, kwargs, "local_path", &local, "remote_path", &remote); err != nil {
				return nil, err
			}
			return stepValue{liveUpdateStep{Kind: "sync", Local: local, Remote: remote}}, nil
		}),
		"run": b("run", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var cmd, trigger starlark.Value
			var echoOff bool
			if err := starlark.UnpackArgs("run", args, kwargs, "cmd", &cmd, "trigger?", &trigger, "echo_off?", &echoOff); err != nil {
				return nil, err
			}
			argv, err := command(cmd)
			if err != nil {
				return nil, fmt.Errorf("run: %w", err)
			}
			return stepValue{liveUpdateStep{Kind: "run", Cmd: argv}}, nil
		}),
		"restart_container": b("restart_container", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs("restart_container", args, kwargs); err != nil {
				return nil, err
			}
			return stepValue{liveUpdateStep{Kind: "restart_container"}}, nil
		}),
		"fall_back_on": b("fall_back_on", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var files starlark.Value
			if err := starlark.UnpackArgs("fall_back_on", args, kwargs, "files", &files); err != nil {
				return nil, err
			}
			return stepValue{liveUpdateStep{Kind: "fall_back_on"}}, nil
		}),
		"initial_sync": b("initial_sync", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs("initial_sync", args, kwargs); err != nil {
				return nil, err
			}
			return stepValue{liveUpdateStep{Kind: "initial_sync"}}, nil
		}),
		"port_forward": b("port_forward", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var local int
			var container, name, linkPath, host starlark.Value
			if err := starlark.UnpackArgs("port_forward", args, kwargs, "local_port", &local,
				"container_port?", &container, "name?", &name, "link_path?", &linkPath, "host?", &host); err != nil {
				return nil, err
			}
			pf := portForward{Local: local, Container: local}
			if c, ok := container.(starlark.Int); ok {
				n, _ := c.Int64()
				pf.Container = int(n)
			}
			if n, ok := name.(starlark.String); ok {
				pf.Name = string(n)
			}
			return portForwardValue{pf}, nil
		}),
		"link": b("link", func(args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var url string
			var name starlark.Value
			if err := starlark.UnpackArgs("link", args, kwargs, "url", &url, "name?", &name); err != nil {
				return nil, err
			}
			return linkValue{url}, nil
		}),
	}
}

// toStarlark converts decoded YAML (maps, lists, strings, numbers, bools,
// null) into the Starlark values Tilt's decode_yaml_stream returns.
func toStarlark(v any) (starlark.Value, error) {
	switch v := v.(type) {
	case nil:
		return starlark.None, nil
	case string:
		return starlark.String(v), nil
	case bool:
		return starlark.Bool(v), nil
	case float64:
		if v == float64(int64(v)) {
			return starlark.MakeInt64(int64(v)), nil
		}
		return starlark.Float(v), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case []any:
		l := make([]starlark.Value, len(v))
		for i, e := range v {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			l[i] = sv
		}
		return starlark.NewList(l), nil
	case map[string]any:
		d := starlark.NewDict(len(v))
		for k, e := range v {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("decode_yaml_stream: cannot convert %T", v)
}

func portForwardsOf(v starlark.Value) ([]portForward, error) {
	var items []starlark.Value
	switch v := v.(type) {
	case nil:
		return nil, nil
	case starlark.Indexable:
		if _, isString := v.(starlark.String); !isString {
			for i := 0; i < v.Len(); i++ {
				items = append(items, v.Index(i))
			}
			break
		}
		items = []starlark.Value{v}
	default:
		items = []starlark.Value{v}
	}
	var out []portForward
	for _, item := range items {
		switch item := item.(type) {
		case portForwardValue:
			out = append(out, item.pf)
		case starlark.Int:
			n, _ := item.Int64()
			out = append(out, portForward{Local: int(n), Container: int(n)})
		case starlark.String:
			// 'local', 'local:container' or 'host:local:container'.
			parts := strings.Split(string(item), ":")
			var pf portForward
			if _, err := fmt.Sscan(parts[len(parts)-1], &pf.Container); err != nil {
				return nil, fmt.Errorf("bad port forward %q", item)
			}
			pf.Local = pf.Container
			if len(parts) >= 2 {
				if _, err := fmt.Sscan(parts[len(parts)-2], &pf.Local); err != nil {
					return nil, fmt.Errorf("bad port forward %q", item)
				}
			}
			out = append(out, pf)
		default:
			return nil, fmt.Errorf("a port forward cannot be a %s", item.Type())
		}
	}
	return out, nil
}

func linksOf(v starlark.Value) ([]string, error) {
	var items []starlark.Value
	switch v := v.(type) {
	case nil:
		return nil, nil
	case starlark.String, linkValue:
		items = []starlark.Value{v}
	case starlark.Indexable:
		for i := 0; i < v.Len(); i++ {
			items = append(items, v.Index(i))
		}
	default:
		return nil, fmt.Errorf("a link cannot be a %s", v.Type())
	}
	var out []string
	for _, item := range items {
		switch item := item.(type) {
		case linkValue:
			out = append(out, item.url)
		case starlark.String:
			out = append(out, string(item))
		default:
			return nil, fmt.Errorf("a link cannot be a %s", item.Type())
		}
	}
	return out, nil
}

var (
	tiltOnce  sync.Once
	tiltSeen  *tiltState
	tiltError error
)

// evalTiltfileSource evaluates Tiltfile source with the stub builtins.
// Strict Starlark (no top-level loops, no while, no set) is a subset of
// what Tilt accepts, so a file that passes here parses in Tilt too.
func evalTiltfileSource(src string, render func(dir string) ([]byte, error)) (*tiltState, error) {
	state := &tiltState{render: render}
	thread := &starlark.Thread{
		Name: "Tiltfile",
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, fmt.Errorf("load() is not allowed: extensions are downloaded at tilt up, and the Tiltfile should need only Tilt's builtins")
		},
		Print: func(*starlark.Thread, string) {},
	}
	_, err := starlark.ExecFileOptions(&syntax.FileOptions{}, thread, "Tiltfile", src, state.builtins())
	if err != nil {
		if evalErr, ok := err.(*starlark.EvalError); ok {
			return nil, fmt.Errorf("%s", evalErr.Backtrace())
		}
		return nil, err
	}
	return state, nil
}

func evalTiltfile(t *testing.T) *tiltState {
	t.Helper()
	tiltOnce.Do(func() {
		var src []byte
		src, tiltError = os.ReadFile(filepath.Join(repoRoot(t), "Tiltfile"))
		if tiltError == nil {
			tiltSeen, tiltError = evalTiltfileSource(string(src), func(dir string) ([]byte, error) {
				return renderOverlay(t, dir), nil
			})
		}
	})
	if tiltError != nil {
		t.Fatalf("evaluating the Tiltfile: %v", tiltError)
	}
	return tiltSeen
}

func TestTiltStubsRejectWhatTiltRejects(t *testing.T) {
	for name, src := range map[string]string{
		"misspelt keyword":     `local_resource('x', 'true', dep=['a'])`,
		"unknown builtin":      `docker_compose('x.yaml')`,
		"extension":            "load('ext://restart_process', 'docker_build_with_restart')",
		"string as live step":  `docker_build('x', '.', live_update=['sync'])`,
		"bad trigger mode":     `local_resource('x', 'true', trigger_mode='manual')`,
		"resource without one": `k8s_resource(port_forwards=3000)`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := evalTiltfileSource(src, nil); err == nil {
				t.Fatalf("evaluated without error: %s", src)
			}
		})
	}
}

func TestTiltfileDeploysTheDevOverlay(t *testing.T) {
	tilt := evalTiltfile(t)
	if len(tilt.K8sYAML) != 1 || tilt.K8sYAML[0] != devOverlay {
		t.Fatalf("k8s_yaml got %v, want exactly kustomize(%q)", tilt.K8sYAML, devOverlay)
	}
}

// modulePackageDirs lists the repository directories an app's binary is
// built from, as `go list -deps` sees them. Errors (an app still being
// written) are tolerated: -e still lists every package it can find.
func modulePackageDirs(t *testing.T, app string) []string {
	t.Helper()
	goTool := requireTool(t, "go")
	root := repoRoot(t)
	out, err := runCommand(root, nil, goTool, "list", "-e", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./apps/"+app)
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var dirs []string
	for _, dir := range strings.Fields(string(out)) {
		if rel, err := filepath.Rel(root, dir); err == nil && !strings.HasPrefix(rel, "..") {
			dirs = append(dirs, filepath.ToSlash(rel))
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("go list found no packages of ./apps/%s", app)
	}
	return dirs
}

func covered(dir string, deps []string) bool {
	for _, d := range deps {
		d = path.Clean(d)
		if dir == d || strings.HasPrefix(dir, d+"/") {
			return true
		}
	}
	return false
}

// compileResources finds, per app, the local_resource that compiles it.
func compileResources(t *testing.T, tilt *tiltState) map[string]tiltLocalResource {
	t.Helper()
	found := map[string]tiltLocalResource{}
	for _, r := range tilt.LocalResources {
		for app := range apps {
			if strings.Contains(r.Cmd, "go build") && strings.Contains(r.Cmd, "./apps/"+app) {
				if _, dup := found[app]; dup {
					t.Errorf("two local_resources compile %s", app)
				}
				found[app] = r
			}
		}
	}
	return found
}

func TestTiltCompilesEachAppWithNarrowDeps(t *testing.T) {
	tilt := evalTiltfile(t)
	root := repoRoot(t)
	compiles := compileResources(t, tilt)
	for _, app := range sortedNames(apps) {
		t.Run(app, func(t *testing.T) {
			r, ok := compiles[app]
			if !ok {
				t.Fatalf("no local_resource runs go build ./apps/%s", app)
			}
			for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "-o bin/linux/" + app + " "} {
				if !strings.Contains(r.Cmd+" ", want) {
					t.Errorf("%s: command %q lacks %q", r.Name, r.Cmd, want)
				}
			}
			if len(r.Deps) == 0 {
				t.Fatalf("%s: no deps: it would never recompile", r.Name)
			}
			for _, d := range r.Deps {
				clean := path.Clean(d)
				if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) || clean == "apps" {
					t.Errorf("%s: dep %q is not narrow: any change in it would restart %s", r.Name, d, app)
				}
				for other := range apps {
					if other != app && covered("apps/"+other, []string{clean}) {
						t.Errorf("%s: dep %q covers another app (%s)", r.Name, d, other)
					}
				}
				if _, err := os.Stat(filepath.Join(root, clean)); err != nil {
					t.Errorf("%s: dep %q does not exist", r.Name, d)
				}
			}
			for _, dir := range append(modulePackageDirs(t, app), "go.mod", "go.sum", "apps/"+app) {
				if !covered(dir, r.Deps) {
					t.Errorf("%s: %s is part of the build but not in deps: editing it would not recompile", r.Name, dir)
				}
			}
		})
	}
}

// devContainers maps each image in the dev overlay to the container (and
// the pod spec around it) that runs it.
func devContainers(t *testing.T) (map[string]corev1.Container, map[string]corev1.PodSpec, map[string]string) {
	t.Helper()
	containers := map[string]corev1.Container{}
	pods := map[string]corev1.PodSpec{}
	owner := map[string]string{}
	for name, w := range workloads(rendered(t, devOverlay)) {
		for _, c := range w.Template.Spec.Containers {
			containers[c.Image] = c
			pods[c.Image] = w.Template.Spec
			owner[c.Image] = name
		}
	}
	return containers, pods, owner
}

func TestTiltBuildsEveryDevImageWithLiveUpdate(t *testing.T) {
	tilt := evalTiltfile(t)
	containers, pods, owner := devContainers(t)
	compiles := compileResources(t, tilt)
	resources := map[string]tiltK8sResource{}
	for _, r := range tilt.K8sResources {
		resources[r.name()] = r
	}

	built := map[string]bool{}
	for _, d := range tilt.DockerBuilds {
		built[d.Ref] = true
	}
	for image := range containers {
		if !strings.HasPrefix(image, "pixel-") {
			continue // public images (Redis) are pulled, not built
		}
		if !built[image] {
			t.Errorf("the dev overlay runs %s but no docker_build builds it", image)
		}
	}

	for _, d := range tilt.DockerBuilds {
		t.Run(d.Ref, func(t *testing.T) {
			c, ok := containers[d.Ref]
			if !ok {
				t.Fatalf("docker_build %s matches no image in the dev overlay: Tilt would build it for nothing", d.Ref)
			}
			app := owner[d.Ref]
			if d.Context != "." || path.Clean(d.Dockerfile) != "Dockerfile" {
				t.Errorf("want the repository's Dockerfile in context '.', got %s in %s", d.Dockerfile, d.Context)
			}
			if d.BuildArgs["APP"] != app {
				t.Errorf("build arg APP=%q, want %q", d.BuildArgs["APP"], app)
			}
			// Live Update runs tar (the sync) and a shell (the restart)
			// in the container; distroless has only the debug variant's
			// busybox for that.
			if base := d.BuildArgs["BASE"]; !strings.Contains(base, ":debug") {
				t.Errorf("BASE=%q: Live Update needs a base with a shell and tar (distroless :debug-nonroot)", base)
			}
			compile, ok := compiles[app]
			if !ok {
				t.Fatalf("no compile resource for %s", app)
			}
			binary := "bin/linux/" + app
			if !containsString(d.Only, binary) {
				t.Errorf("only=%v does not include the compiled %s", d.Only, binary)
			}

			var syncs, runs []liveUpdateStep
			sawRun := false
			for _, step := range d.LiveUpdate {
				switch step.Kind {
				case "restart_container":
					t.Errorf("restart_container() is for Docker Compose only; Tilt rejects it on Kubernetes")
				case "sync":
					if sawRun {
						t.Errorf("sync after run: Tilt requires every sync before the runs")
					}
					syncs = append(syncs, step)
				case "run":
					sawRun = true
					runs = append(runs, step)
				}
			}
			if len(syncs) != 1 || path.Clean(syncs[0].Local) != binary {
				t.Fatalf("live_update must sync exactly the compiled %s, got %+v", binary, syncs)
			}
			if len(runs) == 0 {
				t.Errorf("live_update never restarts the process: the new binary would not run")
			}
			remote := syncs[0].Remote
			if !path.IsAbs(remote) {
				t.Errorf("sync target %q must be absolute", remote)
			}
			// The root filesystem is read-only, so the target must be on a
			// writable volume.
			if !onEmptyDir(c, pods[d.Ref], remote) {
				t.Errorf("sync target %s is not on a writable emptyDir mount of the %s container", remote, c.Name)
			}
			if len(d.Entrypoint) == 0 || !strings.Contains(strings.Join(d.Entrypoint, " "), remote) {
				t.Errorf("the entrypoint %q does not run the synced %s", d.Entrypoint, remote)
			}
			if k := resources[app]; !containsString(k.ResourceDeps, compile.Name) {
				t.Errorf("k8s_resource %s does not wait for %s: the first image build needs the binary", app, compile.Name)
			}
		})
	}
}

func onEmptyDir(c corev1.Container, pod corev1.PodSpec, target string) bool {
	for _, m := range c.VolumeMounts {
		if m.ReadOnly || !strings.HasPrefix(target, strings.TrimSuffix(m.MountPath, "/")+"/") {
			continue
		}
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

func TestTiltResourcesCoverTheDevOverlay(t *testing.T) {
	tilt := evalTiltfile(t)
	objs := rendered(t, devOverlay)
	ws := workloads(objs)

	declared := map[string]bool{}
	for _, r := range tilt.LocalResources {
		declared[r.Name] = true
	}
	resources := map[string]tiltK8sResource{}
	for _, r := range tilt.K8sResources {
		if r.Workload != "" {
			if _, ok := ws[r.Workload]; !ok {
				t.Errorf("k8s_resource(%q): no such workload in the dev overlay", r.Workload)
			}
		}
		if declared[r.name()] {
			t.Errorf("resource %s declared twice", r.name())
		}
		declared[r.name()] = true
		resources[r.name()] = r
	}
	for _, r := range tilt.K8sResources {
		for _, dep := range r.ResourceDeps {
			if !declared[dep] {
				t.Errorf("%s depends on %q, which is not a resource", r.name(), dep)
			}
		}
	}

	for _, name := range sortedNames(ws) {
		r, ok := resources[name]
		if !ok {
			t.Errorf("workload %s has no k8s_resource", name)
			continue
		}
		c := ws[name].Template.Spec.Containers[0]
		if port, isApp := apps[name]; isApp {
			found, admin := false, false
			for _, pf := range r.PortForwards {
				if pf.Local == int(port) && pf.Container == int(port) {
					found = true
				}
				admin = admin || pf.Container == adminPort
			}
			// Tilt shows a link for every port forward. web's page, opened
			// on a forward of the web pod, would open its WebSocket on that
			// same origin, which the web app does not serve: web's public
			// port is not forwarded, its link goes through the ingress.
			switch {
			case name == "web" && found:
				t.Errorf("web: forwards localhost:%d, whose page's WebSocket cannot work (only the ingress sends /ws to a gateway)", port)
			case name != "web" && !found:
				t.Errorf("%s: no port forward localhost:%d -> %d (got %+v)", name, port, port, r.PortForwards)
			}
			if !admin {
				t.Errorf("%s: no port forward to the admin port %d (/health, /ready, /metrics)", name, adminPort)
			}
			if !containerExposes(ws[name].Template.Spec.Containers, intstr.FromInt32(port)) {
				t.Errorf("%s: forwards %d, which the container does not expose", name, port)
			}
			usesRedis := false
			for _, e := range c.Env {
				usesRedis = usesRedis || e.Name == "REDIS_PASSWORD"
			}
			if usesRedis && !containsString(r.ResourceDeps, redisName) {
				t.Errorf("%s uses Redis but does not wait for the redis resource", name)
			}
		}
	}
	if web := resources["web"]; len(web.Links) != 1 || strings.TrimSuffix(web.Links[0], "/") != "http://localhost" {
		t.Errorf("web's links %v, want only the ingress at http://localhost/", web.Links)
	}

	// Every object is claimed exactly once: workloads by name, Services by
	// their selector (Tilt's own grouping), the rest by objects=[...].
	// Anything else would sit in Tilt's "uncategorized" resource, applied
	// in no particular order.
	claimed := map[string]int{}
	key := func(o object) string { return o.Kind + "/" + o.Name }
	for _, o := range objs {
		if o.Kind == "apps/v1/Deployment" || o.Kind == "apps/v1/StatefulSet" {
			claimed[key(o)]++
		}
		if svc, ok := o.Obj.(*corev1.Service); ok {
			for _, w := range ws {
				if selectorSubset(svc.Spec.Selector, w.Template.Labels) {
					claimed[key(o)]++
				}
			}
		}
	}
	for _, r := range tilt.K8sResources {
		for _, sel := range r.Objects {
			matches := matchObjects(sel, objs)
			if len(matches) != 1 {
				t.Errorf("%s: object selector %q matches %d objects, want 1 (Tilt rejects it otherwise)", r.name(), sel, len(matches))
			}
			for _, o := range matches {
				claimed[key(o)]++
			}
		}
	}
	for _, o := range objs {
		if n := claimed[key(o)]; n != 1 {
			t.Errorf("%s belongs to %d Tilt resources, want 1", o, n)
		}
	}
}

// selectorSubset is how Tilt attaches a Service to a workload: every
// selector label present on the pod template.
func selectorSubset(selector, podLabels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if podLabels[k] != v {
			return false
		}
	}
	return true
}

// matchObjects applies Tilt's object selector syntax, name[:kind[:namespace]],
// each part matched whole and case-insensitively.
func matchObjects(selector string, objs []object) []object {
	parts := strings.Split(selector, ":")
	var out []object
	for _, o := range objs {
		kind := o.Kind[strings.LastIndex(o.Kind, "/")+1:]
		if !strings.EqualFold(parts[0], o.Name) {
			continue
		}
		if len(parts) > 1 && !strings.EqualFold(parts[1], kind) {
			continue
		}
		if len(parts) > 2 && !strings.EqualFold(parts[2], o.Namespace) {
			continue
		}
		out = append(out, o)
	}
	return out
}

func TestTiltRunsTestsUnitAutomaticallyAndIntegrationOnDemand(t *testing.T) {
	tilt := evalTiltfile(t)
	byName := map[string]tiltLocalResource{}
	for _, r := range tilt.LocalResources {
		byName[r.Name] = r
	}
	unit, ok := byName["unit-tests"]
	if !ok {
		t.Fatal("no unit-tests local_resource")
	}
	for _, want := range []string{"go test", "-short", "./domain/...", "./adapters/..."} {
		if !strings.Contains(unit.Cmd, want) {
			t.Errorf("unit-tests command %q lacks %q", unit.Cmd, want)
		}
	}
	if unit.TriggerMode != triggerAuto || !unit.AutoInit {
		t.Errorf("unit-tests should run on every change (auto trigger, auto_init)")
	}
	if len(unit.Deps) == 0 || covered("k8s", unit.Deps) {
		t.Errorf("unit-tests deps %v must be the code it tests, not the whole repository", unit.Deps)
	}
	integ, ok := byName["integration-tests"]
	if !ok {
		t.Fatal("no integration-tests local_resource")
	}
	if !strings.Contains(integ.Cmd, "go test") {
		t.Errorf("integration-tests command %q runs no go test", integ.Cmd)
	}
	if integ.TriggerMode != triggerManual || integ.AutoInit {
		t.Errorf("integration-tests must be manual (TRIGGER_MODE_MANUAL, auto_init=False): they are slow")
	}
}

// devRunner is the dev images' runner and Live Update restart step, as
// real shell code with the container paths moved to a temporary
// directory, and a fake app that logs its lifecycle there.
type devRunner struct {
	sh, dir, logFile string
	runner, restart  string
}

func newDevRunner(t *testing.T) *devRunner {
	t.Helper()
	sh := requireTool(t, "sh")
	tilt := evalTiltfile(t)
	var build *tiltDockerBuild
	for i := range tilt.DockerBuilds {
		if tilt.DockerBuilds[i].Ref == "pixel-api" {
			build = &tilt.DockerBuilds[i]
		}
	}
	if build == nil || len(build.Entrypoint) != 3 || build.Entrypoint[1] != "-c" {
		t.Fatalf("want pixel-api's entrypoint as [shell, -c, script], got %+v", build)
	}
	var syncTarget string
	var restart []string
	for _, s := range build.LiveUpdate {
		switch s.Kind {
		case "sync":
			syncTarget = s.Remote
		case "run":
			restart = s.Cmd
		}
	}
	if len(restart) != 3 || restart[1] != "-c" {
		t.Fatalf("want the restart step as [shell, -c, script], got %q", restart)
	}

	dir := t.TempDir()
	liveDir := path.Dir(syncTarget)
	relocate := func(script string) string {
		script = strings.ReplaceAll(script, liveDir+"/", dir+"/live/")
		return strings.ReplaceAll(script, "bin=/app\n", "bin="+dir+"/image-app\n")
	}
	r := &devRunner{sh: sh, dir: dir, logFile: filepath.Join(dir, "log"), runner: relocate(build.Entrypoint[2]), restart: relocate(restart[2])}
	if r.runner == build.Entrypoint[2] || !strings.Contains(r.runner, dir+"/image-app") {
		t.Fatalf("could not relocate the runner's paths (%s, /app): the test needs updating", liveDir)
	}
	if err := os.Mkdir(filepath.Join(dir, "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeApp writes an app at file that logs "start <label>" (once its TERM
// trap is set), "term <label>" on SIGTERM, and otherwise exits with
// exitCode after about 10 s.
func (r *devRunner) fakeApp(t *testing.T, file, label string, exitCode int) {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\ntrap 'echo term %[1]s >> %[2]s; exit 0' TERM\necho start %[1]s >> %[2]s\ni=0\nwhile [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\nexit %[3]d\n", label, r.logFile, exitCode)
	if err := os.WriteFile(file, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func (r *devRunner) waitFor(t *testing.T, want string) {
	t.Helper()
	waitfor.Until(t, 5*time.Second, func() error {
		b, err := os.ReadFile(r.logFile)
		if err != nil || !strings.Contains(string(b), want) {
			return fmt.Errorf("no %q in the log (%v):\n%s", want, err, b)
		}
		return nil
	})
}

// The runner the dev images start as PID 1 is real shell code; run it
// here against a fake app.
func TestTiltRunnerRestartsTheSyncedBinaryAndForwardsSIGTERM(t *testing.T) {
	r := newDevRunner(t)
	sh, dir, logFile, runner, restartScript := r.sh, r.dir, r.logFile, r.runner, r.restart
	fakeApp := func(file, label string, exitCode int) { r.fakeApp(t, file, label, exitCode) }
	waitFor := func(want string) { t.Helper(); r.waitFor(t, want) }

	fakeApp(filepath.Join(dir, "image-app"), "image", 0)
	cmd, done := startGroup(t, sh, "-c", runner)
	waitFor("start image")

	// A Live Update: the new binary lands in the synced path, then the run
	// step asks for a restart.
	fakeApp(filepath.Join(dir, "live", "app"), "live", 0)
	if out, err := exec.Command(sh, "-c", restartScript).CombinedOutput(); err != nil {
		t.Fatalf("restart step: %v\n%s", err, out)
	}
	waitFor("term image")
	waitFor("start live")

	// Pod deletion: SIGTERM reaches the app, which drains, and the runner
	// exits with it instead of restarting it.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if err := cmd.ProcessState.ExitCode(); err != 0 {
			t.Errorf("runner exited with status %d after SIGTERM, want 0 (the app's own status)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the runner did not exit within 5s of SIGTERM")
	}
	b, _ := os.ReadFile(logFile)
	if got := strings.Count(string(b), "start live"); got != 1 || !strings.Contains(string(b), "term live") {
		t.Errorf("want the live binary started once and terminated once; log:\n%s", b)
	}

	// An app that dies on its own takes the container down with its exit
	// status, so the kubelet restarts it and Tilt shows the crash.
	if err := os.Remove(filepath.Join(dir, "live", "app")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "image-app"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	crash, crashDone := startGroup(t, sh, "-c", runner)
	select {
	case <-crashDone:
		if code := crash.ProcessState.ExitCode(); code != 3 {
			t.Errorf("runner of a crashing app exited with status %d, want 3", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the runner kept a crashed app's container alive")
	}
}

// A Live Update can land as the container starts (a pod that just
// restarted), before the runner has started the app and written its pid:
// the restart step waits for the pid instead of failing, and the runner
// restarts the app on the synced binary and keeps running it.
func TestTiltRestartStepWaitsForTheAppToStart(t *testing.T) {
	r := newDevRunner(t)
	r.fakeApp(t, filepath.Join(r.dir, "image-app"), "image", 0)
	r.fakeApp(t, filepath.Join(r.dir, "live", "app"), "live", 0)

	restart := exec.Command(r.sh, "-c", r.restart)
	var out strings.Builder
	restart.Stdout, restart.Stderr = &out, &out
	if err := restart.Start(); err != nil {
		t.Fatal(err)
	}
	restarted := make(chan error, 1)
	go func() { restarted <- restart.Wait() }()
	// The step has asked for the restart (its first action); only now
	// does the container's runner start.
	marker := filepath.Join(r.dir, "live", "restart")
	waitfor.Until(t, 5*time.Second, func() error {
		if _, err := os.Stat(marker); err != nil {
			return fmt.Errorf("the restart step has not marked the restart: %v", err)
		}
		return nil
	})
	_, done := startGroup(t, r.sh, "-c", r.runner)

	select {
	case err := <-restarted:
		if err != nil {
			t.Fatalf("restart step before the app started: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the restart step did not finish within 15 s of the runner starting")
	}
	// The runner consumed the request (it restarted the app) and runs the
	// synced binary.
	waitfor.Until(t, 5*time.Second, func() error {
		if _, err := os.Stat(marker); err == nil {
			return fmt.Errorf("the restart request is still pending")
		}
		return nil
	})
	r.waitFor(t, "start live")
	select {
	case <-done:
		b, _ := os.ReadFile(r.logFile)
		t.Fatalf("the runner exited instead of restarting the app; log:\n%s", b)
	default:
	}
	if b, _ := os.ReadFile(r.logFile); strings.Contains(string(b), "image") {
		t.Errorf("the image's binary ran though a synced one was there; log:\n%s", b)
	}
}

// startGroup starts a command in its own process group; done closes when
// it has exited. Cleanup kills the whole group, so no fake app outlives the
// test.
func startGroup(t *testing.T, name string, args ...string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	return cmd, done
}
