package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"testing"
	"time"
)

// asMainEnv makes the test binary run as the command: run starts its
// servers and client processes from its own executable.
const asMainEnv = "SSEVENT_BENCH_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testClient is a client that saw the events seqs, each sent at 1000 ns
// and received at recv, and whose stream ended with err (nil: still open).
func testClient(m int, seqs []int, recv int64, connectedAt int64, err error) *client {
	c := newClient(m)
	for _, s := range seqs {
		c.record(uint64(s+1), s, 1000, recv+int64(s)*1000)
	}
	c.connectedAt = connectedAt
	if err != nil {
		c.err, c.endedAt = err, recv+50_000
	}
	return c
}

func TestSummaryMerge(t *testing.T) {
	const pubStart = 10_000
	clients := []*client{
		testClient(4, []int{0, 1, 2, 3}, 20_000, 5_000, nil),
		testClient(4, []int{0, 2, 2, 1}, 30_000, 6_000, nil),               // a duplicate, one out of order, one missing
		testClient(4, []int{0}, 40_000, 2_000, io.ErrUnexpectedEOF),        // cut by the server
		testClient(4, []int{0, 1, 2}, 25_000, 7_000, io.EOF),               // ended cleanly, early
		testClient(4, []int{0, 1, 2, 3}, 90_000, 1_000, nil),               // the slowest
		testClient(4, nil, 0, 0, errors.New("malformed chunked encoding")), // never connected
		nil, // failed to connect
	}
	want := summarize(clients, pubStart)
	if want.Clients != 6 || want.Delivered != 15 || want.Duplicated != 1 || want.OutOfOrder != 1 || want.StreamsEnded != 3 ||
		want.LostOnEnded != 3+1+4 || want.LostOnOpen != 1 || len(want.Lats) != 15 {
		t.Fatalf("summary of all: %+v", want)
	}
	for _, split := range [][]int{{0, 7}, {0, 3, 7}, {0, 1, 2, 3, 4, 5, 6, 7}, {0, 5, 5, 7}} {
		got := newSummary()
		for i := range split[:len(split)-1] {
			part := summarize(clients[split[i]:split[i+1]], pubStart)
			// As a client process sends it to the driver.
			b, err := json.Marshal(part)
			if err != nil {
				t.Fatal(err)
			}
			var back summary
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			got.merge(back)
		}
		w := want
		w.Lats = slices.Clone(want.Lats)
		slices.Sort(w.Lats)
		slices.Sort(got.Lats)
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("split %v: merged\n%+v\nwant\n%+v", split, got, w)
		}
		gp50, gp99, gmax := got.percentiles()
		wp50, wp99, wmax := w.percentiles()
		if gp50 != wp50 || gp99 != wp99 || gmax != wmax {
			t.Fatalf("split %v: percentiles %d %d %d, want %d %d %d", split, gp50, gp99, gmax, wp50, wp99, wmax)
		}
	}
}

func TestShares(t *testing.T) {
	if got := shares(10, 3); !slices.Equal(got, []int{4, 3, 3}) {
		t.Fatalf("shares(10, 3) = %v", got)
	}
	if got := shares(2, 2); !slices.Equal(got, []int{1, 1}) {
		t.Fatalf("shares(2, 2) = %v", got)
	}
}

func TestProcCPUMicros(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	if got := procCPUMicros(os.Getpid()); got < 0 {
		t.Fatalf("procCPUMicros of this process = %d", got)
	}
}

// Two hub instances on one redis-server, and two client processes: every
// stream gets every event once, in order, whichever instance it is on,
// and the driver sums what each process saw.
func TestInstancesAndProcs(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found; install it: apt-get install redis-server")
	}
	t.Setenv(asMainEnv, "1") // the servers and the client processes are this binary
	o := options{n: 40, m: 5, size: 256, queue: 1024, conc: 16, impl: "hub-release", proto: "http1", channel: "bench",
		timeout: time.Minute, settle: 100 * time.Millisecond, idle: 10 * time.Second, instances: 2, procs: 2}
	res, err := run(o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 200 || res.Expected != 200 || res.Lost != 0 || res.Duplicated != 0 || res.OutOfOrder != 0 || res.StreamsEnded != 0 {
		t.Fatalf("delivered %d of %d, lost %d, dup %d, out of order %d, %d streams ended",
			res.Delivered, res.Expected, res.Lost, res.Duplicated, res.OutOfOrder, res.StreamsEnded)
	}
	if !res.Redis || res.InstanceCount != 2 || res.Procs != 2 || len(res.Instances) != 2 ||
		res.Instances[0].Streams != 20 || res.Instances[1].Streams != 20 {
		t.Fatalf("instances: %+v", res)
	}
	if res.LatencyP50Us == 0 || res.LatencyMaxUs < res.LatencyP99Us || res.LatencyP99Us < res.LatencyP50Us {
		t.Fatalf("latencies p50 %d, p99 %d, max %d", res.LatencyP50Us, res.LatencyP99Us, res.LatencyMaxUs)
	}
}
