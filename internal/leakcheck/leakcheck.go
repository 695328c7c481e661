// Package leakcheck fails a test binary whose goroutines outlive its tests.
package leakcheck

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"
)

// Run runs the tests and returns their exit code, turned into a failure
// when, after they passed, more goroutines are left than there were before
// them (waiting up to ten seconds for stragglers to finish). Fuzzing runs
// are not checked: the fuzz engine's goroutines live until the process
// ends.
func Run(m *testing.M) int {
	before := runtime.NumGoroutine()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code != 0 || (f != nil && f.Value.String() != "") {
		return code
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		fmt.Fprintf(os.Stderr, "goroutine leak: %d before the tests, %d after\n%s\n", before, n, buf[:runtime.Stack(buf, true)])
		return 1
	}
	return code
}
