//go:build !unix

package main

import "math"

// raiseFileLimit reports no limit: outside Unix there is no per-process
// limit on open files to raise.
func raiseFileLimit() uint64 { return math.MaxUint64 }

// cpuMicros is not measured outside Unix: the CPU figures read 0.
func cpuMicros() int64 { return 0 }
