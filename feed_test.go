package ssevent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// feedClient is a stream read over HTTP/1.1, taken over by the hub, so
// that it is fed once live.
type feedClient struct {
	t      *testing.T
	resp   *http.Response
	dec    *shared.Decoder
	id     string
	key    string
	last   uint64 // the last event id read
	lastID string // and as sent
}

func openFeedClient(t *testing.T, hub *ssevent.Hub, base string, query string, header http.Header) *feedClient {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"?"+query, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, http.StatusOK, resp.StatusCode)
	c := &feedClient{t: t, resp: resp, dec: shared.NewDecoder(resp.Body, 0)}
	ev := c.next()
	require.Equal(t, shared.EventConnected, ev.Name)
	var conn shared.Connected
	require.NoError(t, json.Unmarshal(ev.Data, &conn))
	c.id, c.key = conn.ClientID, conn.SessionKey
	waitFor(t, func() bool { return ssevent.Fed(hub, c.id) }, "the stream to be fed")
	return c
}

// next returns the next event, checking that ids only grow.
func (c *feedClient) next() shared.Event {
	c.t.Helper()
	ev, err := c.dec.Next()
	require.NoError(c.t, err)
	// Other events carry no id: the decoder repeats the last one, as
	// EventSource does.
	if ev.Name == shared.EventMessage {
		id, err := shared.ParseEventID(ev.ID)
		require.NoError(c.t, err)
		require.Greater(c.t, id.Seq, c.last, "event ids in order, each once (%s after %s: %.40q)", ev.ID, c.lastID, ev.Data)
		c.last, c.lastID = id.Seq, ev.ID
	}
	return ev
}

// payload returns a message event's channel and payload.
func payload(t *testing.T, ev shared.Event) (string, string) {
	t.Helper()
	require.Equal(t, shared.EventMessage, ev.Name, "data %s", ev.Data)
	var env shared.Envelope
	require.NoError(t, json.Unmarshal(ev.Data, &env))
	return env.Channel, string(env.Payload)
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func newFeedHub(t *testing.T, cfg ssevent.Config) (*ssevent.Hub, *httptest.Server) {
	t.Helper()
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = -1
	}
	hub := ssevent.New(cfg)
	srv := httptest.NewServer(hub)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	return hub, srv
}

// A fed stream gets its two channels' messages, the broadcasts and the
// messages sent to its client, published at once from four goroutines,
// each once and in id order, which is the order the hub published them.
// Its channel's feed keeps nothing once read.
func TestFedStreamMergesEveryTopicInOrder(t *testing.T) {
	hub, srv := newFeedHub(t, ssevent.Config{})
	c := openFeedClient(t, hub, srv.URL, "channels=a,b", nil)
	ctx := context.Background()
	const n = 400
	var wg sync.WaitGroup
	publish := func(send func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := send(i); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	publish(func(i int) error { return hub.Send(ctx, "a", fmt.Sprint("a:", i)) })
	publish(func(i int) error { return hub.Send(ctx, "b", fmt.Sprint("b:", i)) })
	publish(func(i int) error { return hub.Broadcast(ctx, fmt.Sprint("all:", i)) })
	publish(func(i int) error { return hub.SendTo(ctx, c.id, fmt.Sprint("to:", i)) })

	// Each goroutine publishes in turn, so its events come in its order.
	next := map[string]int{}
	for range 4 * n {
		_, p := payload(t, c.next())
		var from string
		var i int
		_, err := fmt.Sscanf(strings.ReplaceAll(strings.Trim(p, `"`), ":", " "), "%s %d", &from, &i)
		require.NoError(t, err, p)
		require.Equal(t, next[from], i, "from %s", from)
		next[from]++
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"a": n, "b": n, "all": n, "to": n}, next)
	waitFor(t, func() bool { return ssevent.FeedFrames(hub, "a") == 0 }, "the feed to keep no frame its only reader has")
	assert.Equal(t, int64(0), hub.Stats().QueuedBytes)
}

// A fed stream unsubscribed from a channel while it has not read what was
// published there gets it all the same, as a queued stream would: it was
// published while the client was subscribed. What is published after does
// not reach it.
func TestFedStreamUnsubscribedGetsWhatItHadNotRead(t *testing.T) {
	hub, c := backlog(t)
	ctx := context.Background()
	require.NoError(t, hub.Unsubscribe(ctx, c.id, "a"))
	require.NoError(t, hub.Send(ctx, "a", "after"))
	require.NoError(t, hub.SendTo(ctx, c.id, "end"))

	c.readBacklog()
	ev := c.next()
	require.Equal(t, shared.EventChannels, ev.Name)
	assert.JSONEq(t, `{"channels":["default"]}`, string(ev.Data))
	_, p := payload(t, c.next())
	assert.Equal(t, `"end"`, p, "nothing published after the unsubscribe")
}

// backlogEvents of backlogPayload bytes each are more than the socket
// buffers hold.
const backlogEvents, backlogPayload = 400, 32 << 10

// backlog opens a fed stream on channel "a" and publishes backlogEvents
// to it that the client does not read: most of them wait in the feed.
func backlog(t *testing.T) (*ssevent.Hub, *feedClient) {
	hub, srv := newFeedHub(t, ssevent.Config{QueueSize: 4096, QueueMaxBytes: 64 << 20, WriteTimeout: time.Minute})
	c := openFeedClient(t, hub, srv.URL, "channels=a", nil)
	for i := range backlogEvents {
		require.NoError(t, hub.Send(context.Background(), "a", backlogEvent(i)))
	}
	waitFor(t, func() bool { return hub.Stats().QueuedBytes > 0 }, "events waiting for the client")
	return hub, c
}

func backlogEvent(i int) string { return fmt.Sprint(i, strings.Repeat("x", backlogPayload)) }

// readBacklog reads what backlog published, in order.
func (c *feedClient) readBacklog() {
	c.t.Helper()
	for i := range backlogEvents {
		ch, p := payload(c.t, c.next())
		require.Equal(c.t, "a", ch)
		require.Equal(c.t, fmt.Sprintf("%q", backlogEvent(i)), p, "event %d", i)
	}
}

// A fed stream that stops reading is cut as a slow consumer once its lag
// passes the queue's bound, while a client that reads gets everything; the
// feed then keeps nothing for the client that left.
func TestFedStreamThatStopsReadingIsCut(t *testing.T) {
	hub, srv := newFeedHub(t, ssevent.Config{QueueSize: 64, WriteTimeout: time.Minute})
	reader := openFeedClient(t, hub, srv.URL, "channels=bulk", nil)
	stuck := openFeedClient(t, hub, srv.URL, "channels=bulk", nil)
	ctx := context.Background()
	big := strings.Repeat("x", 16<<10)
	sent, read := 0, 0
	for hub.Stats().Disconnects[ssevent.DisconnectSlowConsumer] == 0 {
		require.Less(t, sent, 10000, "the stuck client was never cut")
		require.NoError(t, hub.Send(ctx, "bulk", fmt.Sprint(sent, big)))
		sent++
		for ; read < sent && sent%32 == 0; read++ {
			_, p := payload(t, reader.next())
			require.Equal(t, fmt.Sprintf("%q", fmt.Sprint(read, big)), p)
		}
	}
	require.NoError(t, hub.Send(ctx, "bulk", "end"))
	for ; read < sent; read++ {
		_, p := payload(t, reader.next())
		require.Equal(t, fmt.Sprintf("%q", fmt.Sprint(read, big)), p)
	}
	_, p := payload(t, reader.next())
	require.Equal(t, `"end"`, p)
	assert.Equal(t, []string{reader.id}, hub.ClientsByChannel(ctx, "bulk"))
	assert.Equal(t, 0, ssevent.FeedFrames(hub, "bulk"), "the feed keeps nothing its only reader has")
	_ = stuck
}

// A fed stream that reconnects replays what it missed from the history,
// then is fed again, each event once, in order.
func TestFedStreamResumesAndIsFedAgain(t *testing.T) {
	hub, srv := newFeedHub(t, ssevent.Config{})
	ctx := context.Background()
	c := openFeedClient(t, hub, srv.URL, "channels=a", nil)
	for i := range 3 {
		require.NoError(t, hub.Send(ctx, "a", i))
		_, p := payload(t, c.next())
		require.Equal(t, fmt.Sprint(i), p)
	}
	c.resp.Body.Close()
	waitFor(t, func() bool { return hub.ClientCount(ctx) == 0 }, "the stream to end")
	for i := 3; i < 8; i++ {
		require.NoError(t, hub.Send(ctx, "a", i))
	}
	again := openFeedClient(t, hub, srv.URL, "clientId="+c.id, http.Header{
		shared.HeaderSessionKey: {c.key},
		"Last-Event-ID":         {c.lastID},
	})
	again.last = c.last
	for i := 8; i < 11; i++ {
		require.NoError(t, hub.Send(ctx, "a", i))
	}
	for i := 3; i < 11; i++ {
		_, p := payload(t, again.next())
		require.Equal(t, fmt.Sprint(i), p)
	}
}

// Fed streams whose subscription to a channel comes and goes while the
// channel is published to get each event once, in order, and everything
// published once they are subscribed for good.
func TestFedStreamsChurnWhilePublished(t *testing.T) {
	hub, srv := newFeedHub(t, ssevent.Config{})
	ctx := context.Background()
	clients := make([]*feedClient, 6)
	for i := range clients {
		clients[i] = openFeedClient(t, hub, srv.URL, "channels=x", nil)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // publishes until told to stop
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := hub.Send(ctx, "x", i); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var readers sync.WaitGroup
	for _, c := range clients {
		readers.Add(1)
		go func() { // reads until the end marker, checking the order
			defer readers.Done()
			final := 0
			for {
				ev, err := c.dec.Next()
				if err != nil {
					t.Errorf("%s: %v", c.id, err)
					return
				}
				if ev.Name != shared.EventMessage {
					continue
				}
				id, err := shared.ParseEventID(ev.ID)
				if err != nil || id.Seq <= c.last {
					t.Errorf("%s: id %s after %s", c.id, ev.ID, c.lastID)
					return
				}
				c.last, c.lastID = id.Seq, ev.ID
				var env shared.Envelope
				if err := json.Unmarshal(ev.Data, &env); err != nil {
					t.Error(err)
					return
				}
				switch p := string(env.Payload); {
				case p == `"end"`:
					if final != 20 {
						t.Errorf("%s: %d of the 20 final events", c.id, final)
					}
					return
				case strings.HasPrefix(p, `"final`):
					if want := fmt.Sprintf(`"final %d"`, final); p != want {
						t.Errorf("%s: %s, want %s", c.id, p, want)
					}
					final++
				}
			}
		}()
	}
	for range 50 {
		for _, c := range clients {
			require.NoError(t, hub.Unsubscribe(ctx, c.id, "x"))
		}
		for _, c := range clients {
			require.NoError(t, hub.Subscribe(ctx, c.id, "x"))
		}
	}
	close(stop)
	wg.Wait()
	for i := range 20 {
		require.NoError(t, hub.Send(ctx, "x", fmt.Sprint("final ", i)))
	}
	for _, c := range clients {
		require.NoError(t, hub.SendTo(ctx, c.id, "end"))
	}
	readers.Wait()
	for _, c := range clients {
		assert.True(t, ssevent.Fed(hub, c.id), "%s is still fed", c.id)
	}
}

// When the hub closes, a fed stream writes what its feed holds for it,
// then the reconnect event, as a queued stream writes its queue.
func TestFedStreamWritesItsFeedWhenTheHubCloses(t *testing.T) {
	hub, c := backlog(t)
	closed := make(chan error, 1)
	go func() { closed <- hub.Close(context.Background()) }()
	c.readBacklog()
	assert.Equal(t, shared.EventReconnect, c.next().Name)
	require.NoError(t, <-closed)
}

// On one channel, fed streams (HTTP/1.1, taken over) and queued ones
// (HTTP/2 without TLS, the standard path) each get every event once, in
// order, broadcasts included, while a third client subscribes and
// unsubscribes.
func TestFedAndQueuedStreamsShareAChannel(t *testing.T) {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	srv := httptest.NewUnstartedServer(hub)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	ctx := context.Background()

	fed := openFeedClient(t, hub, srv.URL, "channels=a", nil)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "?channels=a")
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	require.Equal(t, 2, resp.ProtoMajor)
	queued := &feedClient{t: t, resp: resp, dec: shared.NewDecoder(resp.Body, 0)}
	require.Equal(t, shared.EventConnected, queued.next().Name)
	churner := openFeedClient(t, hub, srv.URL, "channels=b", nil)

	const n = 300
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 30 {
			if hub.Subscribe(ctx, churner.id, "a") != nil || hub.Unsubscribe(ctx, churner.id, "a") != nil {
				return
			}
		}
	}()
	for i := range n {
		if i%3 == 0 {
			require.NoError(t, hub.Broadcast(ctx, fmt.Sprint(i)))
		} else {
			require.NoError(t, hub.Send(ctx, "a", i))
		}
	}
	<-done
	for _, c := range []*feedClient{fed, queued} {
		for i := 0; i < n; {
			ev := c.next()
			if ev.Name != shared.EventMessage {
				continue
			}
			_, p := payload(t, ev)
			want := fmt.Sprint(i)
			if i%3 == 0 {
				want = fmt.Sprintf("%q", fmt.Sprint(i))
			}
			require.Equal(t, want, p)
			i++
		}
	}
}

// Streams in htmx's and Datastar's forms are fed too, from feeds of their
// own: each gets every message of its channel and every broadcast once,
// in order, with a JSON stream on the same channel.
func TestFedStreamsInEveryDialect(t *testing.T) {
	hub, srv := newFeedHub(t, ssevent.Config{})
	ctx := context.Background()
	var clients []*feedClient
	for _, format := range []string{"json", "htmx2", "htmx4", "datastar"} {
		clients = append(clients, openFeedClient(t, hub, srv.URL, "channels=a&format="+format, nil))
	}
	const n = 120
	for i := range n {
		if i%4 == 0 {
			require.NoError(t, hub.Broadcast(ctx, fmt.Sprint(i)))
		} else {
			require.NoError(t, hub.Send(ctx, "a", fmt.Sprint(i)))
		}
	}
	for _, c := range clients {
		for i := 0; i < n; {
			ev, err := c.dec.Next()
			require.NoError(t, err)
			if ev.ID == "" || ev.ID == c.lastID {
				continue // no id: not a message
			}
			id, err := shared.ParseEventID(ev.ID)
			require.NoError(t, err)
			require.Greater(t, id.Seq, c.last, "%s after %s", ev.ID, c.lastID)
			c.last, c.lastID = id.Seq, ev.ID
			require.Contains(t, string(ev.Data), fmt.Sprint(i), "event %d", i)
			i++
		}
	}
}
