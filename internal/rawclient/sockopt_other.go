//go:build !windows

package rawclient

import "syscall"

// setRecvBuffer sets SO_RCVBUF on the socket fd.
func setRecvBuffer(fd uintptr, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
