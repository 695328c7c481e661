package hubtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestShutdownEndsStreams: http.Server.Shutdown and Close, the
// framework's own Shutdown and Close (Mount.Servers: Echo's), and
// Hub.Close end every stream, on either path,
// without the application registering anything: each stream gets a last
// retry field and a reconnect event asking its client to come back after
// a delay spread over [Retry, Retry+ReconnectJitter], then its body ends.
// Shutdown returns well within its context. A Close may cut streams served
// by net/http's own writer before they get the event; detached ones get
// it. An application that also calls Hub.Close from RegisterOnShutdown
// changes nothing.
func TestShutdownEndsStreams(t *testing.T, m Mount) {
	const (
		clients = 6
		retry   = 2 * time.Second
		jitter  = 3 * time.Second
		// Shutdown's context; it must return well within it.
		grace = 10 * time.Second
	)
	cfg := ssevent.Config{HeartbeatInterval: -1, Retry: retry, ReconnectJitter: jitter, Logger: discardLogger()}
	shutdown := func(ctx context.Context, ls *liveServer) error { return ls.srv.Shutdown(ctx) }
	closeSrv := func(_ context.Context, ls *liveServer) error { return ls.srv.Close() }
	type stopCase struct {
		name     string
		via      *Server // the framework's own server; nil for Serve
		register bool    // the application also closes the hub on shutdown
		stop     func(context.Context, *liveServer) error
		cuts     bool // may cut standard-path streams without the event
	}
	cases := []stopCase{
		{name: "Server.Shutdown", stop: shutdown},
		{name: "Server.Close", stop: closeSrv, cuts: true},
		{name: "Server.Shutdown with RegisterOnShutdown", register: true, stop: shutdown},
		{name: "Hub.Close", stop: func(ctx context.Context, ls *liveServer) error { return ls.hub.Close(ctx) }},
	}
	for i := range m.Servers {
		via := &m.Servers[i]
		frameworkShutdown := func(ctx context.Context, ls *liveServer) error { return ls.running.Shutdown(ctx) }
		cases = append(cases,
			stopCase{name: via.Name + ".Shutdown", via: via, stop: frameworkShutdown},
			stopCase{name: via.Name + ".Shutdown with RegisterOnShutdown", via: via, register: true, stop: frameworkShutdown})
		cases = append(cases, stopCase{name: via.Name + ".Close", via: via, cuts: true,
			stop: func(_ context.Context, ls *liveServer) error { return ls.running.Close() }})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ls := startLive(t, m, cfg, tc.via)
			if tc.via != nil && tc.cuts && ls.running.Close == nil {
				t.Skipf("%s has no Close", tc.via.Name)
			}
			if tc.register {
				ls.srv.RegisterOnShutdown(func() { _ = ls.hub.Close(context.Background()) })
			}
			streams := make([]*rawStream, clients)
			for i := range streams {
				streams[i] = openRaw(t, ls.addr, "/events", nil, 0)
			}
			require.Equal(t, clients, ls.hub.ClientCount())
			type ending struct {
				events    []string // names
				reconnect *shared.Reconnect
				retry     int64 // the stream's last retry field
				retries   int
				err       error
			}
			ends := make([]chan ending, clients)
			for i, rs := range streams {
				ends[i] = make(chan ending, 1)
				go func() {
					var end ending
					_ = rs.SetReadDeadline(time.Now().Add(grace))
					for {
						ev, err := rs.Events.Next()
						if err != nil {
							end.err = err
							break
						}
						end.events = append(end.events, ev.Name)
						if ev.Name == shared.EventReconnect {
							end.reconnect = new(shared.Reconnect)
							if err := json.Unmarshal(ev.Data, end.reconnect); err != nil {
								end.err = err
								break
							}
						}
					}
					end.retry, end.retries = rs.Events.LastRetry, rs.Events.Retries
					ends[i] <- end
				}()
			}

			ctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			start := time.Now()
			err := tc.stop(ctx, ls)
			took := time.Since(start)
			require.NoError(t, err, "after %v", took)
			assert.Less(t, took, grace/2, "%s took most of its context", tc.name)

			cutOK := tc.cuts && standardPath()
			retries := map[int64]bool{}
			told := 0 // streams that got the reconnect event
			for i := range ends {
				var end ending
				select {
				case end = <-ends[i]:
				case <-time.After(grace + time.Second):
					t.Fatalf("stream %d: the reader is stuck", i)
				}
				var ne net.Error
				if errors.As(end.err, &ne) && ne.Timeout() {
					t.Errorf("stream %d still open %v after %s began; events %v", i, grace, tc.name, end.events)
					continue
				}
				if end.reconnect == nil && cutOK {
					continue
				}
				if !assert.NotNil(t, end.reconnect, "stream %d: no reconnect event; events %v, end %v", i, end.events, end.err) {
					continue
				}
				assert.Equal(t, shared.EventReconnect, end.events[len(end.events)-1], "stream %d: the reconnect event is the last", i)
				n := 0
				for _, name := range end.events {
					if name == shared.EventReconnect {
						n++
					}
				}
				assert.Equal(t, 1, n, "stream %d: reconnect events", i)
				assert.Equal(t, shared.ReasonShutdown, end.reconnect.Reason, "stream %d", i)
				ms := end.reconnect.Retry
				assert.GreaterOrEqual(t, ms, retry.Milliseconds(), "stream %d: reconnect delay", i)
				assert.LessOrEqual(t, ms, (retry + jitter).Milliseconds(), "stream %d: reconnect delay", i)
				assert.GreaterOrEqual(t, end.retries, 2, "stream %d: retry fields (the first lines' and the last)", i)
				assert.Equal(t, ms, end.retry, "stream %d: the last retry field says what the reconnect event says", i)
				if !cutOK {
					assert.ErrorIs(t, end.err, io.EOF, "stream %d: the body ends cleanly", i)
				}
				retries[ms] = true
				told++
			}
			if told > 1 {
				assert.Greater(t, len(retries), 1, "all %d clients were told the same delay: %v", told, retries)
			}
			t.Logf("%s took %v; %d of %d streams told to come back, after %v ms", tc.name, took.Round(time.Millisecond), told, clients, keys(retries))
			eventually(t, func() bool { return ls.hub.ClientCount() == 0 }, "the hub to count no stream")
		})
	}
}

func keys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
