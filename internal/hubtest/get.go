package hubtest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestGetRefusals: every refusal of a GET (hooks, channels, ids) has its
// status and code, and opens no stream.
func TestGetRefusals(t *testing.T, m Mount) {
	var mode string
	ts := newTestServer(t, m, ssevent.Config{
		MaxChannelsPerClient: 3,
		OnConnect: func(r *http.Request) error {
			switch mode {
			case "unauthorized":
				return &ssevent.HTTPError{Code: http.StatusUnauthorized}
			case "forbidden":
				return fmt.Errorf("wrapped: %w", &ssevent.HTTPError{Code: http.StatusForbidden, Message: "banned"})
			case "error":
				return errors.New("database down")
			case "panic":
				panic("bug")
			}
			return nil
		},
		OnSubscribe: func(id, ch string, r *http.Request) error {
			if ch == "boom" {
				return errSentinel
			}
			return nil
		},
	})
	witness := ts.connect(t, nil)

	tests := []struct {
		name   string
		mode   string
		query  url.Values
		header http.Header
		status int
		code   string
	}{
		{"OnConnect unauthorized", "unauthorized", nil, nil, 401, shared.CodeUnauthorized},
		{"OnConnect forbidden", "forbidden", nil, nil, 403, shared.CodeForbidden},
		{"OnConnect error", "error", nil, nil, 500, shared.CodeInternal},
		{"OnConnect panic", "panic", nil, nil, 500, shared.CodeInternal},
		{"invalid channel", "", url.Values{"channels": {"ok,bad\x01"}}, nil, 422, shared.CodeInvalidChannel},
		{"too many channels", "", url.Values{"channels": {"a,b,c"}}, nil, 422, shared.CodeTooManyChannels},
		{"malformed Last-Event-ID", "", nil, http.Header{"Last-Event-Id": {"abc"}}, 400, shared.CodeBadRequest},
		{"malformed lastEventId", "", url.Values{"lastEventId": {"-1"}}, nil, 400, shared.CodeBadRequest},
		{"malformed clientId", "", url.Values{"clientId": {"not-a-uuid"}}, nil, 400, shared.CodeBadRequest},
		{"OnSubscribe error", "", url.Values{"channels": {"boom"}}, nil, 500, shared.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode = tt.mode
			resp, cancel := ts.dial(t, tt.query, tt.header)
			defer cancel()
			body := readBody(t, resp)
			assert.Equal(t, tt.status, resp.StatusCode, "body %s", body)
			assert.Equal(t, tt.code, errorBody(t, body).Error)
			assert.Equal(t, 1, ts.hub.ClientCount(), "no stream was added")
		})
	}
	mode = ""
	require.NoError(t, ts.hub.Send("default", "alive"))
	witness.expectNext("default", `"alive"`)
}

// TestOnSubscribeRejectsAtConnect: channels OnSubscribe refuses at connect
// time are listed as rejected in the connected event, and the hook sees the
// id the client gets.
func TestOnSubscribeRejectsAtConnect(t *testing.T, m Mount) {
	var asked sync.Map
	ts := newTestServer(t, m, ssevent.Config{
		OnSubscribe: func(id, ch string, r *http.Request) error {
			asked.Store(ch, id)
			if ch == "secret" {
				return &ssevent.HTTPError{Code: http.StatusForbidden}
			}
			return nil
		},
	})
	c := ts.connect(t, url.Values{"channels": {"open,secret"}})
	for _, ch := range []string{"open", "secret"} {
		id, _ := asked.Load(ch)
		assert.Equal(t, c.id(), id, "OnSubscribe sees the id the client gets")
	}
	assert.Equal(t, []string{"default", "open"}, c.connected.Channels)
	assert.Equal(t, []shared.Rejection{{Channel: "secret", Reason: "Forbidden"}}, c.connected.Rejected)
}

// TestMaxTotalConnections: past MaxTotalConnections a GET gets 503 with
// Retry-After; a resumption that takes over its own stream is not a new
// connection.
func TestMaxTotalConnections(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{MaxTotalConnections: 2})
	a := ts.connect(t, nil)
	ts.connect(t, nil)

	resp, cancel := ts.dial(t, nil, nil)
	defer cancel()
	body := readBody(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("Retry-After"))
	assert.Equal(t, shared.CodeTooManyClients, errorBody(t, body).Error)
	assert.Equal(t, 2, ts.hub.ClientCount())

	// A resumption that takes over its own stream is not a new connection.
	a2 := ts.connect(t, url.Values{"clientId": {a.id()}})
	assert.True(t, a2.connected.Resumed)
	a.ended()
	assert.Equal(t, 2, ts.hub.ClientCount())

	a2.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "a slot to free")
	ts.connect(t, nil)
}

// TestTrustOrigins: with trusted origins, only requests from them (Origin,
// else Referer) may GET or POST.
func TestTrustOrigins(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{
		TrustOrigins: []string{"https://app.example.com"},
		TrustOriginPatterns: []*regexp.Regexp{
			regexp.MustCompile(`^https://[a-z]+\.example\.org$`),
			regexp.MustCompile(`https://[a-z]+\.example\.net`), // anchored by the hub
		},
	})
	allowed := []http.Header{
		{"Origin": {"https://app.example.com"}},
		{"Origin": {"HTTPS://APP.EXAMPLE.COM"}},
		{"Origin": {"https://eu.example.org"}},
		{"Origin": {"https://eu.example.net"}},
		{"Referer": {"https://app.example.com/page?x=1"}},
	}
	var c *sseClient
	for _, h := range allowed {
		c = ts.connect(t, nil, h)
	}
	refused := []http.Header{
		{"Origin": {"https://evil.example.com"}},
		{"Origin": {"https://app.example.com.evil.net"}},
		{"Origin": {"https://x.example.org.evil.net"}},
		{"Origin": {"https://x.example.net.evil.org"}},
		{"Origin": {"http://evil.com/https://x.example.net"}},
		{"Origin": {"null"}},
		{"Referer": {"https://evil.example.com/app.example.com"}},
		{"Origin": {"https://evil.example.com"}, "Referer": {"https://app.example.com/"}},
		{},
	}
	for _, h := range refused {
		resp, cancel := ts.dial(t, nil, h)
		body := readBody(t, resp)
		cancel()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%v", h)
		assert.Equal(t, shared.CodeOriginRefused, errorBody(t, body).Error)

		code, body := ts.post(t, shared.SubscribeRequest{Action: "subscribe", ClientID: c.id(), Channels: []string{"x"}}, h)
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, shared.CodeOriginRefused, errorBody(t, body).Error)
	}
	assert.Empty(t, ts.hub.ClientsByChannel("x"))
	code, body := ts.post(t, shared.SubscribeRequest{Action: "subscribe", ClientID: c.id(), Channels: []string{"x"}}, allowed[0])
	assert.Equal(t, http.StatusOK, code, "%s", body)
}

// TestStreamingUnsupported: a response writer that cannot flush gets 500
// streaming_unsupported and no stream.
func TestStreamingUnsupported(t *testing.T, m Mount) {
	hub, next := newHub(m, ssevent.Config{})
	t.Cleanup(func() { _ = hub.Close(t.Context()) })
	// A middleware that hides the flusher, as a buffering wrapper would.
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(struct{ http.ResponseWriter }{w}, r)
	})
	req := mustRequest(t, http.MethodGet, "/events")
	rec := newRecorder()
	app.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, shared.CodeStreamingBroken, errorBody(t, rec.Body.Bytes()).Error)
	assert.Equal(t, 0, hub.ClientCount())
}

// TestResumeUnknownIDStartsFresh: a clientId no session has opens a fresh
// session with an id of its own.
func TestResumeUnknownIDStartsFresh(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	made := uuid.NewString()
	c := ts.connect(t, url.Values{"clientId": {made}, "channels": {"a"}})
	assert.NotEqual(t, made, c.id(), "a made-up id is never accepted")
	assert.False(t, c.connected.Resumed)
	assert.Equal(t, []string{"a", "default"}, c.connected.Channels)
	assert.False(t, strings.Contains(c.id(), made))
}
