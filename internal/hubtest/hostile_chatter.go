package hubtest

import (
	"bytes"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
)

// TestHostileChatterAfterGet: clients keep sending bytes after their GET.
// An event-stream client sends nothing once its request is out, so on the
// detached path the hub closes such a connection at once; on both paths
// the bytes cost next to no CPU, and healthy clients keep receiving.
func TestHostileChatterAfterGet(t *testing.T, m Mount) {
	const (
		attackers = 4
		window    = 1500 * time.Millisecond // the attack, and the CPU measure
		perWrite  = 64 << 10
		maxBytes  = 256 << 20 // each attacker sends at most this
		every     = 20 * time.Millisecond
		// The bound on the process's CPU (the hub, and the test's own
		// clients) over the attack, in CPU-seconds a second. A hub
		// reading what attackers send, 16 bytes a read, uses about 2.
		maxLoad = 0.5
	)
	ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, Logger: discardLogger()})
	healthy := ts.connect(t, url.Values{"channels": {"c"}})
	conns := make([]*rawStream, attackers)
	for i := range conns {
		conns[i] = openRaw(t, ts.addr(), "/events", nil, 0)
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		sent     = make([]int, attackers)
		closedIn = make([]time.Duration, attackers) // 0: still open at the end
	)
	junk := bytes.Repeat([]byte("GET / HTTP/1.1\r\nX: y\r\n\r\n"), perWrite/24)
	cpu0, start := cpuTime(t), time.Now()
	stop := start.Add(window)
	for i, c := range conns {
		wg.Add(2)
		go func() { // the attacker
			defer wg.Done()
			_ = c.SetWriteDeadline(stop)
			n := 0
			for n < maxBytes && time.Now().Before(stop) {
				k, err := c.Write(junk)
				n += k
				if err != nil {
					break
				}
			}
			mu.Lock()
			sent[i] = n
			mu.Unlock()
		}()
		go func() { // its reader: when does the server close?
			defer wg.Done()
			_ = c.SetReadDeadline(stop)
			buf := make([]byte, 4096)
			for {
				if _, err := c.R.Read(buf); err != nil {
					if time.Now().Before(stop) {
						mu.Lock()
						closedIn[i] = time.Since(start)
						mu.Unlock()
					}
					return
				}
			}
		}()
	}
	// Healthy traffic meanwhile.
	published := 0
	tick := time.NewTicker(every)
	for time.Now().Before(stop) {
		require.NoError(t, ts.hub.Send("c", numbered(published, 100)))
		published++
		<-tick.C
	}
	tick.Stop()
	wg.Wait()
	cpu, elapsed := cpuTime(t)-cpu0, time.Since(start)
	load := cpu.Seconds() / elapsed.Seconds()
	t.Logf("%d clients sending after their GET for %v: sent %v bytes, server closed them after %v; process CPU %v (%.2f CPU-s/s)",
		attackers, elapsed.Round(time.Millisecond), sent, closedIn, cpu.Round(time.Millisecond), load)

	require.NoError(t, readPlaces(healthy, "c", published), "the healthy client")
	assert.Less(t, load, maxLoad, "CPU spent on clients sending after their GET")
	if standardPath() {
		// net/http stops reading after one byte of a would-be
		// pipelined request: the bytes cost nothing, the stream lives
		// on (TestHostileChatterThenClose checks it ends when the
		// client goes).
		return
	}
	for i, d := range closedIn {
		assert.NotZero(t, d, "attacker %d: the detached stream was still open after %v", i, window)
		assert.Less(t, d, time.Second, "attacker %d: closed after %v", i, d)
	}
}

// TestHostileChatterThenClose: a client that sends bytes after its request
// and then closes its connection is noticed, without a heartbeat to fail:
// at once on the detached path, which watches the connection; within
// about 10s on the standard path, where net/http stops reading after such
// bytes and the hub must probe the stream.
func TestHostileChatterThenClose(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: time.Hour, Logger: discardLogger()})
	c := openRaw(t, ts.addr(), "/events", nil, 0)
	require.Equal(t, 1, ts.hub.ClientCount())
	_, err := c.Write([]byte("GET /next HTTP/1.1\r\nHost: x\r\n\r\nand more"))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	bound := 3 * time.Second
	if standardPath() {
		bound = 30 * time.Second
	}
	start := time.Now()
	for ts.hub.ClientCount() != 0 {
		if time.Since(start) > bound {
			t.Fatalf("the hub still counts the stream %v after its client sent bytes and left", bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the hub noticed the client left after %v", time.Since(start).Round(time.Millisecond))
}
