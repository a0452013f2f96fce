//go:build !unix

package dirlock

import (
	"os"
	"path/filepath"
)

// Lock only creates the lock file where flock is not available; running two
// processes on one directory is then the operator's mistake to avoid.
func Lock(dir string, _ error) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600) //nolint:gosec // G304: the lock file of a directory the caller owns
}
