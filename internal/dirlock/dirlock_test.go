//go:build unix

package dirlock

import (
	"errors"
	"testing"
)

var errBusy = errors.New("busy")

func TestLock(t *testing.T) {
	dir := t.TempDir()
	f, err := Lock(dir, errBusy)
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file: a second open of the same file, as a second
	// process would make, is refused while the first holds it.
	if _, err := Lock(dir, errBusy); !errors.Is(err, errBusy) {
		t.Fatalf("a second lock while held: %v, want busy", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := Lock(dir, errBusy)
	if err != nil {
		t.Fatalf("after the first let go: %v", err)
	}
	_ = g.Close()
	if _, err := Lock(dir+"/missing/dir", errBusy); err == nil || errors.Is(err, errBusy) {
		t.Fatalf("a directory that does not exist: %v", err)
	}
}
