//go:build !wasm

package main

import (
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/wasmclient"
)

// The app's state machine: the view the model builds from the client's
// events (in the browser, the model's handlers call apply the same way),
// and the pages prerendered natively through go-app's test engine.
func TestDemoComponentEvents(t *testing.T) {
	e := app.NewTestEngine()
	page := &Demo{}
	require.NoError(t, e.Load(page))
	e.ConsumeAll()
	// Prerendered (no OnMount on the server): "connecting".
	require.NoError(t, app.Match(app.Text("connecting"), page, 0, 0, 2, 0))
	msgs := &Messages{}
	require.NoError(t, e.Load(msgs))
	e.ConsumeAll()
	require.NoError(t, app.Match(app.Text("connecting"), msgs, 0, 0, 2, 0))

	d := &view{feeds: map[string][]entry{}}
	for _, ev := range []wasmclient.Event{
		{Type: wasmclient.EventOpen},
		{Type: wasmclient.EventConnected, ClientID: "c1", Connected: &shared.Connected{ClientID: "c1", Channels: []string{"default", "news"}}},
		{Type: wasmclient.EventMessage, Channel: "news", ID: "1", Payload: []byte(`{"text":"<b>hi</b>","from":"x","time":"2026-01-02T03:04:05Z"}`)},
		{Type: wasmclient.EventMessage, Channel: clockChannel, Payload: []byte(`{"time":"2026-01-02T03:04:05Z","instance":"i","uptime":"1s","goroutines":7}`)},
		{Type: privateEvent, Payload: []byte(`{"text":"p","time":"x"}`)},
		{Type: broadcastEvent, Payload: []byte(`42`)},
		{Type: wasmclient.EventMessage, Channel: "", Payload: []byte(`{"text":"no channel"}`)},
	} {
		d.apply(ev, wasmclient.StateOpen)
	}
	assert.Equal(t, "open", d.state)
	assert.Equal(t, "c1", d.clientID)
	assert.Equal(t, []string{"default", "news"}, d.channels)
	assert.Equal(t, []string{"news", privateFeed, broadcastFeed}, d.order)
	assert.Equal(t, entry{ID: "1", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Local().Format("15:04:05"), From: "x", Text: "<b>hi</b>"}, d.feeds["news"][0])
	assert.Equal(t, "no channel", d.feeds[privateFeed][0].Text, "newest first")
	assert.Equal(t, "p", d.feeds[privateFeed][1].Text)
	assert.Equal(t, "42", d.feeds[broadcastFeed][0].Text, "a payload that is not a message is shown as JSON text")
	assert.Equal(t, "i", d.clock.Instance)
	assert.Contains(t, clockText(d.clock), "7 goroutines")

	d.apply(wasmclient.Event{Type: wasmclient.EventReconnecting, Attempt: 2, Delay: 1500 * time.Millisecond}, wasmclient.StateConnecting)
	assert.Equal(t, "reconnecting", d.state)
	assert.Equal(t, 1, d.reconnects)
	assert.Equal(t, "attempt 2 in 1.5s", d.detail)

	for range maxFeed + 5 {
		d.apply(wasmclient.Event{Type: wasmclient.EventMessage, Channel: "news", Payload: []byte(`{"text":"more"}`)}, wasmclient.StateOpen)
	}
	assert.Len(t, d.feeds["news"], maxFeed, "a feed keeps the newest messages")

	d.apply(wasmclient.Event{Type: wasmclient.EventError, Err: wasmclient.ErrStopped}, wasmclient.StateClosed)
	assert.Equal(t, "closed", d.state)
	assert.Equal(t, wasmclient.ErrStopped.Error(), d.detail)
	d.apply(wasmclient.Event{Type: wasmclient.EventGap}, wasmclient.StateOpen)
	assert.True(t, d.gapNotice)
}
