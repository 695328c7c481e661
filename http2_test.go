package ssevent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// An HTTP/2 stream outlives WriteTimeout: the deadline bounds a write that
// makes no progress, not the stream's idle time. Go's HTTP/2 server resets
// a stream whose write deadline passes even with no write pending, so a
// deadline left set after a write used to reset every stream idle for
// longer than WriteTimeout (seen by the hub as client_gone).
func TestHTTP2StreamOutlivesWriteTimeout(t *testing.T) {
	const wt = 300 * time.Millisecond
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1, WriteTimeout: wt})
	srv := httptest.NewUnstartedServer(hub)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	ctx := context.Background()

	resp, err := srv.Client().Get(srv.URL + "?channels=a")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	dec := shared.NewDecoder(resp.Body, 0)
	ev, err := dec.Next()
	require.NoError(t, err)
	require.Equal(t, shared.EventConnected, ev.Name)

	expect := func(payload string) {
		t.Helper()
		ev, err := dec.Next()
		require.NoError(t, err, "the stream ended (disconnects: %v)", hub.Stats().Disconnects)
		var env shared.Envelope
		require.NoError(t, json.Unmarshal(ev.Data, &env))
		require.Equal(t, payload, string(env.Payload))
	}
	// Busy for a while, then idle for twice WriteTimeout after each of
	// the first write and a later one: nothing to await but the time.
	for i := range 3 {
		require.NoError(t, hub.Send(ctx, "a", i))
		expect(fmt.Sprint(i))
	}
	time.Sleep(2 * wt)
	require.NoError(t, hub.Send(ctx, "a", "after"))
	expect(`"after"`)
	time.Sleep(2 * wt)
	require.NoError(t, hub.Send(ctx, "a", "again"))
	expect(`"again"`)
	require.Empty(t, hub.Stats().Disconnects, "no stream ended")
}
