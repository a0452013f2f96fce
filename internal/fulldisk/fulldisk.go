// Package fulldisk is a test kit for running out of disk for real: a small
// tmpfs the test mounts, and a file that fills it. The kernel, not a mock,
// then decides which write fails, as it would on a full volume.
package fulldisk

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new directory, unmounted when the
// test ends (cleanups run last-registered first, so a process the test
// starts afterwards is stopped before). Where that is not allowed (not
// root, no mount(8), a sandbox) the test is skipped, or fails under
// CI=true, where a skip would hide that nothing was checked.
func Mount(t testing.TB, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput(); err != nil {
		skip(t, "cannot mount a tmpfs: "+err.Error()+" "+string(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

func skip(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// Fill writes a file into dir until its file system is full and returns a
// function that removes it, giving the space back.
func Fill(t testing.TB, dir string) (remove func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path) //nolint:gosec // G304: the test's own file
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xA5}, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}
