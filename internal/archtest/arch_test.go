package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// module is this module's path; the rules below speak of paths inside it.
const module = "github.com/pixelplayground/pixelplayground"

// listed is the part of `go list -json` the rules read. Imports are the
// non-test imports: the rules are about what ships.
type listed struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// rule forbids some imports to some of the module's packages.
type rule struct {
	// why is what the rule keeps, said in the failure.
	why string
	// applies reports whether the rule binds the package (a path relative
	// to the module, e.g. "adapters/inbound/ws").
	applies func(pkg string) bool
	// forbidden reports whether pkg may not import dep (dep relative to the
	// module for the module's packages, the full import path otherwise;
	// std: dep is in the standard library).
	forbidden func(pkg, dep string, std bool) bool
	// transitive rules hold for everything the package depends on, not
	// only for what it imports itself: an inbound adapter that reaches
	// Redis through a helper package reaches Redis all the same.
	transitive bool
}

func under(pkg, dir string) bool { return pkg == dir || strings.HasPrefix(pkg, dir+"/") }

// family is the backend a package belongs to ("adapters/redis"), or "".
func family(pkg string) string {
	for _, f := range []string{"adapters/embedded", "adapters/redis"} {
		if under(pkg, f) {
			return f
		}
	}
	return ""
}

func isBackend(dep string) bool {
	return family(dep) != "" || under(dep, "github.com/redis/go-redis")
}

var rules = []rule{
	{
		why:        "the domain is the pure core: standard library only",
		applies:    func(pkg string) bool { return pkg == "domain" },
		forbidden:  func(_, _ string, std bool) bool { return !std },
		transitive: true,
	},
	{
		why:        "the ports are the core's interfaces: standard library and domain only",
		applies:    func(pkg string) bool { return pkg == "ports" },
		forbidden:  func(_, dep string, std bool) bool { return !std && dep != "domain" },
		transitive: true,
	},
	{
		why:        "inbound adapters speak to the ports, never to a backend",
		applies:    func(pkg string) bool { return under(pkg, "adapters/inbound") },
		forbidden:  func(_, dep string, _ bool) bool { return isBackend(dep) },
		transitive: true,
	},
	{
		why:        "backends serve the ports, never an inbound adapter",
		applies:    func(pkg string) bool { return family(pkg) != "" },
		forbidden:  func(_, dep string, _ bool) bool { return under(dep, "adapters/inbound") },
		transitive: true,
	},
	{
		why:        "fx wiring belongs to the composition roots under apps/",
		applies:    func(pkg string) bool { return !under(pkg, "apps") },
		forbidden:  func(_, dep string, _ bool) bool { return under(dep, "go.uber.org/fx") },
		transitive: true,
	},
	{
		why:     "only the composition roots under apps/ (and tests) pick a concrete backend",
		applies: func(pkg string) bool { return !under(pkg, "apps") },
		forbidden: func(pkg, dep string, _ bool) bool {
			f := family(dep)
			switch {
			case f == "":
				return false
			case family(pkg) == f:
				return false // a backend's own parts: redisstore uses redisconn
			case pkg == "internal/redistest" && dep == "adapters/redis/redisconn":
				return false // the Redis test kit configures the connection
			}
			return true
		},
	},
}

func TestImportRules(t *testing.T) {
	pkgs := load(t)
	var ours []string
	for path, p := range pkgs {
		if p.Module != nil && p.Module.Path == module {
			ours = append(ours, path)
		}
	}
	for _, r := range rules {
		bound := 0
		for _, path := range ours {
			pkg := rel(path)
			if !r.applies(pkg) {
				continue
			}
			bound++
			if chain := violation(pkgs, path, r); chain != nil {
				t.Errorf("%s imports %s: %s", pkg, strings.Join(chain, " -> "), r.why)
			}
		}
		if bound == 0 {
			// A moved directory must not turn a rule into one that
			// holds for nothing.
			t.Errorf("no package is bound by the rule %q: did the layout change?", r.why)
		}
	}
}

// violation returns the import chain from path to the first dependency r
// forbids it (just that dependency for a direct rule), or nil.
func violation(pkgs map[string]*listed, path string, r rule) []string {
	from := rel(path)
	if !r.transitive {
		for _, dep := range pkgs[path].Imports {
			if r.forbidden(from, rel(dep), pkgs[dep] != nil && pkgs[dep].Standard) {
				return []string{rel(dep)}
			}
		}
		return nil
	}
	// Breadth first, so the chain reported is a shortest one.
	prev := map[string]string{path: ""}
	queue := []string{path}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		p := pkgs[cur]
		if p == nil {
			continue
		}
		for _, dep := range p.Imports {
			if _, seen := prev[dep]; seen {
				continue
			}
			prev[dep] = cur
			if r.forbidden(from, rel(dep), pkgs[dep] != nil && pkgs[dep].Standard) {
				var chain []string
				for at := dep; at != path; at = prev[at] {
					chain = append([]string{rel(at)}, chain...)
				}
				return chain
			}
			queue = append(queue, dep)
		}
	}
	return nil
}

// rel is path relative to the module, or path itself outside it.
func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// load lists every package of the module and everything it depends on.
func load(t *testing.T) map[string]*listed {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-json=ImportPath,Standard,Imports,Module,Error", "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", cmd.Dir, err, stderr.Bytes())
	}
	pkgs := map[string]*listed{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(listed)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Error != nil && p.Module != nil && p.Module.Path == module {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}
