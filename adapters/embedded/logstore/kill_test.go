//go:build unix

package logstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pixelplayground/pixelplayground/adapters/embedded/membus"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/ports/storetest"
)

// killChildEnv names the data directory a re-executed test binary writes
// to until it is killed.
const killChildEnv = "MEMSTORE_KILL_CHILD_DIR"

// TestMain lets the kill test run the store in a real process of its own:
// only a process that really dies shows what write(2) before the
// acknowledgement is worth.
func TestMain(m *testing.M) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		killChild(dir)
		return
	}
	if dir := os.Getenv(storesKillChildEnv); dir != "" {
		storesKillChild(dir)
		return
	}
	os.Exit(m.Run())
}

func killChild(dir string) {
	s, err := Open(Options{Dir: dir, Size: testSize, HistorySize: 100, Bus: membus.New(), SnapshotEvery: 37, SyncInterval: time.Millisecond, Logger: quietLogger()})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		events, err := s.Place(context.Background(), []domain.Write{
			{Pixel: domain.Pixel{X: i % testSize.Width, Y: i / testSize.Width % testSize.Height, Color: domain.Color(i)}, Username: "k"},
			{Pixel: domain.Pixel{X: i % 3, Y: 0, Color: domain.Color(i + 1)}, Username: "k"},
		})
		if err != nil {
			fmt.Println("place:", err)
			os.Exit(1)
		}
		// Only what was acknowledged is printed, so only that is owed.
		fmt.Fprintln(out, events[len(events)-1].Seq)
		out.Flush()
	}
}

// A SIGKILL at any moment, checkpoints included (one every 37 records),
// loses nothing acknowledged, and the store starts again where it was.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	var last domain.Seq
	for round := 0; round < 8; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		acked := last
		for n := 0; n < 100+round*67 && lines.Scan(); n++ {
			seq, err := strconv.ParseUint(strings.TrimSpace(lines.Text()), 10, 64)
			if err != nil {
				t.Fatalf("round %d: child said %q", round, lines.Text())
			}
			if seq <= acked {
				t.Fatalf("round %d: seq %d after %d: seqs went back after a kill", round, seq, acked)
			}
			acked = seq
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() { // acknowledged before the kill landed
			if seq, err := strconv.ParseUint(strings.TrimSpace(lines.Text()), 10, 64); err == nil {
				acked = seq
			}
		}
		_ = cmd.Wait()
		if acked == last {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}

		s := newOpener(t, dir).open()
		latest, err := storetest.LatestSeq(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if latest < acked {
			t.Fatalf("round %d: after SIGKILL LatestSeq = %d, but %d was acknowledged", round, latest, acked)
		}
		events, complete, err := storetest.SinceCurrent(context.Background(), s, latest-min(latest, 50), 0)
		if err != nil || !complete || len(events) != int(min(latest, 50)) || events[len(events)-1].Seq != latest {
			t.Fatalf("round %d: history after the restart: %d events, complete %v, %v", round, len(events), complete, err)
		}
		last = latest
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
