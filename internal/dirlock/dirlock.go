// Package dirlock is what the embedded backends need of their data
// directories: a lock, and making entries durable (Sync). The lock keeps
// two processes off one data directory: the embedded
// canvas store and the embedded directory of canvases each take its lock
// when they open, so that a second process started on the same directory
// fails at once instead of interleaving its writes (or handing out the same
// slugs). The lock is an advisory flock on the file LOCK in the directory,
// which the operating system drops when the process dies, so a kill -9
// never leaves it behind.
package dirlock

import (
	"fmt"
	"os"
)

// name is the lock file in the directory.
const name = "LOCK"

// Sync makes a rename, a removal or a new entry in dir durable: a file's
// own fsync does not cover the directory entry that names it.
func Sync(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // G304: a data directory the caller owns, opened only to fsync it
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
