package hubtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestHostileReplayHoldsNoCopies: many clients ask to replay a big history
// and never read it. A replaying stream holds a position in the history,
// not a copy of it: the heap grows by at most QueueMaxBytes a stream (and
// a fixed slack), nothing in proportion to the history. When they read at
// last, each gets the whole history in order, once, then live events.
func TestHostileReplayHoldsNoCopies(t *testing.T, m Mount) {
	const (
		queueBytes = 256 << 10
		events     = 1000
		// slack covers what does not grow with the streams' number
		// nor with their backlog: an encoded copy of the history,
		// should the hub keep one, and the pool writers' buffers.
		slack = 24 << 20
	)
	n, size := 40, 16<<10 // 40 streams, a 16 MiB history
	if raceEnabled {
		// Reading 40 × 16 MiB takes a minute under the race
		// detector; this still tells one copy a stream from none.
		n, size = 16, 8<<10
	}
	ts := newTestServer(t, m, ssevent.Config{
		HeartbeatInterval:   -1,
		HistorySize:         events,
		HistoryMaxBytes:     64 << 20,
		QueueMaxBytes:       queueBytes,
		WriteTimeout:        time.Minute, // only the test ends these streams
		MaxTotalConnections: n + 8,
		Logger:              discardLogger(),
	})
	// The probe learns the ids, one event at a time: a burst of 16 MiB
	// would pass its QueueMaxBytes.
	probe := openRaw(t, ts.addr(), "/events?channels=h", nil, 0)
	from := probe.position
	ids := make([]string, events)
	for i := range events {
		require.NoError(t, ts.hub.Send("h", numbered(i, size)))
		ev := probe.next(t)
		k, err := placeIn(ev.Data, "h")
		require.NoError(t, err)
		require.Equal(t, i, k, "probe")
		ids[i] = ev.ID
	}
	probe.Close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the probe to leave")

	before := heapInUse()
	streams := make([]*rawStream, n)
	for i := range streams {
		streams[i] = openRaw(t, ts.addr(), "/events?channels=h", lastID(nil, from), stuckRecvBuffer)
		require.Equal(t, from, streams[i].position, "stream %d starts where it asked", i)
	}
	peak, samples := heapSettled(10 * time.Second)
	growth := int64(peak) - int64(before)
	bound := int64(n*queueBytes + slack)
	t.Logf("%d streams replaying a history of %d × %d KiB without reading: heap %s before, peak %s after %d samples: growth %s (bound %s; a copy of the history each would be %s)",
		n, events, size>>10, mib(int64(before)), mib(int64(peak)), samples, mib(growth), mib(bound), mib(int64(n*events*size)))
	require.LessOrEqual(t, growth, bound, "the heap grew with the history each stream replays")

	// Now they read: each gets the whole history, in order, once.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, rs := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range events {
				ev, err := rs.nextErr(30 * time.Second)
				switch {
				case err != nil:
					errs <- fmt.Errorf("stream %d, event %d: %w", i, k, err)
					return
				case ev.ID != ids[k]:
					errs <- fmt.Errorf("stream %d, event %d: id %s (%s), want %s", i, k, ev.ID, ev.Name, ids[k])
					return
				case !strings.Contains(string(ev.Data), fmt.Sprintf(`"payload":"%06d `, k)):
					errs <- fmt.Errorf("stream %d, event %d: data %.60s", i, k, ev.Data)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d streams read the replay (%s in all) in %v", n, mib(int64(n*events*size)), time.Since(start).Round(time.Millisecond))

	// And live events follow, with nothing in between.
	require.NoError(t, ts.hub.Send("h", "live"))
	for i, rs := range streams {
		ev := rs.next(t)
		require.Equal(t, shared.EventMessage, ev.Name, "stream %d", i)
		require.Equal(t, "live", payloadOf(t, ev.Data), "stream %d", i)
	}
}
