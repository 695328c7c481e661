package redisbroker_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
)

// roundTrips counts what a client sends to Redis: single commands and
// pipelines, each one round trip.
type roundTrips struct{ singles, pipelines, pipelined atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.singles.Add(1)
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.pipelines.Add(1)
		r.pipelined.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// countedBroker returns a Broker on a client of its own whose round trips
// are counted.
func countedBroker(t *testing.T, url, prefix string) (*redisbroker.Broker, *roundTrips) {
	t.Helper()
	o, err := redis.ParseURL(url)
	require.NoError(t, err)
	o.ContextTimeoutEnabled = true
	rdb := redis.NewClient(o)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	b := redisbroker.New(rdb, redisbroker.Options{Prefix: prefix})
	t.Cleanup(func() {
		_ = b.Close()
		_ = rdb.Close()
	})
	return b, rt
}

// When many streams end at once (a deploy, a network cut), each one's
// session record is saved at the same moment. All of them must be stored
// within the default Timeout, so that every client can resume: the saves
// share pipelines instead of one round trip each.
func TestConcurrentSavesShareRoundTrips(t *testing.T) {
	const workers, each = 1000, 20 // bounded: the race detector allows 8128 goroutines
	const n = workers * each
	url, prefix := redisURL(t), testPrefix(t)
	b, rt := countedBroker(t, url, prefix)

	hash := []byte{0, 1, 0xff, '\n'}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				k := w*each + i
				rec := server.SessionRecord{Channels: []string{"default", "c" + strconv.Itoa(k)}, Cursor: uint64(k), Owner: "u" + strconv.Itoa(k), KeyHash: hash}
				if err := b.SaveSession(context.Background(), fmt.Sprintf("id-%d", k), rec, time.Minute); err != nil {
					errs <- fmt.Errorf("save %d: %w", k, err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		require.NoError(t, err, "every save is stored within the default Timeout")
	}
	trips := rt.singles.Load() + rt.pipelines.Load()
	t.Logf("%d saves from %d goroutines in %v: %d pipelines carrying %d commands, %d single commands",
		n, workers, elapsed, rt.pipelines.Load(), rt.pipelined.Load(), rt.singles.Load())
	assert.Less(t, trips, int64(n/10), "the saves share round trips")

	// Every record is in Redis, as saved, with its expiry.
	check := newClient(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for lo := 0; lo < n; lo += 1000 {
		pipe := check.Pipeline()
		gets := make([]*redis.MapStringStringCmd, 0, 1000)
		ttls := make([]*redis.DurationCmd, 0, 1000)
		for k := lo; k < lo+1000; k++ {
			key := prefix + "s:id-" + strconv.Itoa(k)
			gets = append(gets, pipe.HGetAll(ctx, key))
			ttls = append(ttls, pipe.PTTL(ctx, key))
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		for i, get := range gets {
			k := lo + i
			v := get.Val()
			require.Equal(t, "default\nc"+strconv.Itoa(k), v["c"], "record %d", k)
			require.Equal(t, strconv.Itoa(k), v["l"], "record %d", k)
			require.Equal(t, "u"+strconv.Itoa(k), v["u"], "record %d", k)
			require.Equal(t, string(hash), v["k"], "record %d", k)
			require.NotEmpty(t, v["o"], "record %d", k)
			require.Greater(t, ttls[i].Val(), time.Duration(0), "record %d expires", k)
		}
	}
}

// A save whose context already ended fails as any call to Redis that ran
// out of time, and stores nothing.
func TestSaveWithEndedContextStoresNothing(t *testing.T) {
	url, prefix := redisURL(t), testPrefix(t)
	b, err := redisbroker.FromURL(url, redisbroker.Options{Prefix: prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = b.SaveSession(ctx, "gone", server.SessionRecord{Channels: []string{"default"}}, time.Minute)
	require.ErrorIs(t, err, redisbroker.ErrUnavailable)
	require.ErrorIs(t, err, server.ErrUnavailable)
	require.ErrorIs(t, err, context.Canceled)

	check := newClient(t, url)
	cctx, ccancel := context.WithTimeout(context.Background(), waitTimeout)
	defer ccancel()
	n, err := check.Exists(cctx, prefix+"s:gone").Result()
	require.NoError(t, err)
	require.Zero(t, n, "nothing stored")
}

// A Redis that lost its scripts (restarted, or SCRIPT FLUSH) still takes
// saves sent together.
func TestConcurrentSavesAfterScriptFlush(t *testing.T) {
	url, prefix := redisURL(t), testPrefix(t)
	b, rt := countedBroker(t, url, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	check := newClient(t, url)
	require.NoError(t, check.ScriptFlush(ctx).Err())

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for k := range n {
		wg.Go(func() {
			errs <- b.SaveSession(ctx, "f"+strconv.Itoa(k), server.SessionRecord{Channels: []string{"default"}, Cursor: uint64(k)}, time.Minute)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for k := range n {
		rec, ok, err := b.LoadSession(ctx, "f"+strconv.Itoa(k))
		require.NoError(t, err)
		require.True(t, ok, "record %d", k)
		require.EqualValues(t, k, rec.Cursor)
	}
	t.Logf("%d pipelines", rt.pipelines.Load())
}

// Saves queued when Redis stops answering fail within the Timeout, and
// Close returns with no sender left behind (TestMain checks goroutines).
func TestSavesFailWhenRedisHangs(t *testing.T) {
	// A listener that accepts and never answers: a Redis that hangs.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns sync.WaitGroup
	var held []net.Conn
	var mu sync.Mutex
	conns.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		conns.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	b, err := redisbroker.FromURL("redis://"+l.Addr().String(), redisbroker.Options{Prefix: testPrefix(t), Timeout: 300 * time.Millisecond})
	require.NoError(t, err)

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for k := range n {
		wg.Go(func() {
			errs <- b.SaveSession(context.Background(), "h"+strconv.Itoa(k), server.SessionRecord{Channels: []string{"default"}}, time.Minute)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.ErrorIs(t, err, redisbroker.ErrUnavailable)
	}
	require.NoError(t, b.Close())
}
