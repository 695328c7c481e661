package hubtest

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestHostileBurstStalledReaders: many clients stop reading during a big
// burst. Events are shared by the streams they are queued on, so the heap
// grows by at most QueueMaxBytes a stream (and a fixed slack), whichever
// path writes them; past that the streams are cut as slow consumers, and
// each one, reconnecting with the last id it got, receives everything
// else, in order, once.
func TestHostileBurstStalledReaders(t *testing.T, m Mount) {
	const (
		queueBytes = 256 << 10
		burst      = 150
		size       = 30 << 10 // a burst of 4.4 MiB
	)
	n := 40
	if raceEnabled {
		n = 16
	}
	// The history holds the burst, and the hub may keep an encoded
	// copy; the rest of the slack is buffers that do not grow with the
	// backlog.
	slack := int64(2*burst*size + 8<<20)
	ts := newTestServer(t, m, ssevent.Config{
		HeartbeatInterval:   -1,
		QueueMaxBytes:       queueBytes,
		QueueSize:           4 * burst, // only the bytes can cut them
		WriteTimeout:        time.Minute,
		HistorySize:         1000,
		HistoryMaxBytes:     64 << 20,
		MaxTotalConnections: n,
		Logger:              discardLogger(),
	})

	streams := make([]*rawStream, n)
	for i := range streams {
		streams[i] = openRaw(t, ts.addr(), "/events?channels=b", nil, stuckRecvBuffer)
	}
	before := heapInUse()
	for i := range burst {
		require.NoError(t, ts.hub.Send("b", numbered(i, size)))
	}
	// Sample the heap until the stalled streams are cut.
	var peak uint64
	samples := 0
	deadline := time.Now().Add(waitTimeout)
	for {
		peak = max(peak, heapInUse())
		samples++
		if ts.hub.ClientCount() == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	growth := int64(peak) - int64(before)
	bound := int64(n*queueBytes) + slack
	t.Logf("%d stalled streams through a burst of %d × %d KiB: heap %s before, peak %s over %d samples: growth %s (bound %s; a copy of the burst each would be %s)",
		n, burst, size>>10, mib(int64(before)), mib(int64(peak)), samples, mib(growth), mib(bound), mib(int64(n*burst*size)))
	require.LessOrEqual(t, growth, bound, "the heap grew with the backlog of stalled streams")
	require.Equal(t, 0, ts.hub.ClientCount(), "the stalled streams were not cut as slow consumers within %v", waitTimeout)

	// Each reads what reached it before the cut, then reconnects with
	// the last id it got and catches up on the rest.
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, rs := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := catchUpAfterCut(ts, rs, burst); err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// catchUpAfterCut reads the rest of a stream the server cut, then resumes
// its session with the last event id it got, and checks that the two
// streams together hold the numbered events 0 to total-1, in order, once.
func catchUpAfterCut(ts *testServer, rs *rawStream, total int) error {
	seen := 0 // the next event expected
	last := rs.position
	check := func(ev eventLike) error {
		if ev.name != shared.EventMessage {
			return fmt.Errorf("event %q (%.60s) at %d", ev.name, ev.data, seen)
		}
		k, err := placeIn(ev.data, "b")
		if err != nil {
			return fmt.Errorf("at %d: %w", seen, err)
		}
		if k != seen {
			return fmt.Errorf("event %d where %d was due", k, seen)
		}
		seen++
		last = ev.id
		return nil
	}
	_ = rs.SetReadDeadline(time.Now().Add(waitTimeout))
	for {
		ev, err := rs.Events.Next()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("the first stream was not cut: %w", err)
			}
			break // cut: what was in flight is lost, as in a browser
		}
		if ev.Name == shared.EventHeartbeat {
			continue
		}
		if err := check(eventLike{ev.ID, ev.Name, ev.Data}); err != nil {
			return fmt.Errorf("first stream: %w", err)
		}
	}
	rs.Close()
	got := seen
	q := url.Values{"channels": {"b"}, "clientId": {rs.connected.ClientID}}
	h := lastID(nil, last)
	h.Set(shared.HeaderSessionKey, rs.connected.SessionKey)
	again, err := openRawErr(ts.addr(), "/events?"+q.Encode(), h, 0)
	if err != nil {
		return err
	}
	defer again.Close()
	if !again.connected.Resumed {
		return errors.New("the session did not resume")
	}
	for seen < total {
		ev, err := again.nextErr(waitTimeout)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("the second stream ended at %d", seen)
			}
			return fmt.Errorf("second stream at %d: %w", seen, err)
		}
		if err := check(eventLike{ev.ID, ev.Name, ev.Data}); err != nil {
			return fmt.Errorf("second stream (after %d on the first): %w", got, err)
		}
	}
	// Nothing more was due: a live event comes next.
	if err := ts.hub.SendTo(rs.connected.ClientID, "live"); err != nil {
		return err
	}
	ev, err := again.nextErr(waitTimeout)
	if err != nil {
		return fmt.Errorf("waiting for a live event: %w", err)
	}
	if ev.Name != shared.EventMessage || string(ev.Data) != `{"channel":"","payload":"live"}` {
		return fmt.Errorf("after the replay: %s %.60s", ev.Name, ev.Data)
	}
	return nil
}

type eventLike struct {
	id, name string
	data     []byte
}
