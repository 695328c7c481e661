package server_test

// What the adapter adds to the core: hooks that see the echo.Context (and
// what Echo middleware stored in it), *echo.HTTPError refusals, and the
// stream under Echo's Response and its middleware. The hub's behaviour
// itself is tested by the suite (suite_test.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 10 * time.Second

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// echoServer is a hub on /events of an Echo app with mw, served on
// 127.0.0.1.
type echoServer struct {
	hub *server.Hub
	url string // the events endpoint
}

func serveEchoHub(t *testing.T, cfg server.Config, mw ...echo.MiddlewareFunc) *echoServer {
	t.Helper()
	hub := server.New(cfg)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(mw...)
	e.Any("/events", hub.Handler)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = hub.Close(ctx)
		srv.Close()
	})
	return &echoServer{hub: hub, url: srv.URL + "/events"}
}

// open opens a stream and reads its connected event.
func (s *echoServer) open(t *testing.T, query url.Values, header http.Header) (*ssetest.Stream, shared.Connected) {
	t.Helper()
	st := ssetest.Open(t, s.url+"?"+query.Encode(), header, nil)
	c, _ := st.Connected(t)
	return st, c
}

// get sends a GET that is to be refused and returns its status and body.
func (s *echoServer) get(t *testing.T, query url.Values, header http.Header) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+"?"+query.Encode(), nil)
	require.NoError(t, err)
	req.Header = header
	return do(t, req)
}

// post sends a subscribe request for client c with header.
func (s *echoServer) post(t *testing.T, action string, c shared.Connected, header http.Header, channels ...string) (int, []byte) {
	t.Helper()
	body, err := json.Marshal(shared.SubscribeRequest{Action: action, ClientID: c.ClientID, Channels: channels})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	if c.SessionKey != "" {
		req.Header.Set(shared.HeaderSessionKey, c.SessionKey)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b.Bytes()
}

// errorCode decodes the code of a refusal.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e shared.ErrorResponse
	require.NoError(t, json.Unmarshal(body, &e), "body %s", body)
	return e.Error
}

func TestHookSeesEchoContext(t *testing.T) {
	var seen sync.Map
	s := serveEchoHub(t, server.Config{
		OnConnect: func(c echo.Context) error {
			seen.Store("connect", c.Request().Header.Get("X-User"))
			return nil
		},
		OnSubscribe: func(id, ch string, c echo.Context) error {
			seen.Store("subscribe:"+ch, c.Request().Method)
			return nil
		},
	})
	_, c := s.open(t, url.Values{"channels": {"a"}}, http.Header{"X-User": {"ann"}})
	code, body := s.post(t, shared.ActionSubscribe, c, nil, "b")
	require.Equal(t, http.StatusOK, code, "body %s", body)
	v, _ := seen.Load("connect")
	assert.Equal(t, "ann", v)
	v, _ = seen.Load("subscribe:a")
	assert.Equal(t, http.MethodGet, v)
	v, _ = seen.Load("subscribe:b")
	assert.Equal(t, http.MethodPost, v)
}

// TestHooksSeeMiddlewareValues: what Echo middleware stores in the
// echo.Context (an auth middleware's user) reaches every hook, on GET and
// on POST, and the session is bound to it.
func TestHooksSeeMiddlewareValues(t *testing.T) {
	auth := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if u := c.Request().Header.Get("X-Token"); u != "" {
				c.Set("user", "user:"+u)
			}
			return next(c)
		}
	}
	user := func(c echo.Context) string { s, _ := c.Get("user").(string); return s }
	var seen sync.Map
	s := serveEchoHub(t, server.Config{
		HeartbeatInterval: -1,
		Identify: func(c echo.Context) (string, error) {
			if user(c) == "" {
				return "", echo.ErrUnauthorized
			}
			return user(c), nil
		},
		OnConnect: func(c echo.Context) error {
			seen.Store("connect", user(c))
			return nil
		},
		OnSubscribe: func(_, ch string, c echo.Context) error {
			seen.Store(ch, user(c))
			if ch == "vip" && user(c) != "user:ann" {
				return echo.NewHTTPError(http.StatusForbidden, "members only")
			}
			return nil
		},
	}, auth)
	ann := http.Header{"X-Token": {"ann"}}
	_, c := s.open(t, url.Values{"channels": {"vip"}}, ann)
	assert.Equal(t, []string{"default", "vip"}, c.Channels)
	v, _ := seen.Load("connect")
	assert.Equal(t, "user:ann", v)
	v, _ = seen.Load("vip")
	assert.Equal(t, "user:ann", v)

	code, body := s.post(t, shared.ActionSubscribe, c, ann, "news")
	require.Equal(t, http.StatusOK, code, "body %s", body)
	v, _ = seen.Load("news")
	assert.Equal(t, "user:ann", v, "OnSubscribe on a POST")

	// Another user is refused the session; no user at all by Identify.
	code, body = s.post(t, shared.ActionSubscribe, c, http.Header{"X-Token": {"bob"}}, "sport")
	assert.Equal(t, http.StatusForbidden, code, "body %s", body)
	code, body = s.get(t, url.Values{}, nil)
	assert.Equal(t, http.StatusUnauthorized, code, "body %s", body)
	assert.Equal(t, shared.CodeUnauthorized, errorCode(t, body))
	_, bob := s.open(t, url.Values{"channels": {"vip"}}, http.Header{"X-Token": {"bob"}})
	assert.Equal(t, []shared.Rejection{{Channel: "vip", Reason: "members only"}}, bob.Rejected)
}

// TestHTTPErrorRefusals: the *echo.HTTPError a hook returns, wrapped or
// not, sets the status and the message; other errors are 500s.
func TestHTTPErrorRefusals(t *testing.T) {
	var hookErr error
	s := serveEchoHub(t, server.Config{
		HeartbeatInterval: -1,
		Logger:            discardLogger(),
		OnConnect: func(echo.Context) error {
			return hookErr
		},
		OnSubscribe: func(_, ch string, _ echo.Context) error {
			if ch == "x" {
				return hookErr
			}
			return nil
		},
	})
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
		reason string
	}{
		{"ErrUnauthorized", echo.ErrUnauthorized, 401, shared.CodeUnauthorized, "Unauthorized"},
		{"ErrForbidden", echo.ErrForbidden, 403, shared.CodeForbidden, "Forbidden"},
		{"with a message", echo.NewHTTPError(http.StatusForbidden, "banned"), 403, shared.CodeForbidden, "banned"},
		{"wrapped", fmt.Errorf("policy: %w", echo.NewHTTPError(http.StatusPaymentRequired, "pay first")), 402, shared.CodeForbidden, "pay first"},
		{"message not a string", echo.NewHTTPError(http.StatusForbidden, map[string]string{"why": "no"}), 403, shared.CodeForbidden, "Forbidden"},
		{"a 5xx", echo.NewHTTPError(http.StatusServiceUnavailable, "down"), 500, shared.CodeInternal, ""},
		{"not an HTTPError", errors.New("database down"), 500, shared.CodeInternal, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hookErr = tc.err
			code, body := s.get(t, url.Values{}, nil)
			assert.Equal(t, tc.status, code, "OnConnect: body %s", body)
			assert.Equal(t, tc.code, errorCode(t, body))
			if tc.reason != "" {
				var e shared.ErrorResponse
				require.NoError(t, json.Unmarshal(body, &e))
				assert.Equal(t, tc.reason, e.Message)
			}

			hookErr = nil
			st, c := s.open(t, url.Values{}, nil)
			hookErr = tc.err
			code, body = s.post(t, shared.ActionSubscribe, c, nil, "x", "y")
			if tc.status == http.StatusInternalServerError {
				assert.Equal(t, tc.status, code, "OnSubscribe: body %s", body)
				assert.Equal(t, shared.CodeInternal, errorCode(t, body))
			} else {
				require.Equal(t, http.StatusOK, code, "OnSubscribe: body %s", body)
				var resp shared.SubscribeResponse
				require.NoError(t, json.Unmarshal(body, &resp))
				assert.Equal(t, []string{"y"}, resp.Accepted)
				assert.Equal(t, []shared.Rejection{{Channel: "x", Reason: tc.reason}}, resp.Rejected)
			}
			st.Close()
		})
	}
}

// flushWriter stands for middleware that wraps the response writer.
type flushWriter struct{ http.ResponseWriter }

func (w flushWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// TestEchoMiddlewareHeadersAndWrappedWriter: headers set by Echo
// middleware and by Echo's Before hooks reach the client on both paths; a
// writer that middleware puts beneath Echo's Response keeps the standard
// path; one that cannot flush is refused with 500 streaming_unsupported.
func TestEchoMiddlewareHeadersAndWrappedWriter(t *testing.T) {
	for _, detached := range []bool{true, false} {
		for _, wrap := range []bool{false, true} {
			t.Run(fmt.Sprintf("detached=%v,wrapped=%v", detached, wrap), func(t *testing.T) {
				s := serveEchoHub(t, server.Config{HeartbeatInterval: -1, DisableTakeover: !detached},
					func(next echo.HandlerFunc) echo.HandlerFunc {
						return func(c echo.Context) error {
							c.Response().Header().Set("X-Middleware", "yes")
							c.Response().Before(func() { c.Response().Header().Set("X-Before", "yes") })
							if wrap {
								c.Response().Writer = flushWriter{c.Response().Writer}
							}
							return next(c)
						}
					})
				st, _ := s.open(t, url.Values{}, nil)
				require.Equal(t, "yes", st.Resp.Header.Get("X-Middleware"))
				require.Equal(t, "yes", st.Resp.Header.Get("X-Before"))
				require.Equal(t, "text/event-stream", st.Resp.Header.Get("Content-Type"))
				require.Equal(t, []string{"chunked"}, st.Resp.TransferEncoding)
				require.Equal(t, detached && !wrap, st.Resp.Close, "the stream was taken over (Connection: close)")
				require.NoError(t, s.hub.Send(shared.DefaultChannel, 1))
				ev := st.Next(t, nil)
				require.Equal(t, `{"channel":"default","payload":1}`, string(ev.Data))
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				require.NoError(t, s.hub.Close(ctx))
				st.Ended(t)
			})
		}
	}
	t.Run("writer that cannot flush", func(t *testing.T) {
		hub := server.New(server.Config{Logger: discardLogger()})
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
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/events", nil))
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
		assert.Equal(t, shared.CodeStreamingBroken, errorCode(t, rec.Body.Bytes()))
		assert.Equal(t, 0, hub.ClientCount())
	})
}

// TestHandlerLeavesRefusalsToTheHub: Handler writes its refusals itself and
// returns nil, so Echo's error handler does not rewrite them.
func TestHandlerLeavesRefusalsToTheHub(t *testing.T) {
	hub := server.New(server.Config{})
	t.Cleanup(func() { _ = hub.Close(t.Context()) })
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodPut, "/events", strings.NewReader("x")), rec)
	require.NoError(t, hub.Handler(c))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, shared.CodeMethodNotAllowed, errorCode(t, rec.Body.Bytes()))
}
