package ssevent_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// heldHead holds a stream's response head until released, as a server
// busy with other work would: the stream is open in the hub, and events
// queue for it, before its head is written.
type heldHead struct {
	http.ResponseWriter
	held, release chan struct{}
}

func (w *heldHead) WriteHeader(code int) {
	close(w.held)
	<-w.release
	w.ResponseWriter.WriteHeader(code)
}

func (w *heldHead) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// heldHeadCounter is heldHead as a BypassCounter: the hub still takes the
// stream over beneath it.
type heldHeadCounter struct{ *heldHead }

func (heldHeadCounter) CountBypassed(int64) {}

// Events published to a stream between its opening and its head being
// written, more than its queue holds, are not the client's doing: the
// stream is not cut as a slow consumer but gets them all, in order, after
// its connected event, read again from the history. On both paths.
func TestQueueOverflowBeforeTheHeadIsReplayed(t *testing.T) {
	for _, taken := range []bool{false, true} {
		t.Run(fmt.Sprintf("takenOver=%v", taken), func(t *testing.T) {
			hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1, QueueSize: 8})
			w := &heldHead{held: make(chan struct{}), release: make(chan struct{})}
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				w.ResponseWriter = rw
				if taken {
					hub.ServeHTTP(heldHeadCounter{w}, r)
				} else {
					hub.ServeHTTP(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { _ = hub.Close(context.Background()) })
			ctx := context.Background()

			type opened struct {
				resp *http.Response
				err  error
			}
			got := make(chan opened, 1)
			go func() {
				resp, err := http.Get(srv.URL + "?channels=a")
				got <- opened{resp, err}
			}()
			<-w.held
			const n = 40
			for i := range n {
				require.NoError(t, hub.Send(ctx, "a", i))
			}
			close(w.release)
			o := <-got
			require.NoError(t, o.err)
			defer o.resp.Body.Close()
			c := &feedClient{t: t, resp: o.resp, dec: shared.NewDecoder(o.resp.Body, 0)}
			require.Equal(t, shared.EventConnected, c.next().Name)
			for i := range n {
				_, p := payload(t, c.next())
				require.Equal(t, fmt.Sprint(i), p)
			}
			require.NoError(t, hub.Send(ctx, "a", "live"))
			_, p := payload(t, c.next())
			require.Equal(t, `"live"`, p)
			assert.Zero(t, hub.Stats().Disconnects[ssevent.DisconnectSlowConsumer])
			assert.Equal(t, taken, hub.Stats().StreamsTakenOver == 1)
		})
	}
}
