package hubtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// bothPaths runs fn with HTTP/1.1 streams taken over from their request
// goroutine (the default) and on the standard path; fn puts its hubs on
// the path with Config.DisableTakeover = !detached. With
// SSEVENT_STANDARD_PATH=1, only on the standard path.
func bothPaths(t *testing.T, fn func(t *testing.T, detached bool)) {
	for _, detached := range []bool{true, false} {
		t.Run(fmt.Sprintf("detached=%v", detached), func(t *testing.T) {
			if detached && standardPath() {
				t.Skip("SSEVENT_STANDARD_PATH=1: the standard path only")
			}
			fn(t, detached)
		})
	}
}

// TestStreamPathsOrderAndClose: on both paths events arrive in order, and
// Close writes what is queued before the stream ends.
func TestStreamPathsOrderAndClose(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, DisableTakeover: !detached})
		c := ts.connect(t, url.Values{"channels": {"a"}})
		eventually(t, func() bool { return takenOver(c.resp) == detached }, "the stream's path")
		for i := range 200 {
			require.NoError(t, ts.hub.Send("a", i))
		}
		for i := range 200 {
			c.expectNext("a", fmt.Sprint(i))
		}
		// Close writes what is queued, then ends the stream.
		for i := range 50 {
			require.NoError(t, ts.hub.Send("a", i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		require.NoError(t, ts.hub.Close(ctx))
		for i := range 50 {
			c.expectNext("a", fmt.Sprint(i))
		}
		c.ended()
	})
}

// TestStreamPathsHeartbeatAndTimeout: on both paths heartbeats are written
// and Timeout ends the stream.
func TestStreamPathsHeartbeatAndTimeout(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: 20 * time.Millisecond, Timeout: time.Second, DisableTakeover: !detached})
		c := ts.connect(t, nil)
		eventually(t, func() bool { return takenOver(c.resp) == detached }, "the stream's path")
		require.Equal(t, shared.EventHeartbeat, c.nextAny().Name)
		c.ended()
		eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to be detached")
	})
}

// TestStreamPathsClientGone: on both paths the hub notices a client that
// closed its connection.
func TestStreamPathsClientGone(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, DisableTakeover: !detached})
		c := ts.connect(t, nil)
		require.Equal(t, 1, ts.hub.ClientCount())
		c.close()
		eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the hub to notice the client left")
	})
}

// stalledReader opens a stream and reads only the response head and the
// connected event, then nothing: its socket buffers fill up.
func stalledReader(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	u, err := url.Parse(ts.url)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.Path, u.Host)
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitTimeout)))
	br := bufio.NewReaderSize(conn, 512)
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "data: ") {
			return conn
		}
	}
}

// TestStreamPathsSlowConsumer: on both paths a client that stops reading is
// cut when its queue overflows.
func TestStreamPathsSlowConsumer(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, QueueSize: 8, WriteTimeout: time.Minute, DisableTakeover: !detached})
		stalledReader(t, ts)
		eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "the stream")
		big := strings.Repeat("x", 32<<10)
		deadline := time.Now().Add(waitTimeout)
		for ts.hub.ClientCount() == 1 && time.Now().Before(deadline) {
			require.NoError(t, ts.hub.Broadcast(big))
			time.Sleep(time.Millisecond)
		}
		// Cut as a slow consumer long before the write deadline.
		eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the slow client to be cut")
	})
}

// TestStreamPathsWriteDeadline: on both paths a client that stops reading is
// cut by the write deadline when its queue is too big to overflow.
func TestStreamPathsWriteDeadline(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, QueueSize: 1 << 16, QueueMaxBytes: 64 << 20, WriteTimeout: 200 * time.Millisecond, DisableTakeover: !detached})
		stalledReader(t, ts)
		eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "the stream")
		big := strings.Repeat("x", 32<<10)
		// Enough to fill the socket buffers on both sides, far from
		// filling the queue: only the write deadline can end this.
		for range 400 {
			require.NoError(t, ts.hub.Broadcast(big))
		}
		eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the write deadline to cut the client")
	})
}

// TestStreamPathsServerReadTimeout: a server ReadTimeout must not end
// detached streams.
func TestStreamPathsServerReadTimeout(t *testing.T, m Mount) {
	ts := newTestServerWith(t, m, ssevent.Config{HeartbeatInterval: -1}, func(srv *httptest.Server) { srv.Config.ReadTimeout = 100 * time.Millisecond })
	hub := ts.hub
	c := ts.connect(t, nil)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, hub.Send(shared.DefaultChannel, "late"))
	c.expectNext(shared.DefaultChannel, `"late"`)
}

// flushWriter stands for middleware that wraps the response writer.
type flushWriter struct{ http.ResponseWriter }

func (w flushWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// TestStreamPathsHeadersAndWrappedWriter: headers set by middleware reach
// the client on both paths; a writer wrapped by middleware keeps the
// standard path.
func TestStreamPathsHeadersAndWrappedWriter(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		for _, wrap := range []bool{false, true} {
			ts := newTestServerWith(t, m, ssevent.Config{HeartbeatInterval: -1, DisableTakeover: !detached}, func(srv *httptest.Server) {
				next := srv.Config.Handler
				srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Middleware", "yes")
					if wrap {
						w = flushWriter{w}
					}
					next.ServeHTTP(w, r)
				})
			})
			hub := ts.hub
			c := ts.connect(t, nil)
			require.Equal(t, "yes", c.resp.Header.Get("X-Middleware"))
			require.Equal(t, "text/event-stream", c.resp.Header.Get("Content-Type"))
			require.Equal(t, []string{"chunked"}, c.resp.TransferEncoding)
			want := detached && !wrap
			eventually(t, func() bool { return takenOver(c.resp) == want }, "the stream's path")
			require.NoError(t, hub.Send(shared.DefaultChannel, 1))
			c.expectNext(shared.DefaultChannel, "1")
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			require.NoError(t, hub.Close(ctx))
			cancel()
			c.ended()
			c.close()
		}
	})
}

// TestStreamPathsStalledReaderCatchesUp: a client that stops reading until
// the socket buffers are full, then reads again, gets every event once and
// in order: the writes that would have blocked are finished by the stream's
// own writer, chunk framing intact.
func TestStreamPathsStalledReaderCatchesUp(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, QueueSize: 1 << 16, QueueMaxBytes: 64 << 20, WriteTimeout: time.Minute, DisableTakeover: !detached})
		resp, cancel := ts.dial(t, nil, nil)
		defer cancel()
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "the stream")
		big := strings.Repeat("x", 30<<10)
		const n = 300 // about 9 MB: far more than loopback buffers hold
		for i := range n {
			require.NoError(t, ts.hub.Broadcast(fmt.Sprintf("%d %s", i, big)))
		}
		d := shared.NewDecoder(resp.Body, 1<<20)
		ev, err := d.Next()
		require.NoError(t, err)
		require.Equal(t, shared.EventConnected, ev.Name)
		for i := range n {
			ev, err := d.Next()
			require.NoError(t, err)
			var env shared.Envelope
			require.NoError(t, json.Unmarshal(ev.Data, &env))
			var s string
			require.NoError(t, json.Unmarshal(env.Payload, &s))
			require.True(t, strings.HasPrefix(s, fmt.Sprintf("%d ", i)), "event %d out of order", i)
		}
		require.Equal(t, 1, ts.hub.ClientCount())
	})
}

// TestStreamPathsOutliveWriteTimeout: WriteTimeout bounds a write that
// makes no progress, not the stream's life. A stream that gets an event
// every so often for several times WriteTimeout, then stays idle for
// longer than it, still takes every event, on both paths (a taken-over
// stream used to keep the deadline of its first blocking write, and its
// first write past it failed at once).
func TestStreamPathsOutliveWriteTimeout(t *testing.T, m Mount) {
	bothPaths(t, func(t *testing.T, detached bool) {
		const wt = 300 * time.Millisecond
		ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, WriteTimeout: wt, DisableTakeover: !detached})
		c := ts.connect(t, url.Values{"channels": {"a"}})
		eventually(t, func() bool { return takenOver(c.resp) == detached }, "the stream's path")
		// Busy: an event every 50 ms for three times WriteTimeout.
		start := time.Now()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		i := 0
		for time.Since(start) < 3*wt {
			<-tick.C
			require.NoError(t, ts.hub.Send("a", i))
			c.expectNext("a", fmt.Sprint(i))
			i++
		}
		// Idle for twice WriteTimeout: nothing to await but the time.
		time.Sleep(2 * wt)
		require.NoError(t, ts.hub.Send("a", "after"))
		c.expectNext("a", `"after"`)
		require.Zero(t, ts.hub.core.Stats().Disconnects[ssevent.DisconnectWriteFailed], "no stream ended for a write")
	})
}
