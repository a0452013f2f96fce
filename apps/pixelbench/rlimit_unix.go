//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// raiseFileLimit lifts the soft RLIMIT_NOFILE towards need (never beyond
// the hard limit) and says what is wrong if it cannot reach it.
func raiseFileLimit(need uint64) string {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Sprintf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur >= need {
		return ""
	}
	want := min(need, lim.Max)
	raised := lim
	raised.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		return fmt.Sprintf("open-file limit %d is below the %d needed and could not be raised: %v", lim.Cur, need, err)
	}
	if want < need {
		return fmt.Sprintf("open-file limit raised to its hard maximum %d, below the %d needed", want, need)
	}
	return ""
}
