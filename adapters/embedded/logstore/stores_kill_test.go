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

// storesKillChildEnv names the data directory a re-executed test binary
// writes several canvases to until it is killed.
const storesKillChildEnv = "MEMSTORE_KILL_STORES_CHILD_DIR"

// killCanvases are the canvases of the kill test: main in the data
// directory, two more under canvases/; "rare" is written seldom enough
// that it is closed for idleness and loaded again between its writes.
var killCanvases = []struct {
	slug  domain.Slug
	size  domain.Size
	every int // written on every every-th round
}{
	{domain.MainSlug, testSize, 1},
	{"two", domain.Size{Width: 7, Height: 5}, 1},
	{"rare", domain.Size{Width: 3, Height: 3}, 25},
}

func killStoresOptions(dir string) StoresOptions {
	return StoresOptions{
		Options:   Options{Dir: dir, HistorySize: 100, Bus: membus.New(), SnapshotEvery: 37, SyncInterval: time.Millisecond, Logger: quietLogger()},
		IdleAfter: 2 * time.Millisecond,
	}
}

func storesKillChild(dir string) {
	stores, err := NewStores(killStoresOptions(dir))
	if err != nil {
		fmt.Println("stores:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		for _, c := range killCanvases {
			if i%c.every != 0 {
				continue
			}
			s, err := stores.Open(context.Background(), c.slug, c.size)
			if err != nil {
				fmt.Println("open:", err)
				os.Exit(1)
			}
			events, err := s.Place(context.Background(), []domain.Write{
				{Pixel: domain.Pixel{X: i % c.size.Width, Y: i / c.size.Width % c.size.Height, Color: domain.Color(i)}, Username: "k"},
				{Pixel: domain.Pixel{X: i % 3, Y: 0, Color: domain.Color(i + 1)}, Username: "k"},
			})
			if err != nil {
				fmt.Println("place:", err)
				os.Exit(1)
			}
			if c.every > 1 {
				time.Sleep(5 * time.Millisecond) // idle long enough to be closed
			}
			// Only what was acknowledged is printed, so only that is owed.
			fmt.Fprintln(out, c.slug, events[len(events)-1].Seq)
			out.Flush()
		}
	}
}

// A SIGKILL at any moment, checkpoints and idle closes included, loses
// nothing acknowledged on any canvas, and each starts again where it was.
func TestStoresSIGKILLLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	dir := t.TempDir()
	last := map[domain.Slug]domain.Seq{}
	for round := 0; round < 6; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), storesKillChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		acked := map[domain.Slug]domain.Seq{}
		for k, v := range last {
			acked[k] = v
		}
		record := func(line string, strict bool) {
			slug, seqText, _ := strings.Cut(strings.TrimSpace(line), " ")
			seq, err := strconv.ParseUint(seqText, 10, 64)
			if err != nil {
				if strict {
					t.Fatalf("round %d: child said %q", round, line)
				}
				return
			}
			if strict && seq <= acked[domain.Slug(slug)] {
				t.Fatalf("round %d: %s seq %d after %d: seqs went back after a kill", round, slug, seq, acked[domain.Slug(slug)])
			}
			acked[domain.Slug(slug)] = seq
		}
		for n := 0; n < 150+round*97 && lines.Scan(); n++ {
			record(lines.Text(), true)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for lines.Scan() { // acknowledged before the kill landed
			record(lines.Text(), false)
		}
		_ = cmd.Wait()

		stores, err := NewStores(killStoresOptions(dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range killCanvases {
			if acked[c.slug] == last[c.slug] && c.every == 1 {
				t.Fatalf("round %d: the child acknowledged nothing on %s", round, c.slug)
			}
			s, err := stores.Open(context.Background(), c.slug, c.size)
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, c.slug, err)
			}
			latest, err := storetest.LatestSeq(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if latest < acked[c.slug] {
				t.Fatalf("round %d: after SIGKILL %s's LatestSeq = %d, but %d was acknowledged", round, c.slug, latest, acked[c.slug])
			}
			n := min(latest, 50)
			events, complete, err := storetest.SinceCurrent(context.Background(), s, latest-n, 0)
			if err != nil || !complete || len(events) != int(n) || (n > 0 && events[len(events)-1].Seq != latest) {
				t.Fatalf("round %d: %s's history after the restart: %d events, complete %v, %v", round, c.slug, len(events), complete, err)
			}
			last[c.slug] = latest
		}
		if err := stores.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if last["rare"] == 0 {
		t.Error("the rarely written canvas was never written")
	}
}
