//go:build unix

package netguard

import "syscall"

// FileLimit is the process's soft limit on open files; 0 if unknown.
func FileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Cur
}
