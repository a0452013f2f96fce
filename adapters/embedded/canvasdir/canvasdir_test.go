package canvasdir

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/canvasestest"
)

var ctx = context.Background()

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, dir string, clock ports.Clock) *Directory {
	t.Helper()
	d, err := Open(Options{Dir: dir, Clock: clock, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestContract(t *testing.T) {
	canvasestest.Run(t, func(t *testing.T, clock ports.Clock) ports.Canvases {
		return open(t, t.TempDir(), clock)
	})
}

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func spec(name string, private bool) domain.CanvasSpec {
	return domain.CanvasSpec{Name: name, Size: domain.Size{Width: 32, Height: 16}, Private: private,
		PixelRate: domain.RateRule{PerSecond: 1.5, Burst: 4}}
}

// Everything acknowledged is there after a restart, activity included
// (Close writes what Touch had not).
func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	clock := canvasestest.NewClock(start)
	d, err := Open(Options{Dir: dir, Clock: clock, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	pub, pubKeys, err := d.Create(ctx, spec("Public one", false), ports.CanvasLimits{})
	if err != nil {
		t.Fatal(err)
	}
	_, privKeys, err := d.Create(ctx, spec("Private one", true), ports.CanvasLimits{})
	if err != nil {
		t.Fatal(err)
	}
	name := "Renamed"
	if _, err := d.Update(ctx, pub.Slug, ports.CanvasPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	invite, err := d.RotateInvite(ctx, "private-one")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Archive(ctx, "private-one"); err != nil {
		t.Fatal(err)
	}
	if err := d.Touch(ctx, pub.Slug, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := d.Touch(ctx, pub.Slug, start.Add(time.Hour+time.Second)); err != nil { // within the window: memory only
		t.Fatal(err)
	}
	before := map[domain.Slug]domain.CanvasInfo{}
	for _, s := range []domain.Slug{"public-one", "private-one"} {
		before[s], _ = d.Get(ctx, s)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = open(t, dir, clock)
	for s, want := range before {
		got, err := d.Get(ctx, s)
		if err != nil || got != want {
			t.Errorf("%s after reopening: %+v, %v; want %+v", s, got, err, want)
		}
	}
	if got := before["public-one"].LastActive; !got.Equal(start.Add(time.Hour + time.Second)) {
		t.Errorf("last activity %v", got)
	}
	if err := d.CheckCreator(ctx, "public-one", pubKeys.CreatorKey); err != nil {
		t.Error(err)
	}
	if err := d.CheckCreator(ctx, "private-one", privKeys.CreatorKey); err != nil {
		t.Error(err)
	}
	if err := d.CheckInvite(ctx, "private-one", invite); err != nil {
		t.Error(err)
	}
	if err := d.CheckInvite(ctx, "private-one", privKeys.Invite); !errors.Is(err, ports.ErrNoCanvas) {
		t.Errorf("the revoked invite after reopening: %v", err)
	}
	if info, _, err := d.Create(ctx, spec("Public one", false), ports.CanvasLimits{}); err != nil || info.Slug != "public-one-2" {
		t.Errorf("a new canvas of a known name: %+v, %v", info, err)
	}
	if p := d.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
}

// The files hold hashes of the tokens, never the tokens.
func TestTokensAreStoredHashed(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, canvasestest.NewClock(start))
	_, keys, err := d.Create(ctx, spec("Secret", true), ports.CanvasLimits{})
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := d.RotateInvite(ctx, "secret")
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	err = filepath.WalkDir(dir, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(path) //nolint:gosec // the test's own temp dir
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{keys.CreatorKey, keys.Invite, rotated} {
		if strings.Contains(all.String(), token) {
			t.Errorf("token %s stored in clear", token)
		}
	}
	for _, token := range []string{keys.CreatorKey, rotated} {
		if !strings.Contains(all.String(), domain.HashCanvasToken(token).String()) {
			t.Errorf("the hash of %s is not stored", token)
		}
	}
}

// A damaged file is reported and skipped; the other canvases load, and the
// damaged canvas's slug is not handed out again.
func TestDamagedFileIsSkipped(t *testing.T) {
	dir := t.TempDir()
	clock := canvasestest.NewClock(start)
	d, err := Open(Options{Dir: dir, Clock: clock, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Good", "Torn", "Wrong", "Bad hash"} {
		if _, _, err := d.Create(ctx, spec(name, false), ports.CanvasLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	meta := func(slug string) string { return filepath.Join(dir, slug, MetaName) }
	data, err := os.ReadFile(meta("torn"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(slug, s string) {
		if err := os.WriteFile(meta(slug), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("torn", string(data[:len(data)/2]))
	write("wrong", strings.Replace(string(data), `"torn"`, `"other"`, 1))
	bad, _ := os.ReadFile(meta("bad-hash"))
	write("bad-hash", strings.Replace(string(bad), `"creatorKeySHA256": "`, `"creatorKeySHA256": "zz`, 1))
	// Not a canvas: a folder whose name is no slug, and one with data but
	// no meta.json.
	for _, p := range []string{filepath.Join(dir, "Not A Slug"), filepath.Join(dir, "orphan")} {
		if err := os.Mkdir(p, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "orphan", "wal"), []byte("pixels"), 0o600); err != nil {
		t.Fatal(err)
	}

	d = open(t, dir, clock)
	if _, err := d.Get(ctx, "good"); err != nil {
		t.Fatalf("the good canvas: %v", err)
	}
	problems := fmt.Sprint(d.Problems())
	for _, want := range []string{"torn", "wrong", "bad-hash", "Not A Slug", "orphan"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %s: nothing about %s", problems, want)
		}
	}
	if n := len(d.Problems()); n != 5 {
		t.Errorf("%d problems, want 5: %s", n, problems)
	}
	for _, s := range []domain.Slug{"torn", "wrong", "bad-hash", "orphan"} {
		if _, err := d.Get(ctx, s); !errors.Is(err, ports.ErrNoCanvas) {
			t.Errorf("damaged %s: %v", s, err)
		}
	}
	for _, name := range []string{"Torn", "Orphan"} {
		info, _, err := d.Create(ctx, spec(name, false), ports.CanvasLimits{})
		if err != nil || info.Slug != domain.SlugFromName(name).WithSuffix(2) {
			t.Errorf("%s: %+v, %v; the damaged slug was handed out again", name, info, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "orphan", "wal")); string(b) != "pixels" {
		t.Error("the orphan's data was touched")
	}
}

// A creation that a crash cut short (a folder with only a temp file) is
// cleaned up, and its slug is free again.
func TestUnfinishedCreationIsRemoved(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "half"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "half", tempPrefix+"123"), []byte(`{"ver`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := open(t, dir, canvasestest.NewClock(start))
	if p := d.Problems(); len(p) != 0 {
		t.Errorf("problems: %v", p)
	}
	if info, _, err := d.Create(ctx, spec("Half", false), ports.CanvasLimits{}); err != nil || info.Slug != "half" {
		t.Errorf("%+v, %v", info, err)
	}
}

// A folder made by someone else between the directory's choice and its
// mkdir is never taken over.
func TestExistingFolderIsNotTakenOver(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir, canvasestest.NewClock(start))
	if err := os.Mkdir(filepath.Join(dir, "late"), 0o750); err != nil {
		t.Fatal(err)
	}
	info, _, err := d.Create(ctx, spec("Late", false), ports.CanvasLimits{})
	if err != nil || info.Slug != "late-2" {
		t.Fatalf("%+v, %v", info, err)
	}
}

func TestSecondProcessIsRefused(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, canvasestest.NewClock(start))
	if _, err := Open(Options{Dir: dir, Clock: canvasestest.NewClock(start), Logger: quiet()}); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Open: %v, want ErrLocked", err)
	}
}

// killChildEnv names the directory a re-executed test binary creates
// canvases in until it is killed.
const killChildEnv = "CANVASDIR_KILL_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		killChild(dir)
		return
	}
	os.Exit(m.Run())
}

// killChild creates, renames and touches canvases for ever, printing what
// was acknowledged.
func killChild(dir string) {
	d, err := Open(Options{Dir: dir, Clock: canvasestest.NewClock(start), Logger: quiet()})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		info, keys, err := d.Create(context.Background(), spec("Crash test", i%2 == 0), ports.CanvasLimits{})
		if err != nil {
			fmt.Println("create:", err)
			os.Exit(1)
		}
		name := fmt.Sprintf("Renamed %d", i)
		if _, err := d.Update(context.Background(), info.Slug, ports.CanvasPatch{Name: &name}); err != nil {
			fmt.Println("update:", err)
			os.Exit(1)
		}
		fmt.Fprintln(out, info.Slug, keys.CreatorKey, name)
		out.Flush()
	}
}

// A SIGKILL at any moment loses no acknowledged creation or change and
// leaves no damaged file.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	acked := map[domain.Slug][2]string{}
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^$") //nolint:gosec // the test binary itself
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		for n := 0; n < 20+round*13 && lines.Scan(); n++ {
			f := strings.SplitN(lines.Text(), " ", 3)
			if len(f) != 3 {
				t.Fatalf("child: %q", lines.Text())
			}
			acked[domain.Slug(f[0])] = [2]string{f[1], f[2]}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		d, err := Open(Options{Dir: dir, Clock: canvasestest.NewClock(start), Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		if p := d.Problems(); len(p) != 0 {
			t.Errorf("round %d: problems after a kill: %v", round, p)
		}
		for slug, v := range acked {
			info, err := d.Get(ctx, slug)
			if err != nil || info.Name != v[1] {
				t.Fatalf("round %d: acknowledged %s (%q) is %+v, %v", round, slug, v[1], info, err)
			}
			if err := d.CheckCreator(ctx, slug, v[0]); err != nil {
				t.Fatalf("round %d: %s's creator key: %v", round, slug, err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d canvases acknowledged over 5 kills", len(acked))
}
