package ssevent_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/shared"
)

// disconnects records what Config.OnDisconnect is told.
type disconnects struct {
	mu   sync.Mutex
	got  map[string][]ssevent.DisconnectReason
	more chan struct{}
}

func newDisconnects() *disconnects {
	return &disconnects{got: map[string][]ssevent.DisconnectReason{}, more: make(chan struct{}, 64)}
}

func (d *disconnects) hook(id string, r ssevent.DisconnectReason) {
	d.mu.Lock()
	d.got[id] = append(d.got[id], r)
	d.mu.Unlock()
	d.more <- struct{}{}
}

// wait returns the reasons told for id once there is one, failing t after
// ssetest.Timeout.
func (d *disconnects) wait(t *testing.T, id string) []ssevent.DisconnectReason {
	t.Helper()
	deadline := time.After(ssetest.Timeout)
	for {
		d.mu.Lock()
		got := append([]ssevent.DisconnectReason(nil), d.got[id]...)
		d.mu.Unlock()
		if len(got) > 0 {
			return got
		}
		select {
		case <-d.more:
		case <-deadline:
			t.Fatalf("OnDisconnect was not called for %s", id)
		}
	}
}

// statsUntil polls the hub's Stats until ok accepts them, failing t after
// ssetest.Timeout. Streams are counted as taken over a moment after their
// first event goes out, so counts of them are awaited.
func statsUntil(t *testing.T, hub *ssevent.Hub, what string, ok func(ssevent.Stats) bool) ssevent.Stats {
	t.Helper()
	deadline := time.Now().Add(ssetest.Timeout)
	for {
		s := hub.Stats()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Stats counts the streams, sessions, channels, events, bytes, refusals
// and disconnects of what a test does, on both stream paths, and
// OnDisconnect is told once per stream end with its reason.
func TestStatsCountWhatHappened(t *testing.T) {
	for _, takeover := range []bool{true, false} {
		t.Run(fmt.Sprintf("takeover=%v", takeover), func(t *testing.T) {
			d := newDisconnects()
			hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1, DisableTakeover: !takeover, OnDisconnect: d.hook})
			srv := httptest.NewServer(hub)
			t.Cleanup(srv.Close)
			t.Cleanup(func() { _ = hub.Close(context.Background()) })
			ctx := context.Background()

			a := ssetest.Open(t, srv.URL+"?channels=x", nil, nil)
			ca, _ := a.Connected(t)
			b := ssetest.Open(t, srv.URL+"?channels=x,y", nil, nil)
			cb, _ := b.Connected(t)

			s := statsUntil(t, hub, "two streams", func(s ssevent.Stats) bool {
				return s.Streams == 2 && (!takeover || s.StreamsTakenOver == 2)
			})
			require.Equal(t, 0, s.StreamsHTTP2)
			require.Equal(t, 3, s.Channels)      // default, x, y
			require.Equal(t, 5, s.Subscriptions) // a: default, x; b: default, x, y
			require.Equal(t, uint64(2), s.Connects)
			if !takeover {
				require.Zero(t, s.StreamsTakenOver)
			}

			for i := range 3 {
				require.NoError(t, hub.Send(ctx, "x", i))
			}
			require.NoError(t, hub.Send(ctx, "y", "why"))
			read := 0
			for range 3 {
				read += len(a.Next(t, nil).Data)
			}
			for range 4 {
				read += len(b.Next(t, nil).Data)
			}
			s = hub.Stats()
			require.Equal(t, uint64(4), s.Published)
			require.Zero(t, s.PublishErrors)
			require.Positive(t, s.PublishTime)
			require.Equal(t, uint64(7), s.Delivered)
			require.GreaterOrEqual(t, s.BytesWritten, uint64(read))

			require.Equal(t, []ssevent.ChannelInfo{{Name: "default", Subscribers: 2}, {Name: "x", Subscribers: 2}, {Name: "y", Subscribers: 1}},
				hub.Channels(ctx, "", 0))
			require.Equal(t, []ssevent.ChannelInfo{{Name: "x", Subscribers: 2}}, hub.Channels(ctx, "default", 1))

			post := func(body string) int {
				resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
				require.NoError(t, err)
				resp.Body.Close()
				return resp.StatusCode
			}
			require.Equal(t, http.StatusBadRequest, post("{"))
			require.Equal(t, http.StatusNotFound, post(`{"action":"subscribe","clientId":"00000000-0000-4000-8000-000000000000","channels":["z"]}`))
			s = hub.Stats()
			require.Equal(t, map[string]uint64{shared.CodeInvalidJSON: 1, shared.CodeUnknownClient: 1}, s.Refusals)

			require.NoError(t, hub.Unsubscribe(ctx, cb.ClientID))
			b.Ended(t)
			require.Equal(t, []ssevent.DisconnectReason{ssevent.DisconnectUnsubscribed}, d.wait(t, cb.ClientID))
			a.Close()
			require.Equal(t, []ssevent.DisconnectReason{ssevent.DisconnectClientGone}, d.wait(t, ca.ClientID))

			s = statsUntil(t, hub, "no stream", func(s ssevent.Stats) bool { return s.Streams == 0 })
			require.Equal(t, map[ssevent.DisconnectReason]uint64{ssevent.DisconnectUnsubscribed: 1, ssevent.DisconnectClientGone: 1}, s.Disconnects)
			require.Equal(t, 1, s.SessionsWaiting) // a may resume; b's session ended
			require.Empty(t, hub.Channels(ctx, "", 0))
		})
	}
}

// Streams over HTTP/2 are counted as such.
func TestStatsHTTP2(t *testing.T) {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	srv := httptest.NewUnstartedServer(hub)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = hub.Close(context.Background()) })

	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	ev, err := shared.NewDecoder(resp.Body, 0).Next()
	require.NoError(t, err)
	require.Equal(t, shared.EventConnected, ev.Name)
	s := hub.Stats()
	require.Equal(t, 1, s.Streams)
	require.Equal(t, 1, s.StreamsHTTP2)
	require.Zero(t, s.StreamsTakenOver)
}

// A resumed session that replays is counted, and so is the gap sent to a
// client whose Last-Event-ID the hub cannot place; the old stream of a
// resumed session ends as resumed.
func TestStatsReplaysAndGaps(t *testing.T) {
	d := newDisconnects()
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1, OnDisconnect: d.hook})
	srv := httptest.NewServer(hub)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	ctx := context.Background()

	a := ssetest.Open(t, srv.URL+"?channels=x", nil, nil)
	c, pos := a.Connected(t)
	require.NoError(t, hub.Send(ctx, "x", 1))
	a.Next(t, nil)

	// The same session resumes from its connected position while its
	// first stream is still open: it replays the event and takes over.
	key := http.Header{shared.HeaderSessionKey: {c.SessionKey}, shared.HeaderLastEventID: {pos}}
	b := ssetest.Open(t, srv.URL+"?clientId="+c.ClientID, key, nil)
	cb, _ := b.Connected(t)
	require.True(t, cb.Resumed)
	require.Equal(t, "x", envelopeChannel(t, b.Next(t, nil)))
	require.Equal(t, []ssevent.DisconnectReason{ssevent.DisconnectResumed}, d.wait(t, c.ClientID))

	other := ssetest.Open(t, srv.URL, http.Header{shared.HeaderLastEventID: {"zzzz-5"}}, nil)
	other.Connected(t)
	require.Equal(t, shared.EventGap, other.Next(t, nil).Name)

	s := hub.Stats()
	require.Equal(t, uint64(1), s.Replays)
	require.Equal(t, uint64(1), s.Gaps)
	require.Equal(t, uint64(3), s.Connects)
}

// envelopeChannel returns the channel of a message event.
func envelopeChannel(t *testing.T, ev shared.Event) string {
	t.Helper()
	require.Equal(t, shared.EventMessage, ev.Name)
	i := bytes.Index(ev.Data, []byte(`"channel":"`))
	require.GreaterOrEqual(t, i, 0, "%s", ev.Data)
	rest := ev.Data[i+len(`"channel":"`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

// A panicking OnDisconnect is contained: the hub goes on serving.
func TestOnDisconnectPanicIsContained(t *testing.T) {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1, OnDisconnect: func(string, ssevent.DisconnectReason) { panic("bug") }})
	srv := httptest.NewServer(hub)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	a := ssetest.Open(t, srv.URL, nil, nil)
	a.Connected(t)
	a.Close()
	statsUntil(t, hub, "the stream to end", func(s ssevent.Stats) bool { return s.Streams == 0 })
	b := ssetest.Open(t, srv.URL, nil, nil)
	b.Connected(t)
	require.NoError(t, hub.Broadcast(context.Background(), "still here"))
	require.Equal(t, shared.EventMessage, b.Next(t, nil).Name)
}
