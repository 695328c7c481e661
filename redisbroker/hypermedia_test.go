package redisbroker_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/server"
)

// TestHypermediaAcrossHubs: HTML and Datastar patches published on one
// hub reach the htmx and Datastar clients of another as those clients
// expect them, live and, after a reconnection with Last-Event-ID, from
// the history kept in Redis.
func TestHypermediaAcrossHubs(t *testing.T) {
	u, prefix := redisURL(t), testPrefix(t)
	a := newNode(t, "a", u, prefix, server.Config{HeartbeatInterval: -1})
	b := newNode(t, "b", u, prefix, server.Config{HeartbeatInterval: -1})
	ds := connect(t, b.url, url.Values{"channels": {"board"}}, http.Header{"Datastar-Request": {"true"}})
	hx := connect(t, b.url, url.Values{"channels": {"board"}, "format": {"htmx4"}})

	require.NoError(t, a.hub.SendHTML("board", "<li>one</li>"))
	require.NoError(t, a.hub.PatchElements("board", "<li>two</li>", server.WithSelector("#list"), server.WithMode(server.PatchPrepend)))
	require.NoError(t, a.hub.PatchSignals("board", map[string]int{"n": 2}, server.OnlyIfMissing()))

	wantDS := [][2]string{
		{"datastar-patch-elements", "elements <li>one</li>"},
		{"datastar-patch-elements", "selector #list\nmode prepend\nelements <li>two</li>"},
		{"datastar-patch-signals", "onlyIfMissing true\nsignals {\"n\":2}"},
	}
	wantHX := [][2]string{
		{"message", "<li>one</li>"},
		{"message", `<hx-partial hx-target="#list" hx-swap="afterbegin"><li>two</li></hx-partial>`},
		{"board", `{"n":2}`},
	}
	var first string
	for i, want := range wantDS {
		ev := ds.next()
		assert.Equal(t, want, [2]string{ev.Name, string(ev.Data)})
		if i == 0 {
			first = ev.ID
		}
	}
	for _, want := range wantHX {
		ev := hx.next()
		assert.Equal(t, want, [2]string{ev.Name, string(ev.Data)})
	}

	// From the history in Redis: everything after the first event.
	again := connect(t, a.url, url.Values{"channels": {"board"}, "format": {"datastar"}}, http.Header{"Last-Event-ID": {first}})
	for _, want := range wantDS[1:] {
		ev := again.next()
		assert.Equal(t, want, [2]string{ev.Name, string(ev.Data)})
	}
}
