package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pixelplayground/pixelplayground/adapters/redis/redisconn"
	"github.com/pixelplayground/pixelplayground/adapters/redis/redisstore"
	"github.com/pixelplayground/pixelplayground/domain"
	"github.com/pixelplayground/pixelplayground/internal/place"
	"github.com/pixelplayground/pixelplayground/internal/redistest"
	"github.com/pixelplayground/pixelplayground/internal/waitfor"
	"github.com/pixelplayground/pixelplayground/ports"
)

// The Redis high-availability tests: writers place pixels through the real
// store on a failover client (as the apps do with REDIS_SENTINELS) while
// the master is killed, frozen, crashed or cut off, and afterwards every
// acknowledged write must be in the store. Each logs how long writes were
// refused (docs/redis-ha.md has the figures).

// haSize has room for every write of a test (one pixel each).
var haSize = domain.Size{Width: 256, Height: 256}

// haWait is the production overlay's REDIS_WAIT_REPLICAS/_TIMEOUT.
var haWait = redisstore.WaitOptions{Replicas: 1, Timeout: 500 * time.Millisecond}

// Load of the writers: 4 × 100 writes/s, each call with the deadline the
// gateways and the REST API give a store call.
const (
	haWriters = 4
	haPeriod  = 10 * time.Millisecond
)

func openHA(t *testing.T, client redis.UniversalClient, wait redisstore.WaitOptions) *redisstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, client, redisstore.Options{Size: haSize, Wait: wait})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// finalSnapshot reads the canvas through a new failover client, once the
// Sentinels agree on a master.
func finalSnapshot(t *testing.T, set *redistest.Sentinels) domain.Snapshot {
	t.Helper()
	s := openHA(t, set.Client(t, nil), redisstore.WaitOptions{})
	var snap domain.Snapshot
	if err := waitfor.Poll(20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var err error
		snap, err = s.Snapshot(ctx)
		return err
	}); err != nil {
		t.Fatalf("final snapshot: %v", err)
	}
	return snap
}

func logRecovery(t *testing.T, what string, w *redistest.Writers, failure time.Time, rec []time.Duration) {
	t.Helper()
	refused, timedOut, longest := w.Refusals(failure)
	t.Logf("%s: writes accepted again after p50 %s, p99 %s (per writer: %v); %d writes refused, %d of them after a timeout, the longest refused call took %s; %d acknowledged in all",
		what, redistest.Percentile(rec, 50).Round(time.Millisecond), redistest.Percentile(rec, 99).Round(time.Millisecond), rec, refused, timedOut, longest.Round(time.Millisecond), w.AcknowledgedAfter(time.Time{}))
}

// killMasterWhileReplicaLags runs writers, makes both replicas lag (the
// proxies between them and the master hold what the master sends), kills
// the master with SIGKILL, drops what the replicas had not received, and
// returns the acknowledged writes missing from the promoted replica. Two
// replicas, as in production: with WAIT for one, the promoted one's
// remaining replica lets writes go on.
func killMasterWhileReplicaLags(t *testing.T, wait redisstore.WaitOptions) []domain.Write {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{Replicas: 2, LaggableReplicas: true})
	store := openHA(t, set.Client(t, nil), wait)
	w := redistest.StartWriters(t, store, haWriters, haPeriod, place.StoreTimeout)
	w.WaitAcknowledged(t, time.Time{}, 40, 20*time.Second)

	// Writes the replica will never get: a second of them.
	failure, _ := set.KillLaggingMaster(t, w, 40)
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	w.Stop()
	logRecovery(t, "master SIGKILLed while its replica lagged", w, failure, rec)
	return w.Lost(finalSnapshot(t, set))
}

// TestKillMasterWhileReplicaLags: with REDIS_WAIT_REPLICAS=1 no
// acknowledged write is lost when the master dies and a lagging replica
// takes over. The control run, without waiting, shows the lag was real:
// there the same failure loses acknowledged writes.
func TestKillMasterWhileReplicaLags(t *testing.T) {
	t.Run("waiting for the replica", func(t *testing.T) {
		if lost := killMasterWhileReplicaLags(t, haWait); len(lost) > 0 {
			t.Errorf("%d acknowledged writes lost, the first %v", len(lost), lost[0])
		}
	})
	t.Run("not waiting (control)", func(t *testing.T) {
		lost := killMasterWhileReplicaLags(t, redisstore.WaitOptions{})
		t.Logf("without waiting, %d acknowledged writes lost", len(lost))
		if len(lost) == 0 {
			t.Error("no acknowledged write lost without waiting: the replica did not lag, so the test above proves nothing")
		}
	})
}

// TestFrozenMaster: a master stopped with SIGSTOP costs each writer at
// most one call that waits for a timeout (the breaker refuses the rest at
// once) until Sentinel has promoted the replica; no acknowledged write is
// lost; and the old master, woken up, refuses the scripts that were queued
// in its sockets (they are past their deadline in Redis's clock) and
// becomes a replica of the new one, losing nothing acknowledged.
func TestFrozenMaster(t *testing.T) {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{Replicas: 2})
	store := openHA(t, set.Client(t, nil), haWait)
	w := redistest.StartWriters(t, store, haWriters, haPeriod, place.StoreTimeout)
	w.WaitAcknowledged(t, time.Time{}, 40, 20*time.Second)

	oldMaster := set.Master
	lateStore := openHAOn(t, oldMaster)
	old := oldMaster.Addr()
	failure := time.Now()
	thaw := oldMaster.FreezeUntilThawed(t)
	// A write sent to the frozen master after it froze, as a gateway whose
	// client has not noticed anything yet sends it: the kernel queues it,
	// the caller gives up and hears "unavailable". It paints the last
	// pixel, which no writer reaches.
	late := domain.Write{Pixel: domain.Pixel{X: haSize.Width - 1, Y: haSize.Height - 1, Color: 0x0000AA}, Username: "late"}
	lctx, lcancel := context.WithTimeout(context.Background(), time.Second)
	_, lateErr := lateStore.Place(lctx, []domain.Write{late})
	lcancel()
	if !errors.Is(lateErr, ports.ErrUnavailable) {
		t.Fatalf("a write to the frozen master: %v, want unavailable", lateErr)
	}

	newMaster := set.WaitFailover(t, old, 30*time.Second)
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	logRecovery(t, "master SIGSTOPped", w, failure, rec)
	if _, timedOut, _ := w.Refusals(failure); timedOut > haWriters {
		t.Errorf("%d writes waited for a timeout; at most one per writer (%d) may, the breaker refuses the rest at once", timedOut, haWriters)
	}

	thaw()
	set.WaitReplicaOf(t, oldMaster, newMaster, 30*time.Second)
	w.WaitAcknowledged(t, time.Now(), 20, 20*time.Second)
	w.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	oc := oldMaster.Client(t)
	stats, err := oc.Info(ctx, "errorstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("old master's error stats after it woke: %s", strings.ReplaceAll(strings.TrimSpace(stats), "\r\n", "; "))
	if !strings.Contains(stats, "errorstat_LATE:") {
		t.Errorf("the old master did not refuse the write queued while it was frozen (no LATE in its error stats):\n%s", stats)
	}
	snap := finalSnapshot(t, set)
	if lost := w.Lost(snap); len(lost) > 0 {
		t.Errorf("%d acknowledged writes lost, the first %v", len(lost), lost[0])
	}
	if redistest.Holds(snap, late) {
		t.Error("the write refused while the master was frozen is on the canvas")
	}
	// The old master, now a replica, holds the same canvas.
	nc := set.Node(newMaster).Client(t)
	if err := waitfor.Poll(10*time.Second, func() error {
		for _, key := range []string{redisstore.KeySeq, redisstore.KeyPixels} {
			want, err := nc.Get(ctx, key).Result()
			if err != nil {
				return err
			}
			got, err := oc.Get(ctx, key).Result()
			if err != nil {
				return err
			}
			if got != want {
				return errors.New("the old master's " + key + " differs from the new master's")
			}
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// openHAOn opens a store on r alone (a plain client).
func openHAOn(t *testing.T, r *redistest.Redis) *redisstore.Store {
	t.Helper()
	return openHA(t, r.Client(t), redisstore.WaitOptions{})
}

// TestAppendFsyncEverySecCrash: a single Redis with production's
// appendfsync everysec, killed with SIGKILL under load and started again,
// keeps every write it acknowledged (the kernel had them; only a crash of
// the machine loses the last second, which this cannot simulate).
func TestAppendFsyncEverySecCrash(t *testing.T) {
	r := redistest.StartWith(t, "--appendfsync", "everysec")
	store := openHA(t, r.Client(t), redisstore.WaitOptions{})
	w := redistest.StartWriters(t, store, haWriters, haPeriod, place.StoreTimeout)
	w.WaitAcknowledged(t, time.Time{}, 100, 20*time.Second)
	failure := time.Now()
	r.Kill(t)
	r.Start(t)
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	w.Stop()
	logRecovery(t, "single Redis (appendfsync everysec) SIGKILLed and restarted", w, failure, rec)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	snap, err := store.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lost := w.Lost(snap); len(lost) > 0 {
		t.Errorf("%d acknowledged writes lost, the first %v", len(lost), lost[0])
	}
}

// TestPartitionFromMaster: the path between the app and the master goes
// silent (a proxy holds both directions; neither end is told) while the
// Sentinels still see the master, so nobody fails over. Each writer waits
// out at most one timeout, the rest are refused at once, and once the
// path is back writes are accepted again with nothing acknowledged lost.
func TestPartitionFromMaster(t *testing.T) {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{})
	path := redistest.StartProxy(t, set.Master.Addr())
	store := openHA(t, set.Client(t, path.Dialer()), haWait)
	w := redistest.StartWriters(t, store, haWriters, haPeriod, place.StoreTimeout)
	w.WaitAcknowledged(t, time.Time{}, 40, 20*time.Second)

	failure := time.Now()
	path.Hold(redistest.ToTarget, redistest.ToClient)
	// The partition lasts until every writer has been refused at once at
	// least once after the breaker opened: then it has stopped waiting.
	if err := waitfor.Poll(20*time.Second, func() error {
		fast := map[string]bool{}
		for _, o := range w.Outcomes() {
			if o.Start.After(failure) && errors.Is(o.Err, redisconn.ErrBreakerOpen) {
				fast[o.Write.Username] = true
			}
		}
		if len(fast) < haWriters {
			return errors.New(itoa(len(fast)) + " writers refused at once")
		}
		return nil
	}); err != nil {
		t.Fatalf("writes not refused at once during the partition: %v (last: %s)", err, w.LastErrors())
	}
	healed := time.Now()
	path.Cut() // what was held is dropped, as a real partition drops it
	rec := w.WaitRecovered(t, failure, 30*time.Second)
	w.Stop()
	logRecovery(t, "partition between the app and the master", w, failure, rec)
	t.Logf("the partition lasted %s", healed.Sub(failure).Round(time.Millisecond))
	if _, timedOut, _ := w.Refusals(failure); timedOut > haWriters {
		t.Errorf("%d writes waited for a timeout; at most one per writer (%d) may", timedOut, haWriters)
	}
	if lost := w.Lost(finalSnapshot(t, set)); len(lost) > 0 {
		t.Errorf("%d acknowledged writes lost, the first %v", len(lost), lost[0])
	}
}

// TestIsolatedMasterRefusesWrites: with min-replicas-to-write (as the
// production overlay sets it), a master without a replica in reach refuses
// writes, and the store answers unavailable, not an internal error.
func TestIsolatedMasterRefusesWrites(t *testing.T) {
	set := redistest.StartSentinels(t, redistest.SentinelOptions{MinReplicasToWrite: 1, MinReplicasMaxLag: 1})
	master := set.Master.Client(t)
	store := openHA(t, master, redisstore.WaitOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := store.Place(ctx, []domain.Write{write(1, 1, 0x123456, "u", "")}); err != nil {
		t.Fatalf("with its replica: %v", err)
	}
	set.Replicas[0].Freeze(t)
	t.Cleanup(func() { set.Replicas[0].Thaw(t) })
	var err error
	if perr := waitfor.Poll(20*time.Second, func() error {
		_, err = store.Place(ctx, []domain.Write{write(2, 2, 0x123456, "u", "")})
		if err == nil {
			return errors.New("write accepted")
		}
		return nil
	}); perr != nil {
		t.Fatalf("the master without its replica kept accepting writes: %v", perr)
	}
	if !errors.Is(err, ports.ErrUnavailable) || !strings.Contains(err.Error(), "NOREPLICAS") {
		t.Errorf("refused write: %v; want ports.ErrUnavailable from NOREPLICAS", err)
	}
}

// TestWaitWithoutEnoughReplicas: a store that waits for a replica, on a
// Redis that has none, answers every write unavailable after the wait
// (the master applied it: its outcome is unknown, and here it stays);
// and a cluster client, which cannot run WAIT on the writing connection,
// is refused at Open.
func TestWaitWithoutEnoughReplicas(t *testing.T) {
	r := redistest.Shared(t)
	r.Flush(t)
	s := openHA(t, r.Client(t), redisstore.WaitOptions{Replicas: 1, Timeout: 50 * time.Millisecond})
	ctx := context.Background()
	w := write(3, 4, 0x00FF00, "u", "")
	_, err := s.Place(ctx, []domain.Write{w})
	if !errors.Is(err, ports.ErrUnavailable) || !strings.Contains(err.Error(), "0 of the 1 replicas") {
		t.Fatalf("write without a replica: %v, want unavailable naming the replicas", err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !redistest.Holds(snap, w) {
		t.Error("the unconfirmed write is not on the master; its outcome should be unknown, not undone")
	}
	if _, err := s.Reset(ctx, domain.Origin{}); !errors.Is(err, ports.ErrUnavailable) {
		t.Errorf("reset without a replica: %v, want unavailable", err)
	}

	cluster := redistest.StartClusterNode(t)
	if _, err := redisstore.Open(ctx, cluster.ClusterClient(t), redisstore.Options{Size: haSize, Wait: haWait}); err == nil || !strings.Contains(err.Error(), "Redis Cluster") {
		t.Errorf("Open with a wait on a cluster client: %v, want a refusal", err)
	}
}
