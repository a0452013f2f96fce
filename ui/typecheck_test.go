package ui

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestTypeCheck type-checks the browser client from its JSDoc with the
// TypeScript compiler pinned in ui/package.json (tsconfig.json: checkJs,
// noEmit). It needs `npm ci` in ui/ first; without ui/node_modules it skips,
// except in CI (CI=true), where a missing compiler is a failure, not a pass.
func TestTypeCheck(t *testing.T) {
	tsc := filepath.Join("node_modules", ".bin", "tsc")
	if runtime.GOOS == "windows" {
		tsc += ".cmd"
	}
	if _, err := os.Stat(tsc); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is missing: run `npm ci --prefix ui` before `go test ./ui/`", tsc)
		}
		t.Skipf("%s not found: skipping the type check (run `npm ci --prefix ui` to enable it)", tsc)
	}
	cmd := exec.Command(tsc, "-p", ".", "--noEmit")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("type check failed (%v):\n%s", err, out)
	}
}
