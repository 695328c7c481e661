package redisbroker_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/redistest"
	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
)

// fakeStreams is a hub's presence hook that the test sets: the sessions
// it lists, by id, and a signal at each call.
type fakeStreams struct {
	mu    sync.Mutex
	chs   map[string][]string
	calls chan struct{}
}

func newFakeStreams() *fakeStreams {
	return &fakeStreams{chs: map[string][]string{}, calls: make(chan struct{}, 1024)}
}

func (f *fakeStreams) set(id string, channels ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chs[id] = channels
}

func (f *fakeStreams) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.chs, id)
}

// snapshot is the hook: the sessions, sorted by id, as the hub lists them.
func (f *fakeStreams) snapshot() []server.SessionPresence {
	f.mu.Lock()
	out := make([]server.SessionPresence, 0, len(f.chs))
	for _, id := range slices.Sorted(maps.Keys(f.chs)) {
		out = append(out, server.SessionPresence{ID: id, Channels: slices.Clone(f.chs[id])})
	}
	f.mu.Unlock()
	select {
	case f.calls <- struct{}{}:
	default:
	}
	return out
}

// waitCalls waits for the presence loop to call the hook n times from now
// on: with n = 2, it stored (or tried to store) what the hook listed at
// the first.
func (f *fakeStreams) waitCalls(t *testing.T, n int) {
	t.Helper()
	for drained := false; !drained; {
		select {
		case <-f.calls:
		default:
			drained = true
		}
	}
	for range n {
		select {
		case <-f.calls:
		case <-time.After(waitTimeout):
			t.Fatal("the presence loop stopped calling its hook")
		}
	}
}

// startPresence starts a broker whose hub's streams are fs.
func startPresence(t *testing.T, u string, opts redisbroker.Options, bopts server.BrokerOptions, fs *fakeStreams) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.FromURL(u, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.StartCluster(bopts, func(server.Message) {}, server.ClusterHooks{Presence: fs.snapshot}))
	return b
}

// observer returns a broker that only reads the cluster's presence, as
// another hub does.
func observer(t *testing.T, u, prefix string) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.FromURL(u, redisbroker.Options{Prefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// seen reports whether the observer's ClientCount is n and its
// ClientsByChannel lists want for each channel.
func seen(ob *redisbroker.Broker, n int, want map[string][]string) bool {
	ctx := context.Background()
	if c, err := ob.ClientCount(ctx); err != nil || c != n {
		return false
	}
	for ch, ids := range want {
		got, err := ob.ClientsByChannel(ctx, ch)
		if err != nil || !slices.Equal(got, ids) {
			return false
		}
	}
	return true
}

// commandStats returns the calls of each command since the last CONFIG
// RESETSTAT, commands run by scripts included.
func commandStats(t *testing.T, rdb *redis.Client) map[string]int {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	require.NoError(t, err)
	out := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		n, err := strconv.Atoi(calls)
		require.NoError(t, err, line)
		out[strings.TrimPrefix(name, "cmdstat_")] = n
	}
	return out
}

// TestPresenceStoreCostsWhatChanged: once a hub with many streams has
// stored its presence, a store after one stream opens, one changes its
// channels and one ends costs Redis a command or two per change, not per
// stream, and the other hubs see the change.
func TestPresenceStoreCostsWhatChanged(t *testing.T) {
	r := redistest.Start(t) // its own: the test resets its statistics
	prefix := testPrefix(t)
	const n = 2000
	fs := newFakeStreams()
	var news []string
	for i := range n {
		id := fmt.Sprintf("s%05d", i)
		fs.set(id, "default", "news")
		news = append(news, id)
	}
	// No refresh falls due while the test counts, but at a slot's edge
	// (once an hour), where about n/25 records are refreshed.
	opts := redisbroker.Options{Prefix: prefix, PresenceInterval: time.Hour, PresenceSync: 10 * time.Millisecond}
	startPresence(t, r.URL(), opts, server.BrokerOptions{ResumeWindow: 100 * time.Hour}, fs)
	ob := observer(t, r.URL(), prefix)
	eventually(t, func() bool { return seen(ob, n, map[string][]string{"news": news}) }, "the first store")

	rdb := newClient(t, r.URL())
	require.NoError(t, rdb.ConfigResetStat(context.Background()).Err())
	fs.set("s-new", "default", "sport")
	fs.set("s00001", "default", "sport")
	fs.remove("s00002")
	news = slices.DeleteFunc(news, func(id string) bool { return id == "s00001" || id == "s00002" })
	eventually(t, func() bool {
		return seen(ob, n, map[string][]string{"news": news, "sport": {"s-new", "s00001"}})
	}, "the change")

	stats := commandStats(t, rdb)
	t.Logf("commands since the first store: %v", stats)
	require.Equal(t, 2, stats["hset"], "HSET: the session added and the one changed, not the hub's %d", n)
	require.Equal(t, 1, stats["hdel"], "HDEL: the session removed")
	require.Zero(t, stats["del"]+stats["unlink"], "the hash is not rewritten")
	require.Less(t, stats["pexpire"], n/10, "PEXPIRE: the records of the changed sessions (and a slot's, at its edge), not all %d", n)
}

// TestPresenceAfterAFailedStore: stores that fail while Redis hangs, one
// of which Redis may still run once it goes on, are followed by a store
// of the whole presence: the other hubs see the hub's streams as they are.
func TestPresenceAfterAFailedStore(t *testing.T) {
	r := redistest.Start(t)
	prefix := testPrefix(t)
	fs := newFakeStreams()
	fs.set("a", "news")
	fs.set("b", "news")
	startPresence(t, r.URL(), faultOpts(prefix), server.BrokerOptions{}, fs)
	ob := observer(t, r.URL(), prefix)
	eventually(t, func() bool { return seen(ob, 2, map[string][]string{"news": {"a", "b"}}) }, "the first store")

	r.Stop()
	t.Cleanup(r.Continue)
	fs.remove("b")
	fs.waitCalls(t, 2) // a store removing b was sent, and timed out
	fs.set("b", "news")
	fs.set("c", "news", "sport")
	fs.waitCalls(t, 2) // and another
	r.Continue()       // Redis runs what it was sent, then the stores to come

	want := map[string][]string{"news": {"a", "b", "c"}, "sport": {"c"}}
	eventually(t, func() bool { return seen(ob, 3, want) }, "the presence once Redis is back")
	fs.waitCalls(t, 30) // a few PresenceIntervals: stores of nothing changed
	require.True(t, seen(ob, 3, want), "the presence stays")
}

// TestPresenceRestoredWhenRedisLosesIt: a hub whose hash is deleted
// behind its back (evicted, or deleted by hand), or whose whole presence
// is lost (Redis lost its data), stores it whole at its next store.
func TestPresenceRestoredWhenRedisLosesIt(t *testing.T) {
	u, prefix := redisURL(t), testPrefix(t)
	fs := newFakeStreams()
	fs.set("a", "news")
	fs.set("b", "news")
	opts := redisbroker.Options{Prefix: prefix, PresenceInterval: time.Hour, PresenceSync: 10 * time.Millisecond}
	startPresence(t, u, opts, server.BrokerOptions{}, fs)
	ob := observer(t, u, prefix)
	eventually(t, func() bool { return seen(ob, 2, map[string][]string{"news": {"a", "b"}}) }, "the first store")

	rdb := newClient(t, u)
	ctx := context.Background()
	hubs, err := rdb.ZRange(ctx, prefix+"nodes", 0, -1).Result()
	require.NoError(t, err)
	require.Len(t, hubs, 1)
	require.NoError(t, rdb.Del(ctx, prefix+"n:"+hubs[0]).Err())
	require.True(t, seen(ob, 0, nil), "the hash is gone")
	fs.set("c", "news")
	eventually(t, func() bool { return seen(ob, 3, map[string][]string{"news": {"a", "b", "c"}}) }, "the presence after a change")

	require.NoError(t, rdb.Del(ctx, prefix+"n:"+hubs[0], prefix+"nodes").Err())
	require.True(t, seen(ob, 0, nil), "the presence is gone")
	fs.remove("a")
	eventually(t, func() bool { return seen(ob, 2, map[string][]string{"news": {"b", "c"}}) }, "the presence after a change")
}

// TestPresenceKeepsRecordsOfOpenStreams: the records of the sessions a
// hub lists stay while the others expire, although each store refreshes
// only some of them.
func TestPresenceKeepsRecordsOfOpenStreams(t *testing.T) {
	u, prefix := redisURL(t), testPrefix(t)
	fs := newFakeStreams()
	// Records expire 3 s after their last refresh (PresenceTTL +
	// ResumeWindow, and a quarter of that: the spread of the refreshes),
	// and each is refreshed every 0.6 s, in one of 3 slots.
	opts := redisbroker.Options{Prefix: prefix, PresenceInterval: 200 * time.Millisecond, PresenceTTL: 600 * time.Millisecond, PresenceSync: 20 * time.Millisecond}
	b := startPresence(t, u, opts, server.BrokerOptions{ResumeWindow: 1800 * time.Millisecond}, fs)
	ctx := context.Background()
	save := func(id string) {
		require.NoError(t, b.SaveSession(ctx, id, server.SessionRecord{Channels: []string{"news"}}, 0))
	}
	var open, gone []string
	for i := range 20 {
		id := "open" + strconv.Itoa(i)
		save(id)
		fs.set(id, "news")
		open = append(open, id)
	}
	for i := range 10 { // saved last: they would expire last
		id := "gone" + strconv.Itoa(i)
		save(id)
		gone = append(gone, id)
	}
	rdb := newClient(t, u)
	records := func(ids []string) int64 {
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = prefix + "s:" + id
		}
		n, err := rdb.Exists(ctx, keys...).Result()
		require.NoError(t, err)
		return n
	}
	eventually(t, func() bool { return records(gone) == 0 }, "the records of sessions no hub lists expire")
	require.EqualValues(t, len(open), records(open), "the records of the sessions the hub lists stay")
}
