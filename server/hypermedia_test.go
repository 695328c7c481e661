package server_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/server"
)

// TestHypermediaThroughEcho: the Echo v4 handler serves the dialects as
// the core does: an htmx 2 stream gets channel-named HTML events, a
// Datastar one patch-elements events, from the adapter's methods.
func TestHypermediaThroughEcho(t *testing.T) {
	hub, err := server.NewHub(server.Config{HeartbeatInterval: -1})
	require.NoError(t, err)
	e := echo.New()
	e.GET("/events", hub.Handler)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		_ = hub.Close(context.Background())
		srv.Close()
	})
	htmx := ssetest.Open(t, srv.URL+"/events?channels=board&format=htmx2&lastEventId="+hub.LastEventID(), nil, nil)
	htmx.Connected(t)
	ds := ssetest.Open(t, srv.URL+"/events?channels=board", map[string][]string{"Datastar-Request": {"true"}}, nil)
	ds.Connected(t)

	require.NoError(t, hub.SendHTML("board", "<li>one</li>\n<li>two</li>"))
	require.NoError(t, hub.PatchElements("board", "<li>three</li>", server.WithSelector("#list"), server.WithMode(server.PatchAppend)))
	require.NoError(t, hub.PatchSignals("board", map[string]int{"count": 3}))
	assert.ErrorIs(t, hub.PatchElements("board", "<p></p>", server.WithMode("up")), server.ErrInvalidPatch)

	for _, want := range [][2]string{
		{"board", "<li>one</li>\n<li>two</li>"},
		{"board", "<li>three</li>"},
		{"board", `{"count":3}`},
	} {
		ev := htmx.Next(t, nil)
		assert.Equal(t, want, [2]string{ev.Name, string(ev.Data)})
	}
	for _, want := range [][2]string{
		{"datastar-patch-elements", "elements <li>one</li>\nelements <li>two</li>"},
		{"datastar-patch-elements", "selector #list\nmode append\nelements <li>three</li>"},
		{"datastar-patch-signals", `signals {"count":3}`},
	} {
		ev := ds.Next(t, nil)
		assert.Equal(t, want, [2]string{ev.Name, string(ev.Data)})
	}
}
