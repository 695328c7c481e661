package hubtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/rawclient"
)

// TestHostileSteadyReaderOutlastsWriteTimeout: WriteTimeout means "no
// progress for that long", not "the whole backlog within that long". A
// client that reads 64 KiB every 50ms through a burst that takes many
// write timeouts to drain is not cut, and gets everything. The sockets'
// buffers are kept small on both ends, so that the hub's writes, not the
// kernel, wait for the reader.
func TestHostileSteadyReaderOutlastsWriteTimeout(t *testing.T, m Mount) {
	const (
		// A second and a half: a loaded machine may stall the reader
		// (or, on the standard path, the writer) for over a second,
		// which is no progress by any measure.
		writeTimeout = 1500 * time.Millisecond
		burst        = 192
		size         = 32 << 10 // 6 MiB at 1.25 MiB/s: over 4.8s
	)
	paths := []bool{false} // the standard path, forced
	if !standardPath() {
		paths = append(paths, true)
	}
	for _, detached := range paths {
		name := "standard"
		if detached {
			name = "detached"
		}
		t.Run(name, func(t *testing.T) {
			// The premise is a reader that makes progress at least
			// every WriteTimeout. A machine that stops this process
			// for a large part of it breaks the premise, not the hub:
			// an attempt cut while the process stalled that long is
			// made again, at most three times in all.
			for attempt := 1; ; attempt++ {
				stalls := watchStalls()
				took, err := steadyReaderAttempt(t, m, detached, writeTimeout, burst, size)
				stall := stalls()
				if err != nil && stall >= writeTimeout/3 && attempt < 3 {
					t.Logf("attempt %d cut after %v while this process stalled for %v: again", attempt, took.Round(time.Millisecond), stall.Round(time.Millisecond))
					continue
				}
				require.NoError(t, err, "a client reading steadily was cut after %v (WriteTimeout %v; longest stall of this process %v)", took.Round(time.Millisecond), writeTimeout, stall.Round(time.Millisecond))
				t.Logf("%d KiB read at 64 KiB every 50ms in %v: %.0f write timeouts", burst*size>>10, took.Round(time.Millisecond), took.Seconds()/writeTimeout.Seconds())
				require.Greater(t, took, 2*writeTimeout, "the premise: the burst took several write timeouts to drain")
				return
			}
		})
	}
}

// steadyReaderAttempt sends burst events of size bytes to a client that
// reads 64 KiB every 50ms, and returns how long reading them took and why
// it stopped short, if it did.
func steadyReaderAttempt(t *testing.T, m Mount, detached bool, writeTimeout time.Duration, burst, size int) (time.Duration, error) {
	ts := newTestServerSendBuffer(t, m, ssevent.Config{
		HeartbeatInterval: -1,
		WriteTimeout:      writeTimeout,
		QueueMaxBytes:     64 << 20, // above the burst: only the deadline could cut it
		QueueSize:         4 * burst,
		Logger:            discardLogger(),
		DisableTakeover:   !detached,
	}, 64<<10)
	rs := openRawWith(t, ts.addr(), "/events?channels=s", nil,
		rawclient.Options{RecvBuffer: 16 << 10, Wrap: paced(64<<10, 50*time.Millisecond)})
	start := time.Now()
	for i := range burst {
		require.NoError(t, ts.hub.Send("s", numbered(i, size)))
	}
	err := rs.readPlaces("s", burst)
	took := time.Since(start)
	if err == nil {
		require.Equal(t, 1, ts.hub.ClientCount())
	}
	return took, err
}

// watchStalls measures how long this process goes without running a
// goroutine that asks to run every 10ms; the function it returns stops
// the watch and reports the longest such stall beyond the 10ms.
func watchStalls() func() time.Duration {
	done := make(chan struct{})
	result := make(chan time.Duration, 1)
	go func() {
		const tick = 10 * time.Millisecond
		t := time.NewTicker(tick)
		defer t.Stop()
		var worst time.Duration
		last := time.Now()
		for {
			select {
			case <-done:
				result <- worst
				return
			case now := <-t.C:
				worst = max(worst, time.Since(last)-tick)
				last = now
			}
		}
	}()
	return func() time.Duration {
		close(done)
		return <-result
	}
}
