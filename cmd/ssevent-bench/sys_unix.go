//go:build unix

package main

import (
	"errors"
	"syscall"
)

// raiseFileLimit lifts the soft limit on open files to the hard limit, and
// the hard limit too when the process may. The fields of syscall.Rlimit
// are uint64 on most systems and int64 on FreeBSD and DragonFly, hence the
// conversions.
func raiseFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	want := syscall.Rlimit{Cur: max(rl.Max, 1<<20), Max: max(rl.Max, 1<<20)}
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return uint64(want.Cur)
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
	return uint64(rl.Cur)
}

// cpuMicros is the CPU time the process has used, user and system, in
// microseconds, or 0 if it cannot be read.
func cpuMicros() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Utime.Sec)*1e6 + int64(ru.Utime.Usec) + int64(ru.Stime.Sec)*1e6 + int64(ru.Stime.Usec)
}
