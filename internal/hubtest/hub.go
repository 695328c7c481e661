package hubtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestConfigValidate: invalid configs are refused by Validate and by both
// constructors.
func TestConfigValidate(t *testing.T, m Mount) {
	require.NoError(t, ssevent.Config{}.Validate())
	bad := []ssevent.Config{
		{MaxPayloadSize: -1},
		{MaxChannelsPerClient: -1},
		{QueueSize: -1},
		{HistoryTTL: -1},
		{HistoryMaxBytes: -1},
		{Retry: -1},
		{CleanupInterval: -1},
		{HeartbeatInterval: time.Microsecond},
		{TrustOrigins: []string{""}},
		{TrustOriginPatterns: []*regexp.Regexp{nil}},
	}
	for _, cfg := range bad {
		err := cfg.Validate()
		assert.ErrorIs(t, err, ssevent.ErrInvalidConfig, "%+v", cfg)
		_, _, err = newHubErr(m, cfg)
		assert.ErrorIs(t, err, ssevent.ErrInvalidConfig)
		assert.Panics(t, func() { newHub(m, cfg) })
	}
}

// TestConnect: a GET opens a stream with the event-stream headers, a retry
// field and a connected event.
func TestConnect(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	resp, cancel := ts.dial(t, nil, nil)
	defer cancel()
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))

	d := shared.NewDecoder(resp.Body, 0)
	ev, err := d.Next()
	require.NoError(t, err)
	assert.Equal(t, ssevent.DefaultRetry, d.Retry(), "the stream starts with a retry field")
	assert.Equal(t, shared.EventConnected, ev.Name)
	pos, err := seq(ev.ID)
	require.NoError(t, err, "connected carries the stream's starting position as its id")
	assert.Positive(t, pos)
	var c shared.Connected
	require.NoError(t, json.Unmarshal(ev.Data, &c))
	u, err := uuid.Parse(c.ClientID)
	require.NoError(t, err)
	assert.Equal(t, uuid.Version(4), u.Version())
	assert.Equal(t, []string{"default"}, c.Channels)
	assert.False(t, c.Resumed)
	assert.EqualValues(t, 30000, c.Heartbeat)
	eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "one client")
}

// TestConnectWithChannels: ?channels= joins the channels asked for,
// deduplicated, with or without the default channel.
func TestConnectWithChannels(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	c := ts.connect(t, url.Values{"channels": {"news, sport,news"}})
	assert.Equal(t, []string{"default", "news", "sport"}, c.connected.Channels)
	assert.Equal(t, []string{c.id()}, ts.hub.ClientsByChannel("news"))

	ts2 := newTestServer(t, m, ssevent.Config{DisableDefaultChannel: true})
	c2 := ts2.connect(t, url.Values{"channels": {"x"}})
	assert.Equal(t, []string{"x"}, c2.connected.Channels)
	assert.Empty(t, ts2.hub.ClientsByChannel("default"))
}

// TestSendReachesSubscribersOnly: Send reaches a channel's subscribers only,
// with ids that grow across the hub.
func TestSendReachesSubscribersOnly(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	news := ts.connect(t, url.Values{"channels": {"news"}})
	other := ts.connect(t, url.Values{"channels": {"sport"}})

	require.NoError(t, ts.hub.Send("news", map[string]any{"title": "hi\nthere\r"}))
	require.NoError(t, ts.hub.Send("sport", "goal"))

	env, ev := news.message()
	assert.Equal(t, "news", env.Channel)
	assert.JSONEq(t, `{"title":"hi\nthere\r"}`, string(env.Payload))
	first, err := seq(ev.ID)
	require.NoError(t, err, "every message has a numeric id")

	env, ev = other.message()
	assert.Equal(t, "sport", env.Channel, "the news message never reached the sport client")
	assert.JSONEq(t, `"goal"`, string(env.Payload))
	second, err := seq(ev.ID)
	require.NoError(t, err)
	assert.Greater(t, second, first, "ids grow across the hub")

	require.NoError(t, ts.hub.Send("nobody-listens", 1), "a channel without subscribers is fine")
}

// TestSendTo: SendTo reaches one client, as a message or as a named event;
// bad names and unknown clients are errors.
func TestSendTo(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	a := ts.connect(t, nil)
	b := ts.connect(t, nil)

	require.NoError(t, ts.hub.SendTo(a.id(), map[string]string{"secret": "for a"}))
	require.NoError(t, ts.hub.SendTo(a.id(), 42, "alert"))
	require.NoError(t, ts.hub.Send("default", "marker"))

	env, _ := a.message()
	assert.Equal(t, "", env.Channel)
	assert.JSONEq(t, `{"secret":"for a"}`, string(env.Payload))
	ev := a.next()
	assert.Equal(t, "alert", ev.Name)
	assert.Equal(t, "42", string(ev.Data), "custom events carry the payload itself")
	assert.NotEmpty(t, ev.ID)
	a.expectNext("default", `"marker"`)

	// b sees the marker first: nothing sent to a reached it.
	b.expectNext("default", `"marker"`)

	assert.ErrorIs(t, ts.hub.SendTo(uuid.NewString(), 1), ssevent.ErrUnknownClient)
	assert.ErrorIs(t, ts.hub.SendTo(a.id(), 1, "bad\nname"), ssevent.ErrInvalidEvent)
	assert.ErrorIs(t, ts.hub.SendTo(a.id(), 1, "connected"), ssevent.ErrInvalidEvent)
	assert.ErrorIs(t, ts.hub.SendTo(a.id(), 1, "a", "b"), ssevent.ErrInvalidEvent)
}

// TestBroadcast: Broadcast reaches every client, as a message or as a named
// event.
func TestBroadcast(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{DisableDefaultChannel: true})
	a := ts.connect(t, nil)
	b := ts.connect(t, url.Values{"channels": {"x"}})

	require.NoError(t, ts.hub.Broadcast(map[string]int{"n": 1}))
	require.NoError(t, ts.hub.Broadcast("bye", "maintenance"))
	for _, c := range []*sseClient{a, b} {
		env, _ := c.message()
		assert.Equal(t, "", env.Channel)
		assert.JSONEq(t, `{"n":1}`, string(env.Payload))
		ev := c.next()
		assert.Equal(t, "maintenance", ev.Name)
		assert.Equal(t, `"bye"`, string(ev.Data))
	}
	assert.ErrorIs(t, ts.hub.Broadcast(1, "heartbeat"), ssevent.ErrInvalidEvent)
}

// TestSendValidation: Send refuses bad channels, oversized and unencodable
// payloads, and compacts raw JSON.
func TestSendValidation(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{MaxPayloadSize: 100})
	assert.ErrorIs(t, ts.hub.Send("", 1), ssevent.ErrInvalidChannel)
	assert.ErrorIs(t, ts.hub.Send("a\nb", 1), ssevent.ErrInvalidChannel)
	assert.ErrorIs(t, ts.hub.Send("x", strings.Repeat("a", 200)), ssevent.ErrPayloadTooLarge)
	assert.ErrorIs(t, ts.hub.Broadcast(strings.Repeat("a", 200)), ssevent.ErrPayloadTooLarge)
	assert.Error(t, ts.hub.Send("x", make(chan int)), "unencodable data is an error")
	assert.Error(t, ts.hub.Send("x", json.RawMessage(`{bad`)), "invalid raw JSON is an error")
	require.NoError(t, ts.hub.Send("x", json.RawMessage("{\n\"a\": 1\n}")))

	c := ts.connect(t, url.Values{"channels": {"x"}})
	require.NoError(t, ts.hub.Send("x", json.RawMessage("{\n\"a\": 1\n}")))
	env, _ := c.message()
	assert.Equal(t, `{"a":1}`, string(env.Payload), "raw JSON is compacted onto one line")
}

// TestSubscribeAPI: Hub.Subscribe and Unsubscribe change a client's channels
// all or nothing.
func TestSubscribeAPI(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{MaxChannelsPerClient: 3})
	c := ts.connect(t, nil)

	require.NoError(t, ts.hub.Subscribe(c.id(), "a", "b"))
	assert.Equal(t, []string{c.id()}, ts.hub.ClientsByChannel("a"))
	assert.ErrorIs(t, ts.hub.Subscribe(c.id(), "c"), ssevent.ErrTooManyChannels)
	assert.Empty(t, ts.hub.ClientsByChannel("c"), "a refused subscription changes nothing")
	assert.ErrorIs(t, ts.hub.Subscribe(c.id(), "ok", "bad,name"), ssevent.ErrInvalidChannel)
	assert.Empty(t, ts.hub.ClientsByChannel("ok"), "all or nothing")
	assert.ErrorIs(t, ts.hub.Subscribe(uuid.NewString(), "a"), ssevent.ErrUnknownClient)
	require.NoError(t, ts.hub.Subscribe(c.id(), "a"), "subscribing again is fine")

	// Another subscriber stays on "a": the channel's recipients change
	// without the channel going away.
	other := ts.connect(t, url.Values{"channels": {"a"}})
	require.NoError(t, ts.hub.Send("a", "to a"))
	c.expectNext("a", `"to a"`)
	other.expectNext("a", `"to a"`)

	require.NoError(t, ts.hub.Unsubscribe(c.id(), "a", "never-held"))
	assert.Equal(t, []string{other.id()}, ts.hub.ClientsByChannel("a"))
	require.NoError(t, ts.hub.Send("a", "not for c"))
	other.expectNext("a", `"not for c"`)
	require.NoError(t, ts.hub.Send("b", "to b"))
	c.expectNext("b", `"to b"`)
	assert.ErrorIs(t, ts.hub.Unsubscribe(uuid.NewString(), "a"), ssevent.ErrUnknownClient)
}

// TestUnsubscribeAllDisconnects: Unsubscribe without channels ends the
// client's stream and forgets its session.
func TestUnsubscribeAllDisconnects(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	c := ts.connect(t, nil)
	other := ts.connect(t, nil)
	require.NoError(t, ts.hub.Unsubscribe(c.id()))
	c.ended()
	assert.Equal(t, 1, ts.hub.ClientCount())
	assert.ErrorIs(t, ts.hub.SendTo(c.id(), 1), ssevent.ErrUnknownClient, "the session is forgotten")

	// The other stream is untouched.
	require.NoError(t, ts.hub.Send("default", "still here"))
	other.expectNext("default", `"still here"`)

	// Presenting the id again does not resume.
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}})
	assert.NotEqual(t, c.id(), c2.id())
	assert.False(t, c2.connected.Resumed)
}

// TestClearClients: ClearClients ends every stream and session, and the hub
// keeps working.
func TestClearClients(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	a := ts.connect(t, nil)
	b := ts.connect(t, nil)
	require.Equal(t, 2, ts.hub.ClientCount())
	ts.hub.ClearClients()
	a.ended()
	b.ended()
	assert.Equal(t, 0, ts.hub.ClientCount())
	assert.Empty(t, ts.hub.ClientsByChannel("default"))
	assert.ErrorIs(t, ts.hub.SendTo(a.id(), 1), ssevent.ErrUnknownClient)
	// The hub still works.
	c := ts.connect(t, nil)
	require.NoError(t, ts.hub.Send("default", 1))
	c.expectNext("default", `1`)
}

// TestClose: Close writes what is queued, ends the streams, and refuses
// everything afterwards.
func TestClose(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	c := ts.connect(t, nil)
	require.NoError(t, ts.hub.Send("default", "last words"))

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, ts.hub.Close(ctx))
	c.expectNext("default", `"last words"`)
	c.ended()

	assert.ErrorIs(t, ts.hub.Close(ctx), ssevent.ErrClosed)
	assert.ErrorIs(t, ts.hub.Send("default", 1), ssevent.ErrClosed)
	assert.ErrorIs(t, ts.hub.Broadcast(1), ssevent.ErrClosed)
	assert.ErrorIs(t, ts.hub.Subscribe(c.id(), "x"), ssevent.ErrClosed)
	assert.Equal(t, 0, ts.hub.ClientCount())

	resp, cancelGet := ts.dial(t, nil, nil)
	defer cancelGet()
	defer resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// TestHeartbeat: heartbeats come at HeartbeatInterval without moving the
// last event id, and not at all when disabled.
func TestHeartbeat(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: 20 * time.Millisecond})
	c := ts.connect(t, nil)
	assert.EqualValues(t, 20, c.connected.Heartbeat)
	ev := c.nextAny()
	assert.Equal(t, shared.EventHeartbeat, ev.Name)
	ms, err := strconv.ParseInt(string(ev.Data), 10, 64)
	require.NoError(t, err)
	assert.InDelta(t, time.Now().UnixMilli(), ms, float64(time.Minute.Milliseconds()))
	assert.Equal(t, c.position, ev.ID, "heartbeats do not move the last event id")

	off := newTestServer(t, m, ssevent.Config{DisableHeartbeat: true, HeartbeatInterval: 20 * time.Millisecond})
	c2 := off.connect(t, nil)
	assert.EqualValues(t, 0, c2.connected.Heartbeat)
	// Nothing but the marker arrives even after several would-be intervals.
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, off.hub.Send("default", "m"))
	assert.Equal(t, shared.EventMessage, c2.nextAny().Name)
}

// TestTimeoutEndsStream: a stream ends after Timeout and its session waits
// to be resumed.
func TestTimeoutEndsStream(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{Timeout: time.Second})
	c := ts.connect(t, nil)
	c.ended()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to be dropped")
	// The session waits for the client to resume.
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}})
	assert.Equal(t, c.id(), c2.id())
	assert.True(t, c2.connected.Resumed)
}

// TestMethodNotAllowed: methods other than GET and POST get 405 with Allow.
func TestMethodNotAllowed(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(method, ts.url, nil)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body := readBody(t, resp)
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
		assert.Equal(t, "GET, POST", resp.Header.Get("Allow"))
		assert.Equal(t, shared.CodeMethodNotAllowed, errorBody(t, body).Error)
	}
}

// TestThousandClientsGetBroadcast: a thousand streams all get one broadcast.
func TestThousandClientsGetBroadcast(t *testing.T, m Mount) {
	const n = 1000
	ts := newTestServer(t, m, ssevent.Config{})
	// Raw responses: a decoder goroutine per client starts only after
	// the broadcast.
	type rawStream struct {
		resp   *http.Response
		cancel context.CancelFunc
	}
	clients := make([]rawStream, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, cancel := ts.dial(t, nil, nil)
			if resp.StatusCode != http.StatusOK {
				mu.Lock()
				failed = append(failed, resp.Status)
				mu.Unlock()
				cancel()
				resp.Body.Close()
				return
			}
			clients[i] = rawStream{resp, cancel}
		}()
	}
	wg.Wait()
	require.Empty(t, failed)
	t.Cleanup(func() {
		for _, c := range clients {
			c.cancel()
			c.resp.Body.Close()
		}
	})
	eventually(t, func() bool { return ts.hub.ClientCount() == n }, "1000 streams")
	require.NoError(t, ts.hub.Broadcast("hello all", "news"))

	errs := make(chan error, n)
	for _, c := range clients {
		go func() {
			d := shared.NewDecoder(c.resp.Body, 0)
			for {
				ev, err := d.Next()
				if err != nil {
					errs <- err
					return
				}
				if ev.Name == "news" {
					if string(ev.Data) != `"hello all"` {
						errs <- errors.New("wrong data " + string(ev.Data))
					} else {
						errs <- nil
					}
					return
				}
			}
		}()
	}
	for range n {
		select {
		case err := <-errs:
			require.NoError(t, err)
		case <-time.After(waitTimeout):
			t.Fatal("not every client got the broadcast")
		}
	}
}

// TestConcurrentUseIsSafe: publishers and clients that come and go at once
// leave the hub consistent (under -race).
func TestConcurrentUseIsSafe(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{MaxChannelsPerClient: 50})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() { // publishers
			defer wg.Done()
			for i := 0; i < 300 && ctx.Err() == nil; i++ {
				_ = ts.hub.Send("ch"+strconv.Itoa(i%5), i)
				_ = ts.hub.Broadcast(w)
				_ = ts.hub.ClientsByChannel("ch1")
				_ = ts.hub.ClientCount()
			}
		}()
	}
	for range 8 {
		wg.Add(1)
		go func() { // clients that come, subscribe and go
			defer wg.Done()
			for i := 0; i < 10 && ctx.Err() == nil; i++ {
				c := ts.connect(t, url.Values{"channels": {"ch" + strconv.Itoa(i%5)}})
				_ = ts.hub.Subscribe(c.id(), "ch1", "ch2")
				ts.subscribe(t, shared.ActionSubscribe, c.id(), "ch3")
				_ = ts.hub.SendTo(c.id(), "hi")
				_ = ts.hub.Unsubscribe(c.id(), "ch1")
				if i%2 == 0 {
					_ = ts.hub.Unsubscribe(c.id())
				}
				c.close()
			}
		}()
	}
	wg.Wait()
	require.NoError(t, ctx.Err(), "the load finished in time")
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "all streams to end")
}

// TestHookSeesRequest: the hooks get the request they run for, GET or
// POST.
func TestHookSeesRequest(t *testing.T, m Mount) {
	var seen sync.Map
	ts := newTestServer(t, m, ssevent.Config{
		OnConnect: func(r *http.Request) error {
			seen.Store("connect", r.Header.Get("X-User"))
			return nil
		},
		OnSubscribe: func(id, ch string, r *http.Request) error {
			seen.Store("subscribe:"+ch, r.Method)
			return nil
		},
	})
	c := ts.connect(t, url.Values{"channels": {"a"}}, http.Header{"X-User": {"ann"}})
	ts.subscribe(t, shared.ActionSubscribe, c.id(), "b")
	v, _ := seen.Load("connect")
	assert.Equal(t, "ann", v)
	v, _ = seen.Load("subscribe:a")
	assert.Equal(t, http.MethodGet, v)
	v, _ = seen.Load("subscribe:b")
	assert.Equal(t, http.MethodPost, v)
}
