package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisbus"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
	"github.com/pixelplayground/pixelplayground/ports/storetest"
)

// TestContractLoss loses events for real: a replica follows the master,
// and at the checkpoint it is promoted (REPLICAOF NO ONE) while the master
// takes more writes, which it acknowledges and publishes and the replica
// never gets. The store then serves the canvas from the promoted replica,
// as a failover to a replica that lagged would.
func TestContractLoss(t *testing.T) {
	storetest.RunLoss(t, func(t *testing.T, cfg storetest.Config) (ports.CanvasStore, ports.Bus, func() func() (ports.CanvasStore, ports.Bus)) {
		master, replica := redistest.Start(t), redistest.Start(t)
		mc, rc := master.Client(t), replica.Client(t)
		ctx := context.Background()
		host, port := master.InternalAddr(t)
		if err := rc.ReplicaOf(ctx, host, itoa(port)).Err(); err != nil {
			t.Fatalf("REPLICAOF: %v", err)
		}
		// A master that had no replica makes a new replication id when
		// the first one attaches (epoch.go), which starts a new epoch
		// without any loss; the replica attaches asynchronously, so wait
		// for it before the first write, or it can land between "before"
		// and the lost writes and look like a loss of its own.
		waitCaughtUp(t, mc, rc)
		opts := redisstore.Options{Size: cfg.Size, HistorySize: cfg.HistorySize}
		s, err := redisstore.Open(ctx, mc, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		checkpoint := func() func() (ports.CanvasStore, ports.Bus) {
			waitCaughtUp(t, mc, rc)
			if err := rc.ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
				t.Fatalf("REPLICAOF NO ONE: %v", err)
			}
			return func() (ports.CanvasStore, ports.Bus) {
				promoted, err := redisstore.Open(ctx, rc, opts)
				if err != nil {
					t.Fatalf("Open on the promoted replica: %v", err)
				}
				return promoted, redisbus.New(rc)
			}
		}
		return s, redisbus.New(mc), checkpoint
	})
}

// TestEpochAcrossRestart: a Redis killed and started again (its AOF
// intact: nothing lost) serves the canvas on a new epoch all the same,
// since the store cannot tell; its base is the head, so a client without
// an epoch resumes as before, and one with the old epoch reloads once.
// INFO is called from inside the scripts on the real server here.
func TestEpochAcrossRestart(t *testing.T) {
	r := redistest.Start(t)
	ctx := context.Background()
	c := r.Client(t)
	s, err := redisstore.Open(ctx, c, redisstore.Options{Size: small, HistorySize: 100})
	if err != nil {
		t.Fatal(err)
	}
	placeN(t, s, 5)
	// Data from before epochs: the canvas has events but no epoch yet.
	if err := c.Del(ctx, redisstore.KeyEpoch).Err(); err != nil {
		t.Fatal(err)
	}
	first, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 5 || first.Base != 5 {
		t.Fatalf("first epoch over epochless data: head %+v, want seq 5, base 5 (what there was is trusted)", first)
	}
	placeN(t, s, 3)
	r.Kill(t)
	r.Start(t)
	var after = first
	waitfor.True(t, 20*time.Second, "the store answers after the restart", func() bool {
		after, err = s.Head(ctx)
		return err == nil
	})
	if after.Epoch == first.Epoch || after.Seq != 8 || after.Base != 5 {
		t.Errorf("after a restart Head = %+v, want a new epoch at seq 8 with base 5 (the lower of the old base and the head)", after)
	}
	h, err := s.Since(ctx, 8, first.Epoch, 0)
	if err != nil || h.Complete {
		t.Errorf("Since on the old epoch after a restart: complete=%v err=%v, want incomplete", h.Complete, err)
	}
	if h, err := s.Since(ctx, 5, "", 0); err != nil || !h.Complete || len(h.Events) != 3 {
		t.Errorf("Since(5) without an epoch: %d events complete=%v err=%v; want 3, complete (5 is the base)", len(h.Events), h.Complete, err)
	}
	if h, err := s.Since(ctx, 6, "", 0); err != nil || h.Complete {
		t.Errorf("Since(6) without an epoch: complete=%v err=%v; want incomplete (above the base)", h.Complete, err)
	}
}

func waitCaughtUp(t *testing.T, master, replica *redis.Client) {
	t.Helper()
	waitfor.True(t, 20*time.Second, "the replica has the master's writes", func() bool {
		m, err1 := master.Info(context.Background(), "replication").Result()
		r, err2 := replica.Info(context.Background(), "replication").Result()
		if err1 != nil || err2 != nil {
			return false
		}
		mo, ro := infoField(m, "master_repl_offset"), infoField(r, "slave_repl_offset")
		return mo != "" && mo == ro && strings.Contains(r, "master_link_status:up")
	})
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}

var small = domain.Size{Width: 8, Height: 6}

func placeN(t *testing.T, s *redisstore.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if _, err := s.Place(context.Background(), []domain.Write{write(i%8, 0, domain.Color(i), "u", "")}); err != nil {
			t.Fatalf("Place: %v", err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSnapshotLoadsItsScriptAgain: Snapshot runs the epoch script inside a
// MULTI, where go-redis cannot fall back from EVALSHA to EVAL by itself; a
// Redis that forgot its scripts (a restart, a failover, SCRIPT FLUSH) must
// still answer.
func TestSnapshotLoadsItsScriptAgain(t *testing.T) {
	r := redistest.Start(t)
	ctx := context.Background()
	c := r.Client(t)
	s, err := redisstore.Open(ctx, c, redisstore.Options{Size: small, HistorySize: 100})
	if err != nil {
		t.Fatal(err)
	}
	placeN(t, s, 3)
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil || snap.Seq != 3 || snap.Epoch == "" {
		t.Fatalf("Snapshot after SCRIPT FLUSH = seq %d epoch %q, %v", snap.Seq, snap.Epoch, err)
	}
}
