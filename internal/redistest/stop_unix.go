//go:build unix

package redistest

import "syscall"

// Stop freezes the server (SIGSTOP), as a hung host would: connections
// stay open and new ones are accepted by the kernel, but nothing is
// answered until Continue.
func (s *Server) Stop() { s.signal(syscall.SIGSTOP) }

// Continue lets a stopped server run again (SIGCONT).
func (s *Server) Continue() { s.signal(syscall.SIGCONT) }
