//go:build !unix

package ssevent

import "syscall"

// writeNow has no non-blocking write on this system: every write of a
// detached stream goes to a goroutine of the stream's own, under the write
// deadline.
func writeNow(syscall.RawConn, []byte) (int, error) { return 0, errWouldBlock }
