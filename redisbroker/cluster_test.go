package redisbroker_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/redistest"
	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

func TestThreeHubsActAsOne(t *testing.T) {
	u, prefix := redisURL(t), testPrefix(t)
	a := newNode(t, "a", u, prefix, server.Config{})
	b := newNode(t, "b", u, prefix, server.Config{})
	c := newNode(t, "c", u, prefix, server.Config{})
	nodes := []*node{a, b, c}

	ca := connect(t, a.url, url.Values{"channels": {"news"}})
	cb := connect(t, b.url, url.Values{"channels": {"news,sport"}})
	cc := connect(t, c.url, nil)

	for _, n := range nodes {
		eventually(t, func() bool { return n.hub.ClientCount() == 3 }, "ClientCount on %s", n.name)
	}
	want := []string{ca.id(), cb.id()}
	slices.Sort(want)
	require.Equal(t, want, c.hub.ClientsByChannel("news"))
	require.Equal(t, []string{cb.id()}, a.hub.ClientsByChannel("sport"))
	// Channels lists the cluster's channels on every hub, a page at a
	// time.
	for _, n := range nodes {
		require.Equal(t, []server.ChannelInfo{{Name: "default", Subscribers: 3}, {Name: "news", Subscribers: 2}, {Name: "sport", Subscribers: 1}},
			n.hub.Channels("", 0), "Channels on %s", n.name)
	}
	require.Equal(t, []server.ChannelInfo{{Name: "news", Subscribers: 2}}, b.hub.Channels("default", 1))
	require.Empty(t, b.hub.Channels("sport", 10))

	// Send, Broadcast and SendTo from each hub reach every matching client
	// once, in id order.
	var last [3]uint64
	check := func(cl *client, i int, channel, payload string) {
		t.Helper()
		env, id := cl.message()
		require.Equal(t, channel, env.Channel)
		require.JSONEq(t, payload, string(env.Payload))
		require.Greater(t, id, last[i])
		last[i] = id
	}
	for i, n := range nodes {
		p := strconv.Itoa(i)
		require.NoError(t, n.hub.Send("news", "news"+p))
		require.NoError(t, n.hub.Broadcast("all"+p))
		require.NoError(t, n.hub.SendTo(cc.id(), "to-c"+p))
		require.NoError(t, n.hub.SendTo(ca.id(), "to-a"+p))
		check(ca, 0, "news", `"news`+p+`"`)
		check(cb, 1, "news", `"news`+p+`"`)
		check(ca, 0, "", `"all`+p+`"`)
		check(cb, 1, "", `"all`+p+`"`)
		check(cc, 2, "", `"all`+p+`"`)
		check(cc, 2, "", `"to-c`+p+`"`)
		check(ca, 0, "", `"to-a`+p+`"`)
	}
	err := a.hub.SendTo("00000000-0000-4000-8000-000000000000", "x")
	require.ErrorIs(t, err, server.ErrUnknownClient)

	// A POST on another hub than the stream's: the hook runs where it
	// landed, and a Send published after the answer reaches the client.
	before := [3]int64{a.subs.Load(), b.subs.Load(), c.subs.Load()}
	code, resp := post(t, a.url, shared.ActionSubscribe, cc.id(), "news")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{"default", "news"}, resp.Channels)
	require.Equal(t, before[0]+1, a.subs.Load())
	require.Equal(t, before[1], b.subs.Load())
	require.Equal(t, before[2], c.subs.Load())
	require.NoError(t, b.hub.Send("news", "after-post"))
	check(cc, 2, "news", `"after-post"`)
	check(ca, 0, "news", `"after-post"`)
	check(cb, 1, "news", `"after-post"`)
	eventually(t, func() bool { return len(b.hub.ClientsByChannel("news")) == 3 }, "news has 3 clients")

	code, resp = post(t, b.url, shared.ActionUnsubscribe, cc.id(), "news")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{"default"}, resp.Channels)
	code, _ = post(t, b.url, shared.ActionSubscribe, "00000000-0000-4000-8000-000000000000", "news")
	require.Equal(t, http.StatusNotFound, code)
	// The channel limit is the cluster's: the record is checked in Redis.
	many := make([]string, server.DefaultMaxChannelsPerClient)
	for i := range many {
		many[i] = "ch" + strconv.Itoa(i)
	}
	code, _ = post(t, a.url, shared.ActionSubscribe, cc.id(), many...)
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.NoError(t, a.hub.Subscribe(cc.id(), "sport"))
	require.NoError(t, a.hub.Send("sport", "s"))
	check(cb, 1, "sport", `"s"`)
	check(cc, 2, "sport", `"s"`)

	// Unsubscribe(id) on a hub that does not hold the stream ends it.
	require.NoError(t, c.hub.Unsubscribe(cb.id()))
	cb.ended()
	require.ErrorIs(t, a.hub.SendTo(cb.id(), "x"), server.ErrUnknownClient)
	for _, n := range nodes {
		eventually(t, func() bool { return n.hub.ClientCount() == 2 }, "ClientCount on %s after Unsubscribe", n.name)
	}

	// ClearClients on one hub ends every stream of every hub.
	b.hub.ClearClients()
	ca.ended()
	cc.ended()
	require.ErrorIs(t, b.hub.SendTo(ca.id(), "x"), server.ErrUnknownClient)
	for _, n := range nodes {
		eventually(t, func() bool { return n.hub.ClientCount() == 0 }, "ClientCount on %s after ClearClients", n.name)
	}
}

func TestResumeOnAnotherHub(t *testing.T) {
	u, prefix := redisURL(t), testPrefix(t)
	a := newNode(t, "a", u, prefix, server.Config{})
	b := newNode(t, "b", u, prefix, server.Config{})
	c := newNode(t, "c", u, prefix, server.Config{})

	ca := connect(t, a.url, url.Values{"channels": {"news"}})
	id := ca.id()
	code, _ := post(t, b.url, shared.ActionSubscribe, id, "sport")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, b.hub.Send("sport", 0))
	ca.message()
	seen := ca.lastID

	// The client goes away; events are published while it is gone, from
	// the other hubs, including a private one.
	ca.close()
	eventually(t, func() bool { return c.hub.ClientCount() == 0 }, "the stream's end seen by the cluster")
	require.NoError(t, b.hub.Send("news", 1))
	require.NoError(t, c.hub.SendTo(id, 2))
	require.NoError(t, b.hub.Send("sport", 3))
	require.NoError(t, b.hub.Send("other", "not for it"))

	// It resumes on a third hub, with the id it saw last.
	h := http.Header{shared.HeaderLastEventID: {seen}}
	cr := connect(t, c.url, url.Values{"clientId": {id}, "channels": {"ignored"}}, h)
	require.True(t, cr.connected.Resumed)
	require.Equal(t, id, cr.id())
	require.Equal(t, []string{"default", "news", "sport"}, cr.connected.Channels)
	for i, ch := range []string{"news", "", "sport"} {
		env, _ := cr.message()
		require.Equal(t, ch, env.Channel)
		require.JSONEq(t, strconv.Itoa(i+1), string(env.Payload))
	}
	// Live events follow, from any hub, to the resumed session's channels.
	require.NoError(t, a.hub.Send("sport", 4))
	env, _ := cr.message()
	require.JSONEq(t, "4", string(env.Payload))

	// A new client replays a channel's history on any hub; an id older
	// than the history brings a gap event first.
	cn := connect(t, a.url, url.Values{"channels": {"news"}}, http.Header{shared.HeaderLastEventID: {seen}})
	env, _ = cn.message()
	require.Equal(t, "news", env.Channel)
	require.JSONEq(t, "1", string(env.Payload))
	old := shared.EventID{Epoch: b.broker.Epoch(), Seq: 1}.String()
	cg := connect(t, b.url, url.Values{"channels": {"news"}}, http.Header{shared.HeaderLastEventID: {old}})
	require.Equal(t, shared.EventGap, cg.next().Name)
	env, _ = cg.message()
	require.JSONEq(t, "1", string(env.Payload))
}

func TestRedisRestartMidStream(t *testing.T) {
	r := redistest.Start(t)
	prefix := testPrefix(t)
	a := newNode(t, "a", r.URL(), prefix, server.Config{HeartbeatInterval: 50 * time.Millisecond})
	b := newNode(t, "b", r.URL(), prefix, server.Config{HeartbeatInterval: 50 * time.Millisecond})
	cl := connect(t, b.url, url.Values{"channels": {"news"}})
	eventually(t, func() bool { return a.hub.ClientCount() == 1 }, "presence")

	// A publisher on a sends without pause; Redis is killed and restarted
	// under it. Every Send that returned nil must reach the client on b,
	// once, in order.
	var (
		mu       sync.Mutex
		accepted []int
		failed   int
	)
	stop := make(chan struct{})
	sawError := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var once sync.Once
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			err := a.hub.Send("news", i)
			mu.Lock()
			if err == nil {
				accepted = append(accepted, i)
			} else {
				failed++
				if errors.Is(err, redisbroker.ErrUnavailable) {
					once.Do(func() { close(sawError) })
				}
			}
			mu.Unlock()
		}
	}()
	waitAccepted := func(n int) {
		eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) >= n }, "%d sends accepted", n)
	}
	waitAccepted(50)
	r.Kill()
	select {
	case <-sawError:
	case <-time.After(waitTimeout):
		t.Fatal("Send did not fail while Redis was down")
	}
	mu.Lock()
	n := len(accepted)
	mu.Unlock()
	r.Restart()
	waitAccepted(n + 50)
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d sends accepted, %d refused", len(accepted), failed)
	got := make([]int, 0, len(accepted))
	var lastID uint64
	for len(got) < len(accepted) {
		env, id := cl.message() // the same stream: it stayed open
		require.Greater(t, id, lastID)
		lastID = id
		var v int
		require.NoError(t, json.Unmarshal(env.Payload, &v))
		if !slices.Contains(accepted, v) {
			continue // refused with a timeout after Redis ran it
		}
		got = append(got, v)
	}
	require.Equal(t, accepted, got)
}

func TestPublishWithoutRedis(t *testing.T) {
	r := redistest.Start(t)
	n := newNode(t, "a", r.URL(), testPrefix(t), server.Config{})
	r.Kill()
	err := n.hub.Send("news", 1)
	require.ErrorIs(t, err, redisbroker.ErrUnavailable)
	r.Restart()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for ctx.Err() == nil {
		if err = n.hub.Send("news", 2); err == nil {
			break
		}
	}
	require.NoError(t, err)
}
