//go:build !unix

package hubtest

import (
	"testing"
	"time"
)

// cpuTime would return the CPU time the process has used, which is read
// with getrusage, a Unix call: the test is skipped.
func cpuTime(t testing.TB) time.Duration {
	t.Helper()
	t.Skip("hubtest: measuring CPU time needs getrusage (Unix)")
	return 0
}

// raiseFileLimit does nothing: only Unix limits a process's open files
// with RLIMIT_NOFILE.
func raiseFileLimit(*testing.T, uint64) {}
