package k8s

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/internal/wsclient"
)

// TestImagesRunAsContainers builds the three images the way `make images`
// does (with BASE=scratch, since nothing can be pulled in CI), starts them on
// a Docker network with Redis — api, two gateways, web — and checks what a
// user would: the page is served, a pixel drawn through one gateway reaches
// a client on the other, and when a gateway container stops (SIGTERM, so it
// closes its clients with 1012) its client moves to the other gateway and
// resumes without losing anything.
func TestImagesRunAsContainers(t *testing.T) {
	docker := dockerCLI(t)
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tag := "citest-" + randomHex(4)
	build := exec.Command("bash", "scripts/images.sh", "images")
	build.Dir = root
	build.Env = append(os.Environ(), "BASE=scratch", "TAG="+tag, "DOCKER="+docker)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("scripts/images.sh images: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		for _, app := range []string{"api", "gateway", "web"} {
			_ = exec.Command(docker, "rmi", "-f", "pixel-"+app+":"+tag).Run()
		}
	})
	redisImage := os.Getenv("PIXEL_REDIS_IMAGE")
	if redisImage == "" {
		redisImage = "redis:7-alpine"
	}

	net := "pixel-" + tag
	mustDocker(t, docker, "network", "create", net)
	t.Cleanup(func() { _ = exec.Command(docker, "network", "rm", net).Run() })
	run := func(name string, args ...string) string {
		t.Helper()
		full := append([]string{"run", "-d", "--name", name + "-" + tag, "--network", net, "--network-alias", name}, args...)
		id := strings.TrimSpace(mustDocker(t, docker, full...))
		t.Cleanup(func() {
			if t.Failed() {
				logs, _ := exec.Command(docker, "logs", "--tail", "40", id).CombinedOutput()
				t.Logf("%s logs:\n%s", name, logs)
			}
			_ = exec.Command(docker, "rm", "-f", id).Run()
		})
		return id
	}
	// The apps run read-only and as the non-root user, as in the cluster.
	secure := []string{"--read-only", "--user", "65532:65532", "--cap-drop", "ALL"}
	run("redis", redisImage, "--save", "", "--appendonly", "no")
	env := []string{"-e", "REDIS_HOST=redis", "-e", "REDIS_PORT=6379", "-e", "LOG_FORMAT=json"}
	run("api", append(append(append(secure, env...), "-p", "127.0.0.1::3001"), "pixel-api:"+tag)...)
	gw1 := run("gateway1", append(append(append(secure, env...), "-p", "127.0.0.1::3002", "-e", "SHUTDOWN_TIMEOUT=5s"), "pixel-gateway:"+tag)...)
	run("gateway2", append(append(append(secure, env...), "-p", "127.0.0.1::3002"), "pixel-gateway:"+tag)...)
	run("web", append(append(secure, "-p", "127.0.0.1::3000"), "pixel-web:"+tag)...)

	hostPort := func(name, port string) string {
		t.Helper()
		out := mustDocker(t, docker, "port", name+"-"+tag, port+"/tcp")
		return strings.TrimSpace(strings.Split(strings.TrimSpace(out), "\n")[0])
	}
	api, g1, g2, web := hostPort("api", "3001"), hostPort("gateway1", "3002"), hostPort("gateway2", "3002"), hostPort("web", "3000")
	for _, addr := range []string{api, g1, g2, web} {
		waitHealthy(t, "http://"+addr+"/health")
	}
	resp, err := http.Get("http://" + web + "/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("web page: %v %v", resp, err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice, err := wsclient.Dial(ctx, "ws://"+g1+"/ws", wsclient.Options{Username: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := wsclient.Dial(ctx, "ws://"+g2+"/ws", wsclient.Options{Username: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := alice.PlacePixel(7, 7, "#FF00FF", "a1"); err != nil {
		t.Fatal(err)
	}
	first := awaitPixel(t, bob, func(p wsclient.PixelUpdated) bool { return p.X == 7 && p.Y == 7 })
	awaitPixel(t, alice, func(p wsclient.PixelUpdated) bool { return p.ID == "a1" })

	// Stop Alice's gateway: it closes her connection with 1012 and she
	// moves to the other gateway, resuming after the last seq she saw on
	// the timeline she saw it on (without the epoch, a canvas born with
	// epochs answers recovered=false: docs/consistency.md).
	mustDocker(t, docker, "stop", "-t", "10", gw1)
	select {
	case <-alice.Done():
	case <-ctx.Done():
		t.Fatal("gateway stop did not close the client")
	}
	if code := alice.Closed().Code; code != 1012 {
		t.Fatalf("close code on gateway stop = %d, want 1012", code)
	}
	if err := bob.PlacePixel(8, 8, "#00FFFF", "b1"); err != nil { // while Alice is away
		t.Fatal(err)
	}
	moved, err := wsclient.Dial(ctx, "ws://"+g2+"/ws", wsclient.Options{Username: "Alice", Since: first.Seq, Epoch: alice.ConnectedEpoch()})
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	missed := awaitPixel(t, moved, func(p wsclient.PixelUpdated) bool { return p.X == 8 && p.Y == 8 })
	if missed.Seq != first.Seq+1 {
		t.Fatalf("replayed seq %d, want %d", missed.Seq, first.Seq+1)
	}
	if err := moved.PlacePixel(9, 9, "#FFFF00", "a2"); err != nil {
		t.Fatal(err)
	}
	awaitPixel(t, bob, func(p wsclient.PixelUpdated) bool { return p.X == 9 && p.Y == 9 })
}

func awaitPixel(t *testing.T, c *wsclient.Client, ok func(wsclient.PixelUpdated) bool) wsclient.PixelUpdated {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-c.Messages():
			if p, is := m.(wsclient.PixelUpdated); is && ok(p) {
				return p
			}
		case <-deadline:
			t.Fatal("pixel not received within 15s")
		}
	}
}

// dockerCLI finds a working Docker engine: skipped without one on a
// laptop, a failure in CI.
func dockerCLI(t *testing.T) string {
	t.Helper()
	cli := "docker"
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		cli = "/usr/bin/docker" // Debian's client builds without buildx
	}
	if err := exec.Command(cli, "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Docker is required in CI: %v", err)
		}
		t.Skipf("no Docker engine (%v): skipping the container test", err)
	}
	return cli
}

func mustDocker(t *testing.T, docker string, args ...string) string {
	t.Helper()
	out, err := exec.Command(docker, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second} // one hung request must not outlast the wait
	waitfor.Until(t, 30*time.Second, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return fmt.Errorf("%s not healthy: %w", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s not healthy: %s", url, resp.Status)
		}
		return nil
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
