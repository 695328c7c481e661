package ssevent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/shared"
)

// TestReplayGapByAge: events older than HistoryTTL are no longer held: a
// client that missed one is told of the gap, then gets what is held. The
// history's clock is moved forward rather than waited for.
func TestReplayGapByAge(t *testing.T) {
	hub := ssevent.New(ssevent.Config{HistoryTTL: time.Minute, HeartbeatInterval: -1})
	var offset atomic.Int64
	ssevent.SetHistoryClock(hub, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	srv := httptest.NewServer(hub)
	t.Cleanup(func() {
		_ = hub.Close(context.Background())
		srv.Close()
	})
	ctx := t.Context()
	endpoint := srv.URL + "/events"

	s := ssetest.Open(t, endpoint+"?"+url.Values{"channels": {"news"}}.Encode(), nil, nil)
	c, _ := s.Connected(t)
	require.NoError(t, hub.Send(ctx, "news", 1))
	ev := s.Next(t, nil)
	require.Equal(t, shared.EventMessage, ev.Name)
	s.Close()
	require.NoError(t, hub.Send(ctx, "news", 2))
	offset.Store(int64(2 * time.Minute)) // event 2 is now too old to keep
	require.NoError(t, hub.Send(ctx, "news", 3))

	h := http.Header{shared.HeaderLastEventID: {ev.ID}, shared.HeaderSessionKey: {c.SessionKey}}
	s2 := ssetest.Open(t, endpoint+"?"+url.Values{shared.QueryClientID: {c.ClientID}}.Encode(), h, nil)
	c2, _ := s2.Connected(t)
	assert.True(t, c2.Resumed)
	assert.Equal(t, shared.EventGap, s2.Next(t, nil).Name)
	ev = s2.Next(t, nil)
	require.Equal(t, shared.EventMessage, ev.Name)
	var env shared.Envelope
	require.NoError(t, json.Unmarshal(ev.Data, &env))
	assert.Equal(t, "news", env.Channel)
	assert.JSONEq(t, "3", string(env.Payload))
}
