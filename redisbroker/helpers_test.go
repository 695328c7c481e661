package redisbroker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/leakcheck"
	"github.com/ssevent/ssevent/internal/redistest"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// TestMain fails the package when goroutines outlive the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Run(m)) }

const waitTimeout = 15 * time.Second

var prefixes atomic.Int64

// testPrefix returns a key prefix no other test uses, for a shared REDIS_URL.
func testPrefix(t testing.TB) string {
	return fmt.Sprintf("sseventtest:%d:%d:", os.Getpid(), prefixes.Add(1))
}

// redisURL returns REDIS_URL when set, or starts a redis-server.
func redisURL(t testing.TB) string { return redistest.URL(t) }

// node is a hub behind its own HTTP server, on a shared Redis.
type node struct {
	name   string
	hub    *server.Hub
	broker *redisbroker.Broker
	srv    *httptest.Server
	url    string
	subs   atomic.Int64 // OnSubscribe calls
}

var clusterOpts = redisbroker.Options{
	PresenceInterval: 200 * time.Millisecond,
	PresenceSync:     20 * time.Millisecond,
	ReadBlock:        200 * time.Millisecond,
}

func newNode(t testing.TB, name, redisURL, prefix string, cfg server.Config) *node {
	t.Helper()
	opts := clusterOpts
	opts.Prefix = prefix
	return newNodeWith(t, name, redisURL, opts, cfg)
}

// newNodeWith is newNode with the broker's options given whole.
func newNodeWith(t testing.TB, name, redisURL string, opts redisbroker.Options, cfg server.Config) *node {
	t.Helper()
	b, err := redisbroker.FromURL(redisURL, opts)
	require.NoError(t, err)
	n := &node{name: name, broker: b}
	cfg.Broker = b
	cfg.OnSubscribe = func(string, string, echo.Context) error { n.subs.Add(1); return nil }
	n.hub, err = server.NewHub(cfg)
	require.NoError(t, err)
	e := echo.New()
	e.HideBanner = true
	e.Any("/events", n.hub.Handler)
	n.srv = httptest.NewServer(e)
	n.url = n.srv.URL + "/events"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = n.hub.Close(ctx)
		n.srv.Close()
	})
	return n
}

// client reads one stream with the protocol's own decoder.
type client struct {
	*ssetest.Stream
	t         testing.TB
	connected shared.Connected
	lastID    string // the id of the last message read, as sent
}

// keys holds the session key each connected event gave, by client id, so
// that resumptions and POSTs present it as the client would.
var keys sync.Map

// withKey returns h, or a new header, carrying the session key of the
// client id when one is known and h carries none.
func withKey(h http.Header, id string) http.Header {
	k, ok := keys.Load(id)
	if id == "" || !ok {
		return h
	}
	if h == nil {
		h = http.Header{}
	}
	if h.Get(shared.HeaderSessionKey) == "" {
		h.Set(shared.HeaderSessionKey, k.(string))
	}
	return h
}

func connect(t testing.TB, endpoint string, q url.Values, header ...http.Header) *client {
	t.Helper()
	u := endpoint
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var h http.Header
	if len(header) > 0 {
		h = header[0].Clone()
	}
	h = withKey(h, q.Get(shared.QueryClientID))
	c := &client{Stream: ssetest.Open(t, u, h, nil), t: t}
	c.connected, _ = c.Connected(t)
	if c.connected.SessionKey != "" {
		keys.Store(c.connected.ClientID, c.connected.SessionKey)
	}
	return c
}

func (c *client) id() string { return c.connected.ClientID }

func (c *client) close() { c.Close() }

// next returns the next event, passing over heartbeats and the
// announcements of channel changes, which these tests do not look at.
func (c *client) next() shared.Event {
	c.t.Helper()
	return c.Next(c.t, func(ev shared.Event) bool { return ev.Name == shared.EventChannels })
}

// message reads the next event as a channel message, and returns it with
// its id's position in its epoch.
func (c *client) message() (shared.Envelope, uint64) {
	c.t.Helper()
	ev := c.next()
	require.Equal(c.t, shared.EventMessage, ev.Name, "data %s", ev.Data)
	var env shared.Envelope
	require.NoError(c.t, json.Unmarshal(ev.Data, &env))
	id, err := shared.ParseEventID(ev.ID)
	require.NoError(c.t, err)
	c.lastID = ev.ID
	return env, id.Seq
}

// ended waits for the server to end the stream.
func (c *client) ended() {
	c.t.Helper()
	c.Ended(c.t)
}

// post sends a subscribe request, with the client's session key when it is
// known, and decodes the answer.
func post(t testing.TB, endpoint, action, clientID string, channels ...string) (int, shared.SubscribeResponse) {
	t.Helper()
	body, _ := json.Marshal(shared.SubscribeRequest{Action: action, ClientID: clientID, Channels: channels})
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header = withKey(http.Header{"Content-Type": {"application/json"}}, clientID)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out shared.SubscribeResponse
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// eventually polls cond, for state kept in Redis that no event announces.
func eventually(t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, waitTimeout, 10*time.Millisecond, append([]any{msg}, args...)...)
}

// newClient returns a go-redis client on u, closed with the test.
func newClient(t testing.TB, u string) *redis.Client {
	o, err := redis.ParseURL(u)
	require.NoError(t, err)
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}
