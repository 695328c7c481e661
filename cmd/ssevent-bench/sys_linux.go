//go:build linux

package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the system kill cmd's process when the process that
// started it dies, however it dies: the redis-server of a run has no other
// way to learn that its run is over.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
