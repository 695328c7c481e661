package echov5_test

// What the adapter adds to the core: hooks that see the *echo.Context (and
// what Echo middleware stored in it), Echo's errors as refusals, and the
// stream under Echo's Response and its middleware. The hub's behaviour
// itself is tested by the suite (suite_test.go).

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/echov5"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/shared"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 10 * time.Second

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// echoServer is a hub on /events of an Echo app with mw, served on
// 127.0.0.1.
type echoServer struct {
	hub *echov5.Hub
	url string // the events endpoint
}

func serveEchoHub(t *testing.T, cfg echov5.Config, mw ...echo.MiddlewareFunc) *echoServer {
	t.Helper()
	hub := echov5.New(cfg)
	e := echo.New()
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
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
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
	s := serveEchoHub(t, echov5.Config{
		OnConnect: func(c *echo.Context) error {
			seen.Store("connect", c.Request().Header.Get("X-User"))
			return nil
		},
		OnSubscribe: func(id, ch string, c *echo.Context) error {
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
// *echo.Context (an auth middleware's user) reaches every hook, on GET and
// on POST, and the session is bound to it.
func TestHooksSeeMiddlewareValues(t *testing.T) {
	auth := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if u := c.Request().Header.Get("X-Token"); u != "" {
				c.Set("user", "user:"+u)
			}
			return next(c)
		}
	}
	user := func(c *echo.Context) string { s, _ := c.Get("user").(string); return s }
	var seen sync.Map
	s := serveEchoHub(t, echov5.Config{
		HeartbeatInterval: -1,
		Identify: func(c *echo.Context) (string, error) {
			if user(c) == "" {
				return "", echo.ErrUnauthorized
			}
			return user(c), nil
		},
		OnConnect: func(c *echo.Context) error {
			seen.Store("connect", user(c))
			return nil
		},
		OnSubscribe: func(_, ch string, c *echo.Context) error {
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

// teapot is an application's own error with a status: any
// echo.HTTPStatusCoder refuses, as it would in Echo's error handler.
type teapot struct{}

func (teapot) Error() string   { return "short and stout" }
func (teapot) StatusCode() int { return http.StatusTeapot }

// TestHTTPErrorRefusals: an error with an HTTP status that a hook returns
// (Echo v5's sentinels, which are not *echo.HTTPError, an *echo.HTTPError,
// wrapped or not, any echo.HTTPStatusCoder) sets the status, and the
// *echo.HTTPError's message or the status text; other errors are 500s.
func TestHTTPErrorRefusals(t *testing.T) {
	var hookErr error
	s := serveEchoHub(t, echov5.Config{
		HeartbeatInterval: -1,
		Logger:            discardLogger(),
		OnConnect: func(*echo.Context) error {
			return hookErr
		},
		OnSubscribe: func(_, ch string, _ *echo.Context) error {
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
		{"without a message", echo.NewHTTPError(http.StatusForbidden, ""), 403, shared.CodeForbidden, "Forbidden"},
		{"wrapped", fmt.Errorf("policy: %w", echo.NewHTTPError(http.StatusPaymentRequired, "pay first")), 402, shared.CodeForbidden, "pay first"},
		{"HTTPError.Wrap", echo.NewHTTPError(http.StatusUnauthorized, "token expired").Wrap(errors.New("jwt: exp")), 401, shared.CodeUnauthorized, "token expired"},
		{"sentinel's Wrap", echo.ErrForbidden.Wrap(errors.New("acl")), 403, shared.CodeForbidden, "Forbidden"},
		{"an HTTPStatusCoder", teapot{}, 418, shared.CodeForbidden, "I'm a teapot"},
		{"a 5xx", echo.ErrServiceUnavailable, 500, shared.CodeInternal, ""},
		{"not an HTTP error", errors.New("database down"), 500, shared.CodeInternal, ""},
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

func (w flushWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets echo.UnwrapResponse find Echo's Response beneath it.
func (w flushWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestEchoMiddlewareHeadersAndWrappedWriter: headers set by Echo
// middleware and by the Before hooks of Echo's Response reach the client
// on both paths; a writer that middleware puts beneath Echo's Response, or
// around it (c.SetResponse, as Echo's Gzip does), keeps the standard path.
func TestEchoMiddlewareHeadersAndWrappedWriter(t *testing.T) {
	for _, detached := range []bool{true, false} {
		for _, wrap := range []string{"", "beneath", "around"} {
			t.Run(fmt.Sprintf("detached=%v,wrapped=%q", detached, wrap), func(t *testing.T) {
				s := serveEchoHub(t, echov5.Config{HeartbeatInterval: -1, DisableTakeover: !detached},
					func(next echo.HandlerFunc) echo.HandlerFunc {
						return func(c *echo.Context) error {
							c.Response().Header().Set("X-Middleware", "yes")
							r, err := echo.UnwrapResponse(c.Response())
							if err != nil {
								return err
							}
							r.Before(func() { r.Header().Set("X-Before", "yes") })
							switch wrap {
							case "beneath":
								r.ResponseWriter = flushWriter{r.ResponseWriter}
							case "around":
								c.SetResponse(flushWriter{c.Response()})
							}
							return next(c)
						}
					})
				st, _ := s.open(t, url.Values{}, nil)
				require.Equal(t, "yes", st.Resp.Header.Get("X-Middleware"))
				require.Equal(t, "yes", st.Resp.Header.Get("X-Before"))
				require.Equal(t, "text/event-stream", st.Resp.Header.Get("Content-Type"))
				require.Equal(t, []string{"chunked"}, st.Resp.TransferEncoding)
				require.Equal(t, detached && wrap == "", st.Resp.Close, "the stream was taken over (Connection: close)")
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
}

// TestWriterThatCannotFlush: behind middleware whose writer cannot flush,
// beneath Echo's Response or around it, a GET is refused with 500
// streaming_unsupported, and nothing calls Echo's Response.Flush, which
// would panic.
func TestWriterThatCannotFlush(t *testing.T) {
	for _, where := range []string{"beneath", "around"} {
		t.Run(where, func(t *testing.T) {
			hub := echov5.New(echov5.Config{Logger: discardLogger()})
			t.Cleanup(func() { _ = hub.Close(t.Context()) })
			e := echo.New()
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c *echo.Context) error {
					if where == "beneath" {
						r, err := echo.UnwrapResponse(c.Response())
						if err != nil {
							return err
						}
						r.ResponseWriter = struct{ http.ResponseWriter }{r.ResponseWriter}
					} else {
						c.SetResponse(struct{ http.ResponseWriter }{c.Response()})
					}
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
}

// logged is what the request logger recorded for one request.
type logged struct {
	method, uri string
	status      int
	latency     time.Duration
	size        int64
}

// TestRequestLoggerSeesWholeStream: with Echo's RequestLogger around the
// route, the stream's handler returns only when the stream ends, whichever
// side ends it, so the log records it then, with its whole duration and at
// least the bytes the client read: on the path where the hub takes the
// stream over from net/http (the bytes written beneath Echo's Response
// are added to its Size), on the standard path, and under Gzip, whose
// writer is around Echo's Response in v5, so that its Size counts the
// compressed bytes.
func TestRequestLoggerSeesWholeStream(t *testing.T) {
	for _, path := range []string{"taken over", "standard", "Gzip"} {
		for _, serverEnds := range []bool{true, false} {
			name := path + ", client leaves"
			if serverEnds {
				name = path + ", ended by the server"
			}
			t.Run(name, func(t *testing.T) {
				got := make(chan logged, 16)
				mw := []echo.MiddlewareFunc{middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
					LogMethod: true, LogURI: true, LogStatus: true, LogLatency: true, LogResponseSize: true,
					LogValuesFunc: func(_ *echo.Context, v middleware.RequestLoggerValues) error {
						got <- logged{v.Method, v.URI, v.Status, v.Latency, v.ResponseSize}
						return nil
					},
				})}
				if path == "Gzip" {
					mw = append(mw, middleware.Gzip())
				}
				s := serveEchoHub(t, echov5.Config{HeartbeatInterval: -1, Logger: discardLogger(), DisableTakeover: path == "standard"}, mw...)

				var read atomic.Int64 // as it came, compressed or not
				var header http.Header
				wrap := func(r io.Reader) io.Reader { return counter{r, &read} }
				if path == "Gzip" {
					// Asked for by hand, gzip is left to the
					// client to decode.
					header = http.Header{"Accept-Encoding": {"gzip"}}
					wrap = func(r io.Reader) io.Reader { return &gunzip{r: counter{r, &read}} }
				}
				st := ssetest.Open(t, s.url+"?channels=c", header, wrap)
				require.Equal(t, map[bool]string{true: "gzip"}[path == "Gzip"], st.Resp.Header.Get("Content-Encoding"), "the stream came gzipped")
				require.Equal(t, path == "taken over", st.Resp.Close, "the stream was taken over (Connection: close)")
				connected, _ := st.Connected(t)
				opened := time.Now()
				for i, payload := range []string{"one", "two"} {
					require.NoError(t, s.hub.Send("c", payload))
					ev := st.Next(t, nil)
					require.Equal(t, shared.EventMessage, ev.Name, "event %d", i+1)
					require.Contains(t, string(ev.Data), payload, "event %d", i+1)
				}
				select {
				case l := <-got:
					t.Fatalf("the request logger recorded %+v while the stream was open", l)
				default:
				}
				ending := time.Now()
				if serverEnds {
					require.NoError(t, s.hub.Unsubscribe(connected.ClientID))
					st.Ended(t)
				} else {
					st.Close()
				}
				var l logged
				select {
				case l = <-got:
				case <-time.After(waitTimeout):
					t.Fatal("the request logger recorded nothing after the stream ended")
				}
				t.Logf("logged %s %s %d, %v, %d bytes; the client read %d", l.method, l.uri, l.status, l.latency.Round(time.Millisecond), l.size, read.Load())
				require.Equal(t, http.MethodGet, l.method)
				require.True(t, strings.HasPrefix(l.uri, "/events?"), "uri %q", l.uri)
				require.Equal(t, http.StatusOK, l.status)
				require.GreaterOrEqual(t, l.latency, ending.Sub(opened), "the logged duration is shorter than the stream was seen open")
				require.GreaterOrEqual(t, l.size, read.Load(), "the logged size is less than the client read")
			})
		}
	}
}

// counter counts the bytes read through it.
type counter struct {
	r io.Reader
	n *atomic.Int64
}

func (c counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// gunzip decodes a gzip stream, from its first Read on.
type gunzip struct {
	r io.Reader
	z *gzip.Reader
}

func (g *gunzip) Read(p []byte) (int, error) {
	if g.z == nil {
		z, err := gzip.NewReader(g.r)
		if err != nil {
			return 0, err
		}
		g.z = z
	}
	return g.z.Read(p)
}

// TestHandlerLeavesRefusalsToTheHub: Handler writes its refusals itself and
// returns nil, so Echo's error handler does not rewrite them.
func TestHandlerLeavesRefusalsToTheHub(t *testing.T) {
	hub := echov5.New(echov5.Config{})
	t.Cleanup(func() { _ = hub.Close(t.Context()) })
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodPut, "/events", strings.NewReader("x")), rec)
	require.NoError(t, hub.Handler(c))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, shared.CodeMethodNotAllowed, errorCode(t, rec.Body.Bytes()))
}
