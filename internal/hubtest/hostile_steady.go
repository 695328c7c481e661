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
			require.NoError(t, err, "a client reading steadily was cut after %v (WriteTimeout %v)", took.Round(time.Millisecond), writeTimeout)
			t.Logf("%d KiB read at 64 KiB every 50ms in %v: %.0f write timeouts", burst*size>>10, took.Round(time.Millisecond), took.Seconds()/writeTimeout.Seconds())
			require.Greater(t, took, 2*writeTimeout, "the premise: the burst took several write timeouts to drain")
			require.Equal(t, 1, ts.hub.ClientCount())
		})
	}
}
