//go:build !race

package hubtest

// raceEnabled tells tests that measure memory or time that the race
// detector slows everything down: they scale down under it.
const raceEnabled = false
