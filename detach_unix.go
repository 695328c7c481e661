//go:build unix

package ssevent

import "syscall"

// writeNow writes what the socket takes of b without blocking: errWouldBlock
// with the count written when it cannot take all of it.
func writeNow(raw syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				werr = errWouldBlock
				return true
			case err != nil:
				werr = err
				return true
			}
			n += m
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}
