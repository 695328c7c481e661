package redisbroker_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/redistest"
	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// faultTimeout is the brokers' Options.Timeout in the fault tests, and
// faultBound the longest any call may take while Redis hangs or is down:
// a few timeouts, with room for a loaded 2-core machine under -race.
const (
	faultTimeout = 500 * time.Millisecond
	faultBound   = 5 * time.Second
)

func faultOpts(prefix string) redisbroker.Options {
	o := clusterOpts
	o.Prefix = prefix
	o.Timeout = faultTimeout
	return o
}

// within runs fn and fails the test when it took faultBound or longer.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	d := time.Since(start)
	t.Logf("%s: %v", what, d.Round(time.Millisecond))
	require.Less(t, d, faultBound, "%s took %v", what, d)
}

// requireUnavailable checks that err tells of Redis not answering, as both
// packages name it.
func requireUnavailable(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, server.ErrUnavailable)
	require.ErrorIs(t, err, redisbroker.ErrUnavailable)
}

// get opens a stream, with the session key of a client to resume when it
// is known, and returns the answer's status and error body when it is not
// 200; a 200 stream is closed at once.
func get(t *testing.T, endpoint string, q url.Values) (int, shared.ErrorResponse, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
	require.NoError(t, err)
	req.Header = withKey(req.Header, q.Get(shared.QueryClientID))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out shared.ErrorResponse
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &out)
	}
	return resp.StatusCode, out, resp.Header
}

func TestErrUnavailableWrapsTheServers(t *testing.T) {
	require.ErrorIs(t, redisbroker.ErrUnavailable, server.ErrUnavailable)
}

// TestBoundedWhileRedisHangs freezes redis-server (SIGSTOP): every hub
// call that needs Redis returns within a few Options.Timeout, with an
// error wrapping ErrUnavailable where it returns one; a session held by
// the hub resumes there; one held elsewhere is not replaced by a fresh
// session, and resumes once Redis is back.
func TestBoundedWhileRedisHangs(t *testing.T) {
	r := redistest.Start(t)
	prefix := testPrefix(t)
	a := newNodeWith(t, "a", r.URL(), faultOpts(prefix), server.Config{})
	b := newNodeWith(t, "b", r.URL(), faultOpts(prefix), server.Config{})
	// c, which clears its cluster and closes, has one of its own: a call
	// that timed out may still run once Redis goes on.
	c := newNodeWith(t, "c", r.URL(), faultOpts(testPrefix(t)), server.Config{})

	live := connect(t, a.url, url.Values{"channels": {"news"}})
	connect(t, c.url, nil) // open while c closes
	held := connect(t, a.url, url.Values{"channels": {"weather"}})
	away := connect(t, a.url, url.Values{"channels": {"sport"}})
	heldID, awayID := held.id(), away.id()
	held.close()
	away.close()
	eventually(t, func() bool { return b.hub.ClientCount() == 1 }, "the closed streams seen by the cluster")

	r.Stop()
	t.Cleanup(r.Continue) // before the hubs close

	within(t, "Send", func() { requireUnavailable(t, a.hub.Send("news", "during")) })
	within(t, "SendTo, the client's hub", func() { requireUnavailable(t, a.hub.SendTo(live.id(), "during")) })
	within(t, "SendTo, another hub", func() { requireUnavailable(t, b.hub.SendTo(live.id(), "during")) })
	within(t, "Broadcast", func() { requireUnavailable(t, b.hub.Broadcast("during")) })
	within(t, "Subscribe", func() { requireUnavailable(t, b.hub.Subscribe(live.id(), "extra")) })
	within(t, "Unsubscribe", func() { requireUnavailable(t, a.hub.Unsubscribe(awayID, "none")) })
	within(t, "ClientCount", func() { assert.Equal(t, 1, a.hub.ClientCount(), "this hub's streams") })
	within(t, "ClientsByChannel", func() { assert.Equal(t, []string{live.id()}, a.hub.ClientsByChannel("news")) })
	within(t, "ClearClients", func() { c.hub.ClearClients() })
	within(t, "POST subscribe", func() {
		code, _ := post(t, b.url, shared.ActionSubscribe, live.id(), "extra")
		assert.Equal(t, http.StatusServiceUnavailable, code)
	})
	within(t, "resume on another hub", func() {
		code, body, h := get(t, b.url, url.Values{"clientId": {awayID}})
		require.Equal(t, http.StatusServiceUnavailable, code, "not a fresh session: %+v", body)
		assert.Equal(t, shared.CodeUnavailable, body.Error)
		assert.NotEmpty(t, h.Get("Retry-After"))
	})
	within(t, "resume on the holding hub", func() {
		cl := connect(t, a.url, url.Values{"clientId": {heldID}})
		assert.True(t, cl.connected.Resumed)
		assert.Equal(t, heldID, cl.id())
		assert.Contains(t, cl.connected.Channels, "weather")
	})
	within(t, "a new stream", func() { connect(t, b.url, url.Values{"channels": {"news"}}) })
	within(t, "Hub.Close", func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = c.hub.Close(ctx)
	})

	r.Continue()
	// The session held elsewhere was kept: it resumes, with its channels.
	eventually(t, func() bool {
		code, _, _ := get(t, b.url, url.Values{"clientId": {awayID}})
		return code == http.StatusOK
	}, "resuming once Redis is back")
	resumed := connect(t, b.url, url.Values{"clientId": {awayID}})
	require.True(t, resumed.connected.Resumed)
	require.Contains(t, resumed.connected.Channels, "sport")
	// Publishing works again and reaches the stream that stayed open.
	eventually(t, func() bool { return a.hub.Send("news", "after") == nil }, "Send once Redis is back")
	for {
		env, _ := live.message() // a Send that timed out may have run
		if string(env.Payload) == `"after"` {
			break
		}
	}
}

// TestHubStartsWithoutRedis starts a hub while nothing listens on the
// Redis port: it starts, refuses to publish, serves streams, and connects
// by itself once Redis is there.
func TestHubStartsWithoutRedis(t *testing.T) {
	r := redistest.New(t) // not running
	var n *node
	within(t, "NewHub", func() { n = newNodeWith(t, "a", r.URL(), faultOpts(testPrefix(t)), server.Config{}) })
	require.Empty(t, n.broker.Epoch(), "no epoch before Redis answers")
	within(t, "Send", func() { requireUnavailable(t, n.hub.Send("news", -1)) })
	cl := connect(t, n.url, url.Values{"channels": {"news"}})

	r.Restart()
	sent := 0
	eventually(t, func() bool {
		sent++
		return n.hub.Send("news", sent) == nil
	}, "Send once Redis is up")
	require.True(t, shared.ValidEpoch(n.broker.Epoch()), "epoch %q", n.broker.Epoch())
	for {
		env, _ := cl.message() // a Send that failed may have run
		var v int
		require.NoError(t, json.Unmarshal(env.Payload, &v))
		if v == sent {
			break
		}
	}
	require.NoError(t, n.hub.Send("news", "next"))
	env, _ := cl.message()
	require.JSONEq(t, `"next"`, string(env.Payload))
}

// TestBrokerWhileRedisHangs checks the broker's own calls on a client of
// the application's (New), and its Close.
func TestBrokerWhileRedisHangs(t *testing.T) {
	r := redistest.Start(t)
	o, err := redis.ParseURL(r.URL())
	require.NoError(t, err)
	o.ContextTimeoutEnabled = true
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	open := func() *redisbroker.Broker {
		b := redisbroker.New(rdb, faultOpts(testPrefix(t)))
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	b := open()
	b.Position()
	require.True(t, shared.ValidEpoch(b.Epoch()), "epoch %q once Redis was reached", b.Epoch())
	require.NoError(t, b.StartCluster(server.BrokerOptions{HistorySize: 10, HistoryTTL: time.Minute}, func(server.Message) {},
		server.ClusterHooks{Presence: func() []server.SessionPresence { return nil }}))
	ctx := context.Background()
	_, err = b.Publish(ctx, server.Message{Topic: server.Topic{Kind: server.TopicAll}, Data: []byte("1")})
	require.NoError(t, err)
	fresh := open() // never reached Redis

	r.Stop()
	t.Cleanup(r.Continue)
	within(t, "Position", func() { assert.Zero(t, fresh.Position()) })
	assert.Empty(t, fresh.Epoch())
	within(t, "Publish", func() {
		_, err := b.Publish(ctx, server.Message{Topic: server.Topic{Kind: server.TopicAll}, Data: []byte("2")})
		requireUnavailable(t, err)
	})
	within(t, "History", func() {
		_, _, err := b.History(ctx, []server.Topic{{Kind: server.TopicAll}}, 1, 10)
		requireUnavailable(t, err)
	})
	within(t, "LoadSession", func() {
		_, _, err := b.LoadSession(ctx, "x")
		requireUnavailable(t, err)
	})
	within(t, "ClearSessions", func() { requireUnavailable(t, b.ClearSessions(ctx)) })
	within(t, "Broker.Close", func() { require.NoError(t, b.Close()) })
}

// TestReaderComesBack checks that a broker whose reader pauses between
// attempts to reach Redis delivers what it publishes once Redis is there.
func TestReaderComesBack(t *testing.T) {
	r := redistest.New(t)
	b, err := redisbroker.FromURL(r.URL(), faultOpts(testPrefix(t)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	got := make(chan server.Message, 10)
	require.NoError(t, b.Start(server.BrokerOptions{}, func(m server.Message) { got <- m }))
	ctx := context.Background()
	_, err = b.Publish(ctx, server.Message{Topic: server.Topic{Kind: server.TopicAll}, Data: []byte("0")})
	requireUnavailable(t, err)
	r.Restart()
	var id uint64
	eventually(t, func() bool {
		id, err = b.Publish(ctx, server.Message{Topic: server.Topic{Kind: server.TopicAll}, Data: []byte("1")})
		return err == nil
	}, "Publish once Redis is up")
	select {
	case m := <-got:
		require.Equal(t, id, m.ID)
	case <-time.After(faultBound):
		t.Fatal("the published message was not delivered")
	}
}

// TestCloseLeaves: a broker closed while Redis answers removes its
// presence at once, without waiting for it to expire.
func TestCloseLeaves(t *testing.T) {
	u, prefix := redisURL(t), testPrefix(t)
	open := func() *redisbroker.Broker {
		b, err := redisbroker.FromURL(u, redisbroker.Options{Prefix: prefix, PresenceInterval: time.Minute, PresenceSync: 10 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	a, b := open(), open()
	presence := func() []server.SessionPresence {
		return []server.SessionPresence{{ID: "00000000-0000-4000-8000-000000000000", Channels: []string{"news"}}}
	}
	require.NoError(t, a.StartCluster(server.BrokerOptions{}, func(server.Message) {}, server.ClusterHooks{Presence: presence}))
	ctx := context.Background()
	eventually(t, func() bool { n, err := b.ClientCount(ctx); return err == nil && n == 1 }, "a's presence")
	require.NoError(t, a.Close())
	n, err := b.ClientCount(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a's presence removed by Close (it would last PresenceTTL, 3 min)")
}
