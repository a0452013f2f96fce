package redisstore

// This file is the canvas's epoch in Redis (domain.Epoch): what tells a
// gateway or a resuming client that the history behind the seqs is not
// the one it saw any more.
//
// Redis acknowledges and publishes a write before any replica or disk has
// it. The write is lost, and its seq handed out again, when the data
// Redis serves next is older than what it served: it restarted from an
// AOF or RDB that missed the last writes (appendfsync everysec, a crash),
// or a replica that lagged was promoted, or the keys vanished (FLUSHALL, a
// Redis without persistence restarting). Each of these changes the
// serving Redis's replication id (master_replid in INFO replication): a
// master makes a new one at every start (the one in its files becomes its
// secondary id) and a replica makes one when it is promoted. So the
// canvas's {canvas}:epoch hash records the epoch, the replication id it was
// made under ("who") and its base (domain.Head.Base), and every script
// compares "who" with the id of the Redis running it before it does
// anything else. When they differ, or the hash is missing, the script
// starts a new epoch atomically with its own work: the random name the
// adapter sent along (never derived from the id, so a FLUSHALL on the same
// server still gives a new one), the id, and as base the lower of the old
// base and the head that survived (domain.NextBase). Reads run the same
// check, so the first read after a loss sees the new epoch too.
//
// The id also changes without any loss: a clean restart, a replica
// attaching to a master that had none (Redis starts a new id with its
// backlog) or a master's backlog freed after repl-backlog-ttl without
// replicas. Clients then reload the snapshot once; that is the price of a
// check that cannot tell those from a loss. INFO replication costs Redis
// about 2 µs per script (INFO server, for run_id, about 4 µs more, and adds
// nothing the replication id misses).

import (
	"fmt"
	"strconv"

	"github.com/pixelplayground/pixelplayground/adapters/system"
	"github.com/pixelplayground/pixelplayground/domain"
)

// ids names new epochs: 12 random hex digits, made for every script call
// and used only when the script must start an epoch.
var ids = system.NewIDs()

func newEpoch() string { return ids.NewID("") }

// parseHead reads a script's seq, epoch, base.
func parseHead(reply []string) (domain.Head, error) {
	if len(reply) != 3 {
		return domain.Head{}, fmt.Errorf("head of %d values", len(reply))
	}
	seq, err := strconv.ParseUint(reply[0], 10, 64)
	if err != nil {
		return domain.Head{}, fmt.Errorf("seq %q is not a number", reply[0])
	}
	base, err := strconv.ParseUint(reply[2], 10, 64)
	if err != nil {
		return domain.Head{}, fmt.Errorf("epoch base %q is not a number", reply[2])
	}
	if reply[1] == "" || len(reply[1]) > domain.MaxEpochLen {
		return domain.Head{}, fmt.Errorf("epoch %q", reply[1])
	}
	return domain.Head{Seq: seq, Epoch: domain.Epoch(reply[1]), Base: base}, nil
}
