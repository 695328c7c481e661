//go:build !unix

package redistest

// Stop would freeze the server with SIGSTOP, which this system lacks: it
// skips the test.
func (s *Server) Stop() {
	s.t.Helper()
	s.t.Skip("redistest: Stop needs SIGSTOP")
}

// Continue would let a stopped server run again with SIGCONT, which this
// system lacks: it skips the test.
func (s *Server) Continue() {
	s.t.Helper()
	s.t.Skip("redistest: Continue needs SIGCONT")
}
