//go:build !linux

package main

import "os/exec"

// dieWithParent does nothing outside Linux: a redis-server the run started
// outlives a driver that is killed (one that ends normally stops it).
func dieWithParent(*exec.Cmd) {}
