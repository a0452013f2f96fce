//go:build !unix

package canvasdir

import (
	"os"
	"path/filepath"
)

// lockDir only creates the lock file where flock is not available; running
// two processes on one directory is then the operator's mistake to avoid.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
}
