package ui

import (
	"os"
	"os/exec"
	"testing"
)

// TestNodeSuites runs the browser client's own tests (ui/test, plain
// `node --test`, no npm packages) so that the project's one test command
// covers them too. With Chromium present it also runs the client's browser
// suites (UI_E2E=1) against the stand-in server in ui/test/devserver.mjs.
func TestNodeSuites(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is required in CI to run the UI's tests")
		}
		t.Skip("node not found: skipping the UI's node tests (install Node.js 20+ to run them)")
	}
	cmd := exec.Command(node, "--test", "test/")
	cmd.Env = os.Environ()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if _, err := exec.LookPath(name); err == nil {
			cmd.Env = append(cmd.Env, "UI_E2E=1")
			break
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test ui/test failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
