package server_test

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
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

func TestGetRefusals(t *testing.T) {
	var mode string
	ts := newTestServer(t, server.Config{
		MaxChannelsPerClient: 3,
		OnConnect: func(c echo.Context) error {
			switch mode {
			case "unauthorized":
				return echo.ErrUnauthorized
			case "forbidden":
				return fmt.Errorf("wrapped: %w", echo.NewHTTPError(http.StatusForbidden, "banned"))
			case "error":
				return errors.New("database down")
			case "panic":
				panic("bug")
			}
			return nil
		},
		OnSubscribe: func(id, ch string, c echo.Context) error {
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

func TestOnSubscribeRejectsAtConnect(t *testing.T) {
	var asked sync.Map
	ts := newTestServer(t, server.Config{
		OnSubscribe: func(id, ch string, c echo.Context) error {
			asked.Store(ch, id)
			if ch == "secret" {
				return echo.ErrForbidden
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

func TestMaxTotalConnections(t *testing.T) {
	ts := newTestServer(t, server.Config{MaxTotalConnections: 2})
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

func TestTrustOrigins(t *testing.T) {
	ts := newTestServer(t, server.Config{
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

func TestStreamingUnsupported(t *testing.T) {
	hub := newHub(server.Config{})
	t.Cleanup(func() { _ = hub.Close(t.Context()) })
	e := echo.New()
	// A middleware that hides the flusher, as a buffering wrapper would.
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Writer = struct{ http.ResponseWriter }{c.Response().Writer}
			return next(c)
		}
	})
	e.Any("/events", hub.Handler)
	req := mustRequest(t, http.MethodGet, "/events")
	rec := newRecorder()
	e.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, shared.CodeStreamingBroken, errorBody(t, rec.Body.Bytes()).Error)
	assert.Equal(t, 0, hub.ClientCount())
}

func TestResumeUnknownIDStartsFresh(t *testing.T) {
	ts := newTestServer(t, server.Config{})
	made := uuid.NewString()
	c := ts.connect(t, url.Values{"clientId": {made}, "channels": {"a"}})
	assert.NotEqual(t, made, c.id(), "a made-up id is never accepted")
	assert.False(t, c.connected.Resumed)
	assert.Equal(t, []string{"a", "default"}, c.connected.Channels)
	assert.False(t, strings.Contains(c.id(), made))
}
