package hubtest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
)

// opaqueWriter stands for middleware that wraps the response writer and
// can flush, but hides the writer it wraps: no Unwrap, so
// http.ResponseController cannot reach the connection's deadlines.
type opaqueWriter struct{ w http.ResponseWriter }

func (o *opaqueWriter) Header() http.Header         { return o.w.Header() }
func (o *opaqueWriter) Write(b []byte) (int, error) { return o.w.Write(b) }
func (o *opaqueWriter) WriteHeader(code int)        { o.w.WriteHeader(code) }
func (o *opaqueWriter) Flush()                      { _ = http.NewResponseController(o.w).Flush() }

// hideWriter is middleware that wraps the response writer in an
// opaqueWriter.
func hideWriter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&opaqueWriter{w: w}, r)
	})
}

// TestHostileWrappedWriterDeadlines: behind middleware whose writer hides
// the one it wraps, write deadlines still hold. A client that stops
// reading is cut after about WriteTimeout (the queue is too big to cut it
// first), and Hub.Close and http.Server.Shutdown return within their
// context instead of waiting on a write that never ends.
func TestHostileWrappedWriterDeadlines(t *testing.T, m Mount) {
	const writeTimeout = 300 * time.Millisecond
	cfg := ssevent.Config{
		HeartbeatInterval: -1,
		WriteTimeout:      writeTimeout,
		QueueMaxBytes:     256 << 20,
		QueueSize:         100000,
		HistorySize:       -1,
		Logger:            discardLogger(),
	}
	// stall opens a stream that stops reading and fills every buffer on
	// the way to it, and returns when the burst is queued.
	stall := func(t *testing.T, ls *liveServer) {
		t.Helper()
		openRaw(t, ls.addr, "/events?channels=w", nil, stuckRecvBuffer)
		require.Equal(t, 1, ls.hub.ClientCount())
		big := strings.Repeat("x", 32<<10)
		for range 400 { // 12.5 MiB: far more than the sockets hold
			require.NoError(t, ls.hub.Send("w", big))
		}
	}
	t.Run("a stalled reader is cut", func(t *testing.T) {
		ls := startLive(t, m, cfg, nil, hideWriter)
		stall(t, ls)
		start := time.Now()
		for ls.hub.ClientCount() != 0 {
			if time.Since(start) > 10*writeTimeout {
				t.Fatalf("a client that reads nothing is still connected %v after the burst (WriteTimeout %v)", time.Since(start).Round(time.Millisecond), writeTimeout)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("cut %v after the burst was queued (WriteTimeout %v)", time.Since(start).Round(time.Millisecond), writeTimeout)
	})
	for _, tc := range []struct {
		name string
		stop func(context.Context, *liveServer) error
	}{
		{"Hub.Close returns", func(ctx context.Context, ls *liveServer) error { return ls.hub.Close(ctx) }},
		{"Server.Shutdown returns", func(ctx context.Context, ls *liveServer) error { return ls.srv.Shutdown(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := startLive(t, m, cfg, nil, hideWriter)
			stall(t, ls)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			err := tc.stop(ctx, ls)
			require.NoError(t, err, "after %v", time.Since(start).Round(time.Millisecond))
			t.Logf("returned after %v", time.Since(start).Round(time.Millisecond))
			eventually(t, func() bool { return ls.hub.ClientCount() == 0 }, "the stream to end")
		})
	}
}
