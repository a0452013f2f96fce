package domain_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsOnlyTheStandardLibrary keeps the hexagon honest: the
// domain and the ports may import the standard library and the domain,
// nothing else (no fasthttp, no Redis, no fx).
func TestCoreImportsOnlyTheStandardLibrary(t *testing.T) {
	const module = "github.com/pixelplayground/pixelplayground/"
	for _, pkg := range []string{"./", "../ports"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep != module+"domain" && dep != module+"ports" {
				t.Errorf("%s depends on %s; only the standard library and the domain are allowed", pkg, dep)
			}
		}
	}
}
