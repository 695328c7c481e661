package hubtest

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestRetryIsSent: the stream starts with the configured Retry as its retry
// field.
func TestRetryIsSent(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{Retry: 1500 * time.Millisecond})
	resp, cancel := ts.dial(t, nil, nil)
	defer cancel()
	defer resp.Body.Close()
	d := shared.NewDecoder(resp.Body, 0)
	_, err := d.Next()
	require.NoError(t, err)
	assert.Equal(t, 1500*time.Millisecond, d.Retry())
}

// TestHistoryMaxBytes: the history keeps at most HistoryMaxBytes of
// payloads, dropping the oldest first, and a resumption past them starts
// with a gap.
func TestHistoryMaxBytes(t *testing.T, m Mount) {
	// Room for about three 1 KiB payloads across all channels.
	ts := newTestServer(t, m, ssevent.Config{HistoryMaxBytes: 3*1024 + 100})
	c := ts.connect(t, url.Values{"channels": {"a,b"}})
	require.NoError(t, ts.hub.Send("a", "first"))
	_, ev := c.message()
	c.close()

	big := strings.Repeat("x", 1022) // 1024 bytes of JSON
	for i := range 6 {
		ch := "a"
		if i%2 == 1 {
			ch = "b"
		}
		require.NoError(t, ts.hub.Send(ch, big))
	}
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}}, lastID(nil, ev.ID))
	assert.Equal(t, shared.EventGap, c2.next().Name, "the oldest events went first")
	for range 3 {
		env, _ := c2.message()
		assert.Len(t, env.Payload, 1024)
	}
	require.NoError(t, ts.hub.Send("a", "live"))
	c2.expectNext("a", `"live"`)
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLoggerGetsSlowConsumerReason: a client cut as a slow consumer is
// logged, with the reason, to Config.Logger.
func TestLoggerGetsSlowConsumerReason(t *testing.T, m Mount) {
	var logs syncBuffer
	ts := newTestServer(t, m, ssevent.Config{
		QueueSize: 8,
		Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
	})
	stuckClient(t, ts, "channels=bulk")
	eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "the stream to open")
	payload := strings.Repeat("x", 60<<10)
	for range 200 { // 12 MB: more than the socket buffers and the queue hold
		require.NoError(t, ts.hub.Send("bulk", payload))
	}
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the slow client to be cut")
	eventually(t, func() bool { return strings.Contains(logs.String(), `reason=slow_consumer`) }, "the log record")
	assert.Contains(t, logs.String(), "level=INFO")
}

// TestDefaults: a zero Config gets the documented heartbeat, default
// channel, payload and channel limits.
func TestDefaults(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	c := ts.connect(t, nil)
	assert.EqualValues(t, ssevent.DefaultHeartbeatInterval.Milliseconds(), c.connected.Heartbeat)
	assert.Equal(t, []string{shared.DefaultChannel}, c.connected.Channels)

	// MaxPayloadSize: 64 KiB of JSON passes, one byte more does not.
	fits := strings.Repeat("x", ssevent.DefaultMaxPayloadSize-2)
	require.NoError(t, ts.hub.Send("default", fits))
	assert.ErrorIs(t, ts.hub.Send("default", fits+"x"), ssevent.ErrPayloadTooLarge)

	// MaxChannelsPerClient: 20 with the default channel.
	chs := make([]string, ssevent.DefaultMaxChannelsPerClient-1)
	for i := range chs {
		chs[i] = "c" + string(rune('a'+i))
	}
	require.NoError(t, ts.hub.Subscribe(c.id(), chs...))
	assert.ErrorIs(t, ts.hub.Subscribe(c.id(), "one-more"), ssevent.ErrTooManyChannels)

	resp, cancel := ts.dial(t, url.Values{"channels": {strings.Join(chs, ",") + ",x"}}, nil)
	defer cancel()
	body := readBody(t, resp)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Equal(t, shared.CodeTooManyChannels, errorBody(t, body).Error)
}
