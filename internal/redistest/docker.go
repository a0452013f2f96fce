package redistest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// dockerCheck remembers, for the whole test binary, whether Docker answered,
// so that every test does not ask again.
var dockerCheck struct {
	once sync.Once
	err  error
}

// requireDocker skips (or, under CI, fails) when no Docker engine answers.
func requireDocker(t testing.TB) {
	t.Helper()
	dockerCheck.once.Do(func() {
		configureTestcontainers()
		dockerCheck.err = pingDocker()
	})
	if dockerCheck.err == nil {
		return
	}
	msg := fmt.Sprintf("redistest: Docker is not reachable, so the Redis tests cannot run (%v); "+
		"start a Docker engine (see docs / .ci/run) or set DOCKER_HOST", dockerCheck.err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// pingDocker reports why no Docker engine answers, or nil.
func pingDocker() (err error) {
	// testcontainers panics on some broken Docker setups; treat that as absent.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("docker client panicked: %v", p)
		}
	}()
	provider, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(quietLogger{}))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := provider.Health(ctx); err != nil {
		return err
	}
	return nil
}

// configureTestcontainers applies the settings our machines need (see the
// toolchain notes) unless the environment already chose: the reaper image
// cannot be pulled without a registry (and every container here is
// terminated explicitly anyway), and a local engine is reached on localhost,
// not on the address testcontainers guesses when it thinks it runs inside a
// container.
func configureTestcontainers() {
	setDefault("TESTCONTAINERS_RYUK_DISABLED", "true")
	if host := os.Getenv("DOCKER_HOST"); host == "" || strings.HasPrefix(host, "unix://") {
		setDefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
	}
}

// setDefault sets an environment variable the environment left unset.
func setDefault(name, value string) {
	if _, ok := os.LookupEnv(name); !ok {
		_ = os.Setenv(name, value)
	}
}

// quietLogger drops testcontainers' progress lines for containers that
// outlive any one test (a test's logger must not be used after it ends).
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}
