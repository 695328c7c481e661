package redisbroker_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/redistest"
	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// epochOf opens a broker on prefix, reads its position as a hub does at
// start, and returns its epoch.
func epochOf(t *testing.T, redisURL, prefix string) string {
	t.Helper()
	b, err := redisbroker.FromURL(redisURL, redisbroker.Options{Prefix: prefix})
	require.NoError(t, err)
	defer b.Close()
	b.Position()
	e := b.Epoch()
	require.True(t, shared.ValidEpoch(e), "epoch %q", e)
	return e
}

func TestEpoch(t *testing.T) {
	r := redistest.Start(t) // of its own: the test flushes it
	prefix := testPrefix(t)
	first := epochOf(t, r.URL(), prefix)
	require.Equal(t, first, epochOf(t, r.URL(), prefix), "the same Redis, the same epoch")

	// Messages published do not change it.
	b, err := redisbroker.FromURL(r.URL(), redisbroker.Options{Prefix: prefix})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.Start(server.BrokerOptions{}, func(server.Message) {}))
	publish(t, b, server.Topic{Kind: server.TopicAll}, "1")
	require.Equal(t, first, b.Epoch())
	require.Equal(t, first, epochOf(t, r.URL(), prefix))

	require.NotEqual(t, first, epochOf(t, r.URL(), testPrefix(t)), "another prefix, another sequence")

	// Redis lost its data: a new sequence.
	rdb := newClient(t, r.URL())
	require.NoError(t, rdb.FlushAll(context.Background()).Err())
	again := epochOf(t, r.URL(), prefix)
	require.NotEqual(t, first, again)
	require.Equal(t, again, epochOf(t, r.URL(), prefix))
}

// TestEpochChangeEndsStreams: a hub that finds Redis came back without its
// data ends its streams; their clients learn of the gap and go on in the
// new epoch.
func TestEpochChangeEndsStreams(t *testing.T) {
	r := redistest.Start(t)
	n := newNode(t, "a", r.URL(), testPrefix(t), server.Config{})
	old := n.broker.Epoch()
	require.NotEmpty(t, old)
	cl := connect(t, n.url, url.Values{"channels": {"news"}})
	require.NoError(t, n.hub.Send("news", 1))
	cl.message()
	require.True(t, strings.HasPrefix(cl.lastID, old+"-"), "id %q in epoch %q", cl.lastID, old)

	r.Kill()
	r.Wipe()
	r.Restart()
	cl.ended()
	eventually(t, func() bool { e := n.broker.Epoch(); return e != old && e != "" }, "a new epoch")

	// The client resumes with the id it saw: of another epoch, so a gap.
	cr := connect(t, n.url, url.Values{"clientId": {cl.id()}}, http.Header{shared.HeaderLastEventID: {cl.lastID}})
	require.Equal(t, shared.EventGap, cr.next().Name)
	require.NoError(t, n.hub.Send("news", 2))
	env, _ := cr.message()
	require.JSONEq(t, "2", string(env.Payload))
	require.True(t, strings.HasPrefix(cr.lastID, n.broker.Epoch()+"-"), "id %q in epoch %q", cr.lastID, n.broker.Epoch())
}

// TestEpochChangeWhileRunning: the data is lost under a hub that stays
// connected (FLUSHALL): the next entry of the log shows it, before the
// reader is idle long enough to look.
func TestEpochChangeWhileRunning(t *testing.T) {
	r := redistest.Start(t)
	opts := clusterOpts
	opts.Prefix = testPrefix(t)
	opts.ReadBlock = time.Minute
	a := newNodeWith(t, "a", r.URL(), opts, server.Config{})
	old := a.broker.Epoch()
	cl := connect(t, a.url, url.Values{"channels": {"news"}})
	require.NoError(t, newClient(t, r.URL()).FlushAll(context.Background()).Err())
	require.NoError(t, a.hub.Send("news", 1))
	cl.ended()
	require.NotEqual(t, old, a.broker.Epoch())
}
