//go:build unix

package main

import (
	"testing"
	"time"
)

// The ceiling serves the bench's protocol: every client gets every event
// of a burst (750 KiB each, more than the socket buffers hold), in order,
// once, also when the clients pause between reads.
func TestCeilingDeliversEverything(t *testing.T) {
	t.Setenv(asMainEnv, "1") // the server is this binary
	for _, pause := range []time.Duration{0, 5 * time.Millisecond} {
		o := options{n: 20, m: 3000, size: 256, queue: 1024, conc: 16, impl: "ceiling", proto: "http1", channel: "bench",
			timeout: time.Minute, settle: 100 * time.Millisecond, idle: 10 * time.Second, instances: 1, procs: 1, pause: pause}
		res, err := run(o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Delivered != 60000 || res.Expected != 60000 || res.Lost != 0 || res.Duplicated != 0 || res.OutOfOrder != 0 || res.StreamsEnded != 0 {
			t.Fatalf("pause %v: delivered %d of %d, lost %d, dup %d, out of order %d, %d streams ended",
				pause, res.Delivered, res.Expected, res.Lost, res.Duplicated, res.OutOfOrder, res.StreamsEnded)
		}
	}
}
