package hubtest

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/rawclient"
)

// TestHostileCatchUpBeyondQueue: a client comes back with far more to
// catch up than QueueSize events and QueueMaxBytes, while events keep
// coming, and reads at a steady 4 MiB/s. Its backlog is read from the
// history at its pace, so it is never cut for it: one stream brings every
// event, in order, once.
func TestHostileCatchUpBeyondQueue(t *testing.T, m Mount) {
	const (
		held = 5000    // over QueueSize (1024)
		live = 2000    // published while it catches up
		size = 1 << 10 // 5 MiB held: over QueueMaxBytes (1 MiB)
	)
	for _, tc := range []struct {
		name  string
		pause time.Duration // after every 20 live events; 0: as fast as Send goes
	}{
		{"throttled", time.Millisecond},
		{"unthrottled", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, HistorySize: 2 * (held + live), Logger: discardLogger()})
			c := ts.connect(t, url.Values{"channels": {"k"}})
			c.close()
			eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")
			for i := range held {
				require.NoError(t, ts.hub.Send("k", numbered(i, size)))
			}

			q := url.Values{"clientId": {c.id()}, "channels": {"k"}}
			c2 := openRawWith(t, ts.addr(), "/events?"+q.Encode(), ts.withKey(c.id(), lastID(nil, c.position)),
				rawclient.Options{RecvBuffer: 16 << 10, Wrap: paced(64<<10, 16*time.Millisecond)})
			require.True(t, c2.connected.Resumed)
			// Live events come while it catches up: the held
			// ones take over a second to read at its pace.
			published := make(chan error, 1)
			go func() {
				for i := held; i < held+live; i++ {
					if err := ts.hub.Send("k", numbered(i, size)); err != nil {
						published <- fmt.Errorf("live event %d: %w", i, err)
						return
					}
					if tc.pause > 0 && i%20 == 0 {
						time.Sleep(tc.pause)
					}
				}
				published <- nil
			}()
			start := time.Now()
			require.NoError(t, c2.readPlaces("k", held+live), "catching up on %d held and %d live events", held, live)
			require.NoError(t, <-published)
			t.Logf("caught up on %d held and %d live events of %d KiB in %v", held, live, size>>10, time.Since(start).Round(time.Millisecond))
			// Still the same stream, and live.
			require.Equal(t, 1, ts.hub.ClientCount())
			require.NoError(t, ts.hub.Send("k", "after"))
			ev := c2.next(t)
			require.Equal(t, `{"channel":"k","payload":"after"}`, string(ev.Data))
		})
	}
}
