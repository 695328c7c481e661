package ssevent_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/shared"
)

func newDialectHub(t *testing.T) (*ssevent.Hub, string) {
	t.Helper()
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	srv := httptest.NewServer(hub)
	t.Cleanup(func() {
		_ = hub.Close(context.Background())
		srv.Close()
	})
	return hub, srv.URL + "/events"
}

// got is an event as a test compares it: its name (unnamed events are
// "message" events) and data.
type got struct{ name, data string }

func nextGot(t *testing.T, s *ssetest.Stream) (got, string) {
	t.Helper()
	ev := s.Next(t, nil)
	return got{ev.Name, string(ev.Data)}, ev.ID
}

// TestDialectsPerStream: one publication of each kind reaches a stream of
// each dialect, chosen by ?format= or by the client's request header, as
// that client expects it, with the same ids everywhere.
func TestDialectsPerStream(t *testing.T) {
	hub, endpoint := newDialectHub(t)
	ctx := t.Context()
	open := func(format string, header http.Header) *ssetest.Stream {
		q := url.Values{"channels": {"news"}}
		if format != "" {
			q.Set(ssevent.QueryFormat, format)
		}
		s := ssetest.Open(t, endpoint+"?"+q.Encode(), header, nil)
		s.Connected(t)
		return s
	}
	streams := map[string]*ssetest.Stream{
		"json":     open("", nil),
		"htmx2":    open(ssevent.FormatHTMX2, nil),
		"htmx":     open("htmx", nil),
		"htmx4":    open("", http.Header{"Hx-Request": {"true"}}),
		"datastar": open("", http.Header{"Datastar-Request": {"true"}}),
		"forced":   open(ssevent.FormatDatastar, http.Header{"Hx-Request": {"true"}}),
	}

	require.NoError(t, hub.SendHTML(ctx, "news", "<p>a</p>\r\n<p>b</p>\r<p>c</p>"))
	require.NoError(t, hub.Send(ctx, "news", "plain <b>text</b>"))
	require.NoError(t, hub.Send(ctx, "news", map[string]int{"n": 1}))
	require.NoError(t, hub.PatchElements(ctx, "news", "<div id=\"x\">1</div>",
		ssevent.WithSelector("#x"), ssevent.WithMode(ssevent.PatchInner), ssevent.WithViewTransition()))
	require.NoError(t, hub.PatchSignals(ctx, "news", map[string]int{"count": 1}, ssevent.OnlyIfMissing()))

	env := func(payload string) got {
		return got{"message", `{"channel":"news","payload":` + payload + `}`}
	}
	const html = "<p>a</p>\n<p>b</p>\n<p>c</p>"
	htmx2 := []got{
		{"news", html}, {"news", "plain <b>text</b>"}, {"news", `{"n":1}`},
		{"news", `<div id="x">1</div>`}, {"news", `{"count":1}`},
	}
	want := map[string][]got{
		"json": {
			env(`"<p>a</p>\r\n<p>b</p>\r<p>c</p>"`),
			env(`"plain \u003cb\u003etext\u003c/b\u003e"`),
			env(`{"n":1}`),
			env(`{"elements":"<div id=\"x\">1</div>","selector":"#x","mode":"inner","useViewTransition":true}`),
			env(`{"signals":{"count":1},"onlyIfMissing":true}`),
		},
		"htmx2": htmx2,
		"htmx":  htmx2,
		"htmx4": {
			{"message", html}, {"message", "plain <b>text</b>"}, {"news", `{"n":1}`},
			{"message", `<hx-partial hx-target="#x" hx-swap="innerHTML"><div id="x">1</div></hx-partial>`},
			{"news", `{"count":1}`},
		},
		"datastar": {
			{"datastar-patch-elements", "elements <p>a</p>\nelements <p>b</p>\nelements <p>c</p>"},
			env(`"plain \u003cb\u003etext\u003c/b\u003e"`),
			env(`{"n":1}`),
			{"datastar-patch-elements", "selector #x\nmode inner\nuseViewTransition true\nelements <div id=\"x\">1</div>"},
			{"datastar-patch-signals", "onlyIfMissing true\nsignals {\"count\":1}"},
		},
	}
	want["forced"] = want["datastar"]
	var ids []string
	for _, name := range []string{"json", "htmx2", "htmx", "htmx4", "datastar", "forced"} {
		t.Run(name, func(t *testing.T) {
			s := streams[name]
			for i, w := range want[name] {
				g, id := nextGot(t, s)
				assert.Equal(t, w, g, "event %d", i)
				if len(ids) <= i {
					ids = append(ids, id)
				}
				assert.Equal(t, ids[i], id, "event %d's id", i)
			}
		})
	}
}

// TestDialectUnknownFormat: an unknown ?format= is refused with a JSON
// error body before anything opens.
func TestDialectUnknownFormat(t *testing.T) {
	hub, endpoint := newDialectHub(t)
	resp, err := http.Get(endpoint + "?format=xml")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	var body shared.ErrorResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, shared.CodeBadRequest, body.Error)
	assert.Contains(t, body.Message, "format")
	assert.Zero(t, hub.ClientCount(t.Context()))
}

// TestPatchValidation: a patch Datastar could not apply is refused with
// ErrInvalidPatch, and nothing is published.
func TestPatchValidation(t *testing.T) {
	hub, endpoint := newDialectHub(t)
	ctx := t.Context()
	s := ssetest.Open(t, endpoint+"?channels=news&format=datastar", nil, nil)
	s.Connected(t)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"unknown mode", hub.PatchElements(ctx, "news", "<p id=a></p>", ssevent.WithMode("sideways"))},
		{"selector line break", hub.PatchElements(ctx, "news", "<p id=a></p>", ssevent.WithSelector("#a\n#b"))},
		{"namespace", hub.PatchElements(ctx, "news", "<p id=a></p>", ssevent.WithNamespace("xul"))},
		{"no elements", hub.PatchElements(ctx, "news", "")},
		{"remove without target", hub.PatchElements(ctx, "news", "", ssevent.WithMode(ssevent.PatchRemove))},
		{"signals array", hub.PatchSignals(ctx, "news", []int{1})},
		{"signals not JSON", hub.PatchSignals(ctx, "news", json.RawMessage(`{"a":`))},
	} {
		assert.ErrorIs(t, tc.err, ssevent.ErrInvalidPatch, tc.name)
	}
	assert.ErrorIs(t, hub.SendHTML(ctx, "", "<p></p>"), ssevent.ErrInvalidChannel)
	assert.Error(t, hub.PatchSignals(ctx, "news", map[string]any{"a": func() {}}), "not encodable")
	// Nothing went out: the next event is the one published now.
	require.NoError(t, hub.PatchElements(ctx, "news", "", ssevent.WithSelector("#gone"), ssevent.WithMode(ssevent.PatchRemove)))
	g, _ := nextGot(t, s)
	assert.Equal(t, got{"datastar-patch-elements", "selector #gone\nmode remove"}, g)
}

// TestDialectReplay: a stream of each dialect that reconnects with the
// Last-Event-ID it saw gets what it missed in its own dialect; a page
// rendered with the hub's LastEventID in its stream's URL gets what was
// published between rendering and connecting.
func TestDialectReplay(t *testing.T) {
	hub, endpoint := newDialectHub(t)
	ctx := t.Context()
	rendered := hub.LastEventID()
	require.NotEmpty(t, rendered)
	require.NoError(t, hub.SendHTML(ctx, "feed", "<li>1</li>"))

	q := url.Values{"channels": {"feed"}, "format": {"htmx2"}, "lastEventId": {rendered}}
	s := ssetest.Open(t, endpoint+"?"+q.Encode(), nil, nil)
	s.Connected(t)
	g, last := nextGot(t, s)
	assert.Equal(t, got{"feed", "<li>1</li>"}, g, "published after rendering, before connecting")
	s.Close()

	require.NoError(t, hub.SendHTML(ctx, "feed", "<li>2</li>"))
	require.NoError(t, hub.PatchSignals(ctx, "feed", map[string]int{"n": 3}))
	for _, tc := range []struct {
		format string
		want   []got
	}{
		{"htmx2", []got{{"feed", "<li>2</li>"}, {"feed", `{"n":3}`}}},
		{"htmx4", []got{{"message", "<li>2</li>"}, {"feed", `{"n":3}`}}},
		{"datastar", []got{{"datastar-patch-elements", "elements <li>2</li>"}, {"datastar-patch-signals", `signals {"n":3}`}}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			q := url.Values{"channels": {"feed"}, "format": {tc.format}}
			s := ssetest.Open(t, endpoint+"?"+q.Encode(), http.Header{"Last-Event-ID": {last}}, nil)
			s.Connected(t)
			for _, w := range tc.want {
				g, _ := nextGot(t, s)
				assert.Equal(t, w, g)
			}
		})
	}
}

// TestDialectGap: a Datastar or htmx client whose Last-Event-ID the hub
// cannot place gets the gap event, under its usual name, then what comes.
func TestDialectGap(t *testing.T) {
	hub, endpoint := newDialectHub(t)
	s := ssetest.Open(t, endpoint+"?channels=feed&format=htmx4", http.Header{"Last-Event-ID": {"zzzz-1"}}, nil)
	s.Connected(t)
	ev := s.Next(t, nil)
	assert.Equal(t, shared.EventGap, ev.Name)
	require.NoError(t, hub.SendHTML(t.Context(), "feed", "<li>after</li>"))
	g, _ := nextGot(t, s)
	assert.Equal(t, got{"message", "<li>after</li>"}, g)
}

// TestDialectSendToAndBroadcast: messages for one client or for all take
// their event name, or none, in the htmx dialects.
func TestDialectSendToAndBroadcast(t *testing.T) {
	hub, endpoint := newDialectHub(t)
	ctx := t.Context()
	s2 := ssetest.Open(t, endpoint+"?format=htmx2", nil, nil)
	c2, _ := s2.Connected(t)
	s4 := ssetest.Open(t, endpoint+"?format=htmx4", nil, nil)
	c4, _ := s4.Connected(t)
	require.NoError(t, hub.SendTo(ctx, c2.ClientID, "<b>you</b>", "toast"))
	require.NoError(t, hub.SendTo(ctx, c4.ClientID, "<b>you</b>"))
	require.NoError(t, hub.Broadcast(ctx, "<i>all</i>"))
	g, _ := nextGot(t, s2)
	assert.Equal(t, got{"toast", "<b>you</b>"}, g)
	g, _ = nextGot(t, s2)
	assert.Equal(t, got{"message", "<i>all</i>"}, g, "htmx 2: sse-swap=\"message\"")
	g, _ = nextGot(t, s4)
	assert.Equal(t, got{"message", "<b>you</b>"}, g)
	g, _ = nextGot(t, s4)
	assert.Equal(t, got{"message", "<i>all</i>"}, g)
}

// TestSendHTMLPayloadLimit: an HTML fragment over MaxPayloadSize is
// refused like any payload.
func TestSendHTMLPayloadLimit(t *testing.T) {
	hub := ssevent.New(ssevent.Config{MaxPayloadSize: 64, HeartbeatInterval: -1})
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	err := hub.SendHTML(t.Context(), "news", "<p>"+string(make([]byte, 100))+"</p>")
	assert.True(t, errors.Is(err, ssevent.ErrPayloadTooLarge), "%v", err)
}

// TestDialectHooks: Identify, OnConnect and OnSubscribe apply to htmx and
// Datastar streams as to any: a refused channel's messages never reach
// them, a refused request gets its status and JSON body.
func TestDialectHooks(t *testing.T) {
	hub := ssevent.New(ssevent.Config{
		HeartbeatInterval: -1,
		Identify: func(r *http.Request) (string, error) {
			if u := r.Header.Get("X-User"); u != "" {
				return u, nil
			}
			return "", &ssevent.HTTPError{Code: http.StatusUnauthorized, Message: "sign in"}
		},
		OnConnect: func(r *http.Request) error {
			if r.Header.Get("X-User") == "banned" {
				return &ssevent.HTTPError{Code: http.StatusForbidden}
			}
			return nil
		},
		OnSubscribe: func(_, channel string, r *http.Request) error {
			if channel == "admin" && r.Header.Get("X-User") != "root" {
				return &ssevent.HTTPError{Code: http.StatusForbidden, Message: "admins only"}
			}
			return nil
		},
	})
	srv := httptest.NewServer(hub)
	t.Cleanup(func() {
		_ = hub.Close(context.Background())
		srv.Close()
	})
	u := srv.URL + "/events?channels=news,admin&format=htmx2"
	for _, tc := range []struct {
		user   string
		status int
	}{{"", http.StatusUnauthorized}, {"banned", http.StatusForbidden}} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if tc.user != "" {
			req.Header.Set("X-User", tc.user)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body shared.ErrorResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode, tc.user)
		assert.NotEmpty(t, body.Error)
	}

	ann := ssetest.Open(t, u, http.Header{"X-User": {"ann"}}, nil)
	c, _ := ann.Connected(t)
	assert.Equal(t, []string{"default", "news"}, c.Channels)
	require.Len(t, c.Rejected, 1)
	assert.Equal(t, "admin", c.Rejected[0].Channel)
	root := ssetest.Open(t, srv.URL+"/events?channels=news,admin", http.Header{"X-User": {"root"}, "Datastar-Request": {"true"}}, nil)
	root.Connected(t)

	require.NoError(t, hub.SendHTML(t.Context(), "admin", "<p>secret</p>"))
	require.NoError(t, hub.SendHTML(t.Context(), "news", "<p>public</p>"))
	g, _ := nextGot(t, ann)
	assert.Equal(t, got{"news", "<p>public</p>"}, g, "the refused channel's message did not reach ann")
	g, _ = nextGot(t, root)
	assert.Equal(t, got{"datastar-patch-elements", "elements <p>secret</p>"}, g)
}
