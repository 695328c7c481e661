package hubtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

func lastID(h http.Header, id string) http.Header {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Last-Event-ID", id)
	return h
}

// TestReplayOnResume: a client that resumes with its Last-Event-ID gets what
// it missed, in order, before live events.
func TestReplayOnResume(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	c := ts.connect(t, url.Values{"channels": {"news"}})
	require.NoError(t, ts.hub.Send("news", 1))
	_, ev := c.message()
	seen := ev.ID
	c.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")

	// While the client is away.
	require.NoError(t, ts.hub.Send("news", 2))
	require.NoError(t, ts.hub.SendTo(c.id(), "private"))
	require.NoError(t, ts.hub.Send("other", "not for it"))
	require.NoError(t, ts.hub.Broadcast("all", "notice"))
	require.NoError(t, ts.hub.Send("news", 3))

	c2 := ts.connect(t, url.Values{"clientId": {c.id()}, "channels": {"news"}}, lastID(nil, seen))
	assert.True(t, c2.connected.Resumed)
	assert.Equal(t, c.id(), c2.id())
	assert.Equal(t, []string{"default", "news"}, c2.connected.Channels)

	// Live traffic right after reconnecting comes after the replay.
	require.NoError(t, ts.hub.Send("news", 4))

	var got []string
	prev := seen
	for range 5 {
		ev := c2.next()
		assert.Greater(t, mustID(t, ev.ID), mustID(t, prev), "ids in order")
		prev = ev.ID
		got = append(got, ev.Name+":"+string(ev.Data))
	}
	assert.Equal(t, []string{
		`message:{"channel":"news","payload":2}`,
		`message:{"channel":"","payload":"private"}`,
		`notice:"all"`,
		`message:{"channel":"news","payload":3}`,
		`message:{"channel":"news","payload":4}`,
	}, got)
	require.NoError(t, ts.hub.Send("news", 5))
	c2.expectNext("news", "5")
}

func mustID(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := seq(s)
	require.NoError(t, err, "id %q", s)
	return n
}

// TestReplayWithoutSession: without resumption, a Last-Event-ID still
// replays the channels asked for again.
func TestReplayWithoutSession(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{ResumeWindow: -1})
	c := ts.connect(t, url.Values{"channels": {"news"}})
	require.NoError(t, ts.hub.Send("news", 1))
	_, ev := c.message()
	c.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")
	require.NoError(t, ts.hub.Send("news", 2))

	// The session is gone (resumption off), but the channel events are
	// replayed for the channels asked for again.
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}, "channels": {"news"}, "lastEventId": {ev.ID}})
	assert.False(t, c2.connected.Resumed)
	assert.NotEqual(t, c.id(), c2.id())
	c2.expectNext("news", "2")
}

// TestReplayGapByCount: a client that missed more than HistorySize events is
// told of the gap, then gets what is held.
func TestReplayGapByCount(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{HistorySize: 3})
	c := ts.connect(t, url.Values{"channels": {"news"}})
	require.NoError(t, ts.hub.Send("news", 0))
	_, ev := c.message()
	c.close()
	for i := 1; i <= 10; i++ {
		require.NoError(t, ts.hub.Send("news", i))
	}
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}}, lastID(nil, ev.ID))
	gap := c2.next()
	require.Equal(t, shared.EventGap, gap.Name)
	var g shared.Gap
	require.NoError(t, json.Unmarshal(gap.Data, &g))
	assert.Equal(t, ev.ID, g.LastEventID)
	assert.Equal(t, []string{"default", "news"}, g.Channels)
	for i := 8; i <= 10; i++ {
		c2.expectNext("news", strconv.Itoa(i))
	}

	// A client that missed nothing evicted gets no gap.
	_, last := c2.message2(t, ts, "news")
	c2.close()
	require.NoError(t, ts.hub.Send("news", 11))
	c3 := ts.connect(t, url.Values{"clientId": {c.id()}}, lastID(nil, last.ID))
	c3.expectNext("news", "11")
}

// message2 sends a marker and returns it as received.
func (c *sseClient) message2(t testing.TB, ts *testServer, ch string) (shared.Envelope, shared.Event) {
	require.NoError(t, ts.hub.Send(ch, "marker"))
	return c.message()
}

// TestReplayForeignIDIsAGap: a Last-Event-ID of another sequence is a gap,
// and live events follow.
func TestReplayForeignIDIsAGap(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	require.NoError(t, ts.hub.Send("news", 1))
	// An id of another sequence (a restarted server, another hub, an id
	// without an epoch): the client is told, and gets every event from
	// now on.
	for _, id := range []string{"12", "zz99zz99-12", "zz99zz99-999999999999999999"} {
		c := ts.connect(t, url.Values{"channels": {"news"}}, lastID(nil, id))
		pos, err := seq(c.position)
		require.NoError(t, err, "connected carries the hub's own position, not %q", id)
		g := c.next()
		require.Equal(t, shared.EventGap, g.Name)
		var gap shared.Gap
		require.NoError(t, json.Unmarshal(g.Data, &gap))
		assert.Equal(t, id, gap.LastEventID)
		require.NoError(t, ts.hub.Send("news", id))
		env, ev := c.message()
		assert.JSONEq(t, strconv.Quote(id), string(env.Payload), "live events follow the gap")
		n, err := seq(ev.ID)
		require.NoError(t, err)
		assert.Greater(t, n, pos)
		c.close()
	}
}

// TestResumeWindowExpires: a session is forgotten ResumeWindow after its
// stream ended.
func TestResumeWindowExpires(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{ResumeWindow: 30 * time.Millisecond})
	c := ts.connect(t, url.Values{"channels": {"a"}})
	c.close()
	eventually(t, func() bool { return ts.hub.SendTo(c.id(), 1) != nil }, "the session to expire")
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}, "channels": {"b"}})
	assert.False(t, c2.connected.Resumed)
	assert.NotEqual(t, c.id(), c2.id())
	assert.Equal(t, []string{"b", "default"}, c2.connected.Channels)
}

// TestResumeRefusedByOnConnect: OnConnect refuses a resumption without
// changing the session, which resumes once allowed.
func TestResumeRefusedByOnConnect(t *testing.T, m Mount) {
	var revoked atomic.Bool
	ts := newTestServer(t, m, ssevent.Config{OnConnect: func(r *http.Request) error {
		if revoked.Load() {
			return &ssevent.HTTPError{Code: http.StatusUnauthorized}
		}
		return nil
	}})
	c := ts.connect(t, url.Values{"channels": {"a"}})
	c.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")
	require.NoError(t, ts.hub.SendTo(c.id(), "kept"))

	revoked.Store(true)
	resp, cancel := ts.dial(t, url.Values{"clientId": {c.id()}}, nil)
	defer cancel()
	body := readBody(t, resp)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, shared.CodeUnauthorized, errorBody(t, body).Error)
	assert.Equal(t, 0, ts.hub.ClientCount())

	// Refusal changed nothing: once access is back, the session resumes.
	revoked.Store(false)
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}})
	assert.True(t, c2.connected.Resumed)
	env, _ := c2.message()
	assert.JSONEq(t, `"kept"`, string(env.Payload))
}

// TestTakeoverEndsOldStream: a resumption while the old stream is open ends
// the old stream; the new one gets what follows.
func TestTakeoverEndsOldStream(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	c := ts.connect(t, nil)
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}})
	assert.True(t, c2.connected.Resumed)
	c.ended()
	require.NoError(t, ts.hub.SendTo(c.id(), "to the new stream"))
	env, _ := c2.message()
	assert.JSONEq(t, `"to the new stream"`, string(env.Payload))
	assert.Equal(t, 1, ts.hub.ClientCount())
}

// stuckClient opens a stream over a raw connection and never reads it.
func stuckClient(t testing.TB, ts *testServer, query string) net.Conn {
	t.Helper()
	u, err := url.Parse(ts.srv.URL)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "GET /events?%s HTTP/1.1\r\nHost: %s\r\n\r\n", query, u.Host)
	require.NoError(t, err)
	// Read the status line only, to know the stream is open.
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "HTTP/1.1 200"), line)
	return conn
}

// TestSlowConsumerIsCut: a client that stops reading is cut when its queue
// is full, while a healthy one keeps up and the heap stays bounded.
func TestSlowConsumerIsCut(t *testing.T, m Mount) {
	const queue = 256
	ts := newTestServer(t, m, ssevent.Config{QueueSize: queue, QueueMaxBytes: queue * 20 << 10, WriteTimeout: time.Minute, HistorySize: 100})
	healthy := ts.connect(t, url.Values{"channels": {"bulk"}})
	stuckClient(t, ts, "channels=bulk")
	eventually(t, func() bool { return len(ts.hub.ClientsByChannel("bulk")) == 2 }, "both subscribed")

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	// Rounds smaller than the queue: a client that reads keeps up, one
	// that does not fills its socket buffers, then its queue.
	payload := strings.Repeat("x", 16<<10)
	const rounds, perRound = 40, queue / 4
	var sendTime, roundTime time.Duration
	for r := range rounds {
		start := time.Now()
		for i := range perRound {
			require.NoError(t, ts.hub.Send("bulk", payload), "round %d message %d", r, i)
		}
		sendTime += time.Since(start)
		for range perRound {
			ev := healthy.next()
			require.Equal(t, shared.EventMessage, ev.Name)
		}
		roundTime += time.Since(start)
	}
	t.Logf("%d sends of 16 KiB with a stuck client present: %v per send, %v per round of %d delivered",
		rounds*perRound, sendTime/(rounds*perRound), roundTime/rounds, perRound)
	eventually(t, func() bool { return len(ts.hub.ClientsByChannel("bulk")) == 1 }, "the stuck client to be cut")
	assert.Equal(t, []string{healthy.id()}, ts.hub.ClientsByChannel("bulk"), "the healthy client stays")

	runtime.GC()
	runtime.ReadMemStats(&ms)
	growth := int64(ms.HeapAlloc) - int64(heapBefore)
	t.Logf("heap growth after %d MB published: %d KB", rounds*perRound*16/1024, growth>>10)
	// History holds at most 100 events of 16 KiB; the stuck queue is gone.
	assert.Less(t, growth, int64(8<<20), "the hub's memory stays bounded")
}

// TestCleanupSweepsStalledStream: the cleanup sweep ends a stream that made
// no write progress, when nothing else would.
func TestCleanupSweepsStalledStream(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{CleanupInterval: 50 * time.Millisecond, WriteTimeout: -1, QueueSize: 100000, QueueMaxBytes: 64 << 20, HistorySize: -1})
	stuckClient(t, ts, "channels=bulk")
	eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "the stream to open")
	payload := strings.Repeat("x", 64<<10-16)
	// Fill the socket buffers; the queue is too big to overflow, and writes
	// have no deadline, so only the sweep can end this stream.
	for range 400 {
		require.NoError(t, ts.hub.Send("bulk", payload))
	}
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the sweep to end the stalled stream")
}

// TestWriteTimeoutCutsStuckClient: WriteTimeout ends a stream whose client
// reads nothing.
func TestWriteTimeoutCutsStuckClient(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{WriteTimeout: 50 * time.Millisecond, QueueSize: 100000, QueueMaxBytes: 64 << 20, HistorySize: -1})
	stuckClient(t, ts, "channels=bulk")
	eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "the stream to open")
	payload := strings.Repeat("x", 64<<10-16)
	for range 400 {
		require.NoError(t, ts.hub.Send("bulk", payload))
	}
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the write deadline to end the stream")
}
