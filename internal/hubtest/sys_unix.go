//go:build unix

package hubtest

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cpuTime returns the CPU time, user and system, the process has used.
func cpuTime(t testing.TB) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseFileLimit lifts the soft limit on open files to want, or to the
// hard limit if that is lower, and fails the test if it stays below want.
func raiseFileLimit(t *testing.T, want uint64) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if uint64(lim.Cur) >= want {
		return
	}
	lim.Cur = atMost(want, lim.Max)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
	require.GreaterOrEqual(t, uint64(lim.Cur), want, "RLIMIT_NOFILE too low for the soak test")
}

// atMost is min(want, limit) in the type of syscall.Rlimit's fields:
// uint64 on most systems, int64 on FreeBSD and DragonFly.
func atMost[T int64 | uint64](want uint64, limit T) T {
	if want >= uint64(limit) {
		return limit
	}
	return T(want)
}
