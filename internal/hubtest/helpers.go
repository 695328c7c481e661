package hubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/shared"
)

// waitTimeout bounds every wait for an event in these tests.
const waitTimeout = 10 * time.Second

// testServer is a hub behind a real HTTP server on 127.0.0.1.
type testServer struct {
	hub *hub
	srv *httptest.Server
	url string // the events endpoint

	// keys are the session keys the streams opened here were given, by
	// client id: requests that name a session send its key, as the
	// session's owner would.
	mu   sync.Mutex
	keys map[string]string
}

// withKey returns header, with the key of the session id added unless the
// header already carries one.
func (ts *testServer) withKey(id string, header http.Header) http.Header {
	ts.mu.Lock()
	key := ts.keys[id]
	ts.mu.Unlock()
	if id == "" || key == "" || header.Get(shared.HeaderSessionKey) != "" {
		return header
	}
	h := header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(shared.HeaderSessionKey, key)
	return h
}

// remember records the key of a session a stream was given.
func (ts *testServer) remember(c shared.Connected) {
	if c.SessionKey == "" {
		return
	}
	ts.mu.Lock()
	ts.keys[c.ClientID] = c.SessionKey
	ts.mu.Unlock()
}

// newTestServer builds a hub through m and serves it on 127.0.0.1.
func newTestServer(t testing.TB, m Mount, cfg ssevent.Config) *testServer {
	t.Helper()
	return newTestServerWith(t, m, cfg, nil)
}

// newTestServerWith is newTestServer with setup passed to serveHub.
func newTestServerWith(t testing.TB, m Mount, cfg ssevent.Config, setup func(*httptest.Server)) *testServer {
	t.Helper()
	h, app := newHub(m, cfg)
	return serveHub(t, h, app, setup)
}

// serveHub serves app, the handler of hub that Mount.New returned, on
// 127.0.0.1; setup, when not nil, changes the server before it starts
// (its listener, its timeouts, middleware around its handler). The hub
// and the server close when the test ends.
func serveHub(t testing.TB, hub *hub, app http.Handler, setup func(*httptest.Server)) *testServer {
	t.Helper()
	srv := httptest.NewUnstartedServer(app)
	if setup != nil {
		setup(srv)
	}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = hub.Close(ctx)
		srv.Close()
	})
	return &testServer{hub: hub, srv: srv, url: srv.URL + "/events", keys: make(map[string]string)}
}

// hub is the core hub with the methods of the adapters' Hub: the core's,
// called with a background context, so that the tests read as an
// application's calls do.
type hub struct{ core *ssevent.Hub }

func (h *hub) Send(channel string, data any) error {
	return h.core.Send(context.Background(), channel, data)
}

func (h *hub) SendTo(clientID string, data any, event ...string) error {
	return h.core.SendTo(context.Background(), clientID, data, event...)
}

func (h *hub) Broadcast(data any, event ...string) error {
	return h.core.Broadcast(context.Background(), data, event...)
}

func (h *hub) Subscribe(clientID string, channels ...string) error {
	return h.core.Subscribe(context.Background(), clientID, channels...)
}

func (h *hub) Unsubscribe(clientID string, channels ...string) error {
	return h.core.Unsubscribe(context.Background(), clientID, channels...)
}

func (h *hub) ClientCount() int { return h.core.ClientCount(context.Background()) }

func (h *hub) ClientsByChannel(channel string) []string {
	return h.core.ClientsByChannel(context.Background(), channel)
}

func (h *hub) ClearClients() { h.core.ClearClients(context.Background()) }

func (h *hub) Close(ctx context.Context) error { return h.core.Close(ctx) }

// sseClient reads one stream with the protocol's own decoder.
type sseClient struct {
	*ssetest.Stream
	t         testing.TB
	events    <-chan shared.Event // every event, heartbeats included
	resp      *http.Response
	connected shared.Connected
	position  string // the connected event's id
}

// dial opens a stream and returns the response for status checks. The
// caller must close the body.
func (ts *testServer) dial(t testing.TB, query url.Values, header http.Header) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := ts.url
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(t, err)
	for k, v := range ts.withKey(query.Get(shared.QueryClientID), header) {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp, cancel
}

// connect opens a stream, checks it is one, and reads its connected event.
func (ts *testServer) connect(t testing.TB, query url.Values, header ...http.Header) *sseClient {
	t.Helper()
	return ts.connectVia(t, query, nil, header...)
}

// connectVia is connect with the stream's bytes passed through wrap (when
// not nil) before they are decoded.
func (ts *testServer) connectVia(t testing.TB, query url.Values, wrap func(io.Reader) io.Reader, header ...http.Header) *sseClient {
	t.Helper()
	u := ts.url
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var h http.Header
	if len(header) > 0 {
		h = header[0]
	}
	s := ssetest.Open(t, u, ts.withKey(query.Get(shared.QueryClientID), h), wrap)
	c := &sseClient{Stream: s, t: t, events: s.Events, resp: s.Resp}
	c.connected, c.position = s.Connected(t)
	ts.remember(c.connected)
	return c
}

func (c *sseClient) id() string { return c.connected.ClientID }

// close ends the stream from the client side.
func (c *sseClient) close() { c.Close() }

// next returns the next event other than a heartbeat.
func (c *sseClient) next() shared.Event {
	c.t.Helper()
	return c.Next(c.t, isChannels)
}

// isChannels tells the channels events that Hub.Subscribe and
// Hub.Unsubscribe send, which next skips like heartbeats.
func isChannels(ev shared.Event) bool { return ev.Name == shared.EventChannels }

// nextT is next failing t, for a client shared by subtests.
func (c *sseClient) nextT(t testing.TB) shared.Event {
	t.Helper()
	return c.Next(t, isChannels)
}

// nextAny returns the next event, heartbeats included.
func (c *sseClient) nextAny() shared.Event {
	c.t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			c.t.Fatalf("stream ended while waiting for an event")
		}
		return ev
	case <-time.After(waitTimeout):
		c.t.Fatalf("no event within %v", waitTimeout)
	}
	return shared.Event{}
}

// message reads the next event and decodes it as a channel message.
func (c *sseClient) message() (shared.Envelope, shared.Event) {
	c.t.Helper()
	ev := c.next()
	require.Equal(c.t, shared.EventMessage, ev.Name, "data %s", ev.Data)
	var env shared.Envelope
	require.NoError(c.t, json.Unmarshal(ev.Data, &env))
	return env, ev
}

// ended waits for the server to end the stream.
func (c *sseClient) ended() {
	c.t.Helper()
	c.Ended(c.t)
}

// expectNext reads the next event as a channel message and checks it.
// After a marker the caller sent, it proves that nothing else was queued
// for the client before it.
func (c *sseClient) expectNext(channel string, payload string) {
	c.t.Helper()
	env, _ := c.message()
	require.Equal(c.t, channel, env.Channel)
	require.JSONEq(c.t, payload, string(env.Payload))
}

// post sends a subscribe request and decodes the answer.
func (ts *testServer) post(t testing.TB, body any, header ...http.Header) (int, []byte) {
	t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	case io.Reader:
		rd = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	var named struct {
		ClientID string `json:"clientId"`
	}
	if rd == nil {
		rd = bytes.NewReader(raw)
		_ = json.Unmarshal(raw, &named)
	}
	req, err := http.NewRequest(http.MethodPost, ts.url, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for _, h := range header {
		for k, v := range h {
			req.Header[k] = v
		}
	}
	if k := ts.withKey(named.ClientID, req.Header).Get(shared.HeaderSessionKey); k != "" {
		req.Header.Set(shared.HeaderSessionKey, k)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func (ts *testServer) subscribe(t testing.TB, action, id string, channels ...string) shared.SubscribeResponse {
	t.Helper()
	code, body := ts.post(t, shared.SubscribeRequest{Action: action, ClientID: id, Channels: channels})
	require.Equal(t, http.StatusOK, code, "body %s", body)
	var out shared.SubscribeResponse
	require.NoError(t, json.Unmarshal(body, &out))
	return out
}

// errorBody decodes a refusal.
func errorBody(t testing.TB, body []byte) shared.ErrorResponse {
	t.Helper()
	var e shared.ErrorResponse
	require.NoError(t, json.Unmarshal(body, &e), "body %s", body)
	require.NotEmpty(t, e.Error)
	require.NotEmpty(t, e.Message)
	return e
}

// eventually polls cond until it holds or the wait times out. For state
// that has no event to await, such as counters after a disconnect.
func eventually(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var errSentinel = errors.New("boom")

func readBody(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return b
}

func mustRequest(t testing.TB, method, target string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, nil)
	require.NoError(t, err)
	return req
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// seq parses an event id the hub gave, "<epoch>-<seq>", and returns its
// sequence number.
func seq(s string) (uint64, error) {
	id, err := shared.ParseEventID(s)
	if err == nil && id.Epoch == "" {
		err = errors.New("the id has no epoch")
	}
	return id.Seq, err
}
