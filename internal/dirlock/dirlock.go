// Package dirlock keeps two processes off one data directory: the embedded
// canvas store and the embedded directory of canvases each take its lock
// when they open, so that a second process started on the same directory
// fails at once instead of interleaving its writes (or handing out the same
// slugs). The lock is an advisory flock on the file LOCK in the directory,
// which the operating system drops when the process dies, so a kill -9
// never leaves it behind.
package dirlock

// name is the lock file in the directory.
const name = "LOCK"
