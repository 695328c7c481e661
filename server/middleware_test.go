package server_test

// The hub and the static handler under Echo's global middleware: Gzip on
// every route, and an access log around everything.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/rawclient"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/static"
)

// mwWait bounds every wait in these tests.
const mwWait = 10 * time.Second

// mwServe serves e on 127.0.0.1 with a plain http.Server, each accepted
// connection's send buffer set to sendBuf when positive, and returns the
// address. The server and hub are closed when the test ends.
func mwServe(t *testing.T, e *echo.Echo, hub *server.Hub, sendBuf int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: e, ReadHeaderTimeout: mwWait}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(mwSendBuffer{l, sendBuf}) }()
	t.Cleanup(func() {
		_ = srv.Close()
		if hub != nil {
			ctx, cancel := context.WithTimeout(context.Background(), mwWait)
			defer cancel()
			_ = hub.Close(ctx)
		}
		select {
		case <-served:
		case <-time.After(mwWait):
			t.Error("Serve did not return")
		}
	})
	return l.Addr().String()
}

type mwSendBuffer struct {
	net.Listener
	size int
}

func (l mwSendBuffer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok && l.size > 0 {
		_ = tc.SetWriteBuffer(l.size)
	}
	return c, err
}

func mwEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	return e
}

// mwGet GETs url with header through a transport that leaves the body as
// it came (no decompression), and returns the answer and its body.
func mwGet(t *testing.T, url string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header = header
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, body
}

// TestStaticUnderGzip: under a global Gzip, the wasm reaches a browser
// compressed once, whatever copy the browser would have got alone, and
// decodes to the program; skipping the static route in Gzip serves the
// precompressed brotli copy again.
func TestStaticUnderGzip(t *testing.T) {
	wasm, err := fs.ReadFile(static.FS(), "ssevent.wasm")
	require.NoError(t, err)
	br, err := fs.ReadFile(static.FS(), "ssevent.wasm.br")
	require.NoError(t, err)
	// The shim as served: it names the other files by their hashed names.
	rec := httptest.NewRecorder()
	static.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ssevent.js", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	shim := rec.Body.Bytes()
	skipStatic := func(c echo.Context) bool { return strings.HasPrefix(c.Path(), "/ssevent/") }
	browser := http.Header{"Accept-Encoding": {"gzip, deflate, br, zstd"}}

	for _, tc := range []struct {
		name     string
		gzip     echo.MiddlewareFunc
		file     string
		want     []byte // the file's bytes
		encoding string // as sent
		body     []byte // as sent; nil: want, gzipped once
	}{
		{"wasm under Gzip", middleware.Gzip(), "ssevent.wasm", wasm, "gzip", nil},
		{"shim under Gzip", middleware.Gzip(), "ssevent.js", shim, "gzip", nil},
		{"wasm, static route skipped", middleware.GzipWithConfig(middleware.GzipConfig{Skipper: skipStatic}), "ssevent.wasm", wasm, "br", br},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mwEcho()
			e.Use(tc.gzip)
			e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
			addr := mwServe(t, e, nil, 0)
			res, body := mwGet(t, "http://"+addr+"/ssevent/"+tc.file, browser.Clone())
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Equal(t, tc.encoding, res.Header.Get("Content-Encoding"))
			require.Equal(t, []string{"Accept-Encoding"}, res.Header.Values("Vary"))
			if tc.body != nil {
				require.True(t, bytes.Equal(tc.body, body), "body of %d bytes, want the precompressed copy's %d", len(body), len(tc.body))
				return
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			require.NoError(t, err)
			plain, err := io.ReadAll(zr)
			require.NoError(t, err)
			require.True(t, bytes.Equal(tc.want, plain), "gunzipped once: %d bytes starting % x, want %s (%d bytes)", len(plain), plain[:min(len(plain), 8)], tc.file, len(tc.want))
			t.Logf("%s: %d bytes sent, %d decoded", tc.file, len(body), len(plain))
		})
	}
}

// mwReturned is route middleware that closes ch when the handler returns.
func mwReturned(ch chan<- struct{}) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			defer close(ch)
			return next(c)
		}
	}
}

// TestGzipStalledReaderCut: under a global Gzip, a client that asks for
// gzip and then reads nothing is cut by the hub's write deadline
// (Config.WriteTimeout) once the sockets' buffers are full: the compressed
// writes reach the connection's deadline through the middleware's writer.
// The queue bounds are far above the burst, so only the deadline can cut
// it; OnDisconnect tells why the stream ended.
func TestGzipStalledReaderCut(t *testing.T) {
	const (
		writeTimeout = 500 * time.Millisecond
		burst        = 64
		size         = 32 << 10 // random base64: gzip keeps ¾ of it, 1.5 MiB in all
	)
	ends := make(chan server.DisconnectReason, 16)
	hub := server.New(server.Config{
		HeartbeatInterval: -1,
		WriteTimeout:      writeTimeout,
		QueueMaxBytes:     256 << 20,
		QueueSize:         100000,
		HistorySize:       -1,
		Logger:            slog.New(slog.DiscardHandler),
		OnDisconnect:      func(_ string, r server.DisconnectReason) { ends <- r },
	})
	done := make(chan struct{})
	e := mwEcho()
	e.Use(middleware.Gzip())
	e.Any("/events", hub.Handler, mwReturned(done))
	addr := mwServe(t, e, hub, 64<<10)

	c, err := rawclient.Dial(addr, rawclient.Options{RecvBuffer: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Get("/events?channels=w", http.Header{"Accept-Encoding": {"gzip"}}))
	_ = c.SetReadDeadline(time.Now().Add(mwWait))
	head, err := c.ReadHead()
	require.NoError(t, err, "head %q", head.Raw)
	require.Equal(t, http.StatusOK, head.StatusCode)
	require.Equal(t, "gzip", head.Header.Get("Content-Encoding"), "the stream is compressed")
	// The head went out with the first event, so the stream is open; from
	// here on the client reads nothing.
	require.Equal(t, 1, hub.ClientCount())

	raw := make([]byte, size*3/4)
	start := time.Now()
	for range burst {
		_, _ = rand.Read(raw)
		require.NoError(t, hub.Send("w", base64.StdEncoding.EncodeToString(raw)))
	}
	queued := time.Now()
	select {
	case <-done:
	case <-time.After(mwWait):
		t.Fatalf("a client that reads nothing under Gzip is still served %v after the burst (WriteTimeout %v)", time.Since(queued).Round(time.Millisecond), writeTimeout)
	}
	cut := time.Now()
	t.Logf("cut %v after the burst was queued (WriteTimeout %v)", cut.Sub(queued).Round(time.Millisecond), writeTimeout)
	select {
	case r := <-ends:
		require.Equal(t, server.DisconnectWriteFailed, r, "why the stream ended")
	case <-time.After(mwWait):
		t.Fatal("OnDisconnect was not called")
	}
	require.GreaterOrEqual(t, cut.Sub(start), writeTimeout, "cut before a write could have been stalled for WriteTimeout")
	require.Less(t, cut.Sub(queued), writeTimeout+2*time.Second, "cut long after WriteTimeout")
	require.Equal(t, 0, hub.ClientCount())
}

// mwLogged is what the access log recorded for one request.
type mwLogged struct {
	method, uri string
	status      int
	latency     time.Duration
	size        int64
}

// TestAccessLogSeesWholeStream: with an access log around Gzip (and
// without Gzip, where the hub takes the stream over from net/http), the
// stream's handler returns only when the stream ends, whichever side ends
// it, so the log records it then, with its whole duration and at least
// the bytes the client read; and under Gzip each event is flushed: the
// client reads the first before the second is sent.
func TestAccessLogSeesWholeStream(t *testing.T) {
	for _, tc := range []struct {
		name       string
		gzip       bool
		serverEnds bool
	}{
		{"Gzip, ended by the server", true, true},
		{"Gzip, client leaves", true, false},
		{"taken over, ended by the server", false, true},
		{"taken over, client leaves", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := server.New(server.Config{HeartbeatInterval: -1, Logger: slog.New(slog.DiscardHandler)})
			logged := make(chan mwLogged, 16)
			e := mwEcho()
			e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
				LogMethod: true, LogURI: true, LogStatus: true, LogLatency: true, LogResponseSize: true,
				LogValuesFunc: func(_ echo.Context, v middleware.RequestLoggerValues) error {
					logged <- mwLogged{v.Method, v.URI, v.Status, v.Latency, v.ResponseSize}
					return nil
				},
			}))
			if tc.gzip {
				e.Use(middleware.Gzip())
			}
			e.Any("/events", hub.Handler)
			addr := mwServe(t, e, hub, 0)

			var read atomic.Int64
			// Without an Accept-Encoding of its own, net/http's client asks
			// for gzip and decodes it as it comes.
			s := ssetest.Open(t, "http://"+addr+"/events?channels=c", nil, func(r io.Reader) io.Reader {
				return mwCounter{r, &read}
			})
			require.Equal(t, tc.gzip, s.Resp.Uncompressed, "the stream came gzipped")
			connected, _ := s.Connected(t)
			opened := time.Now()
			for i, payload := range []string{"one", "two"} {
				require.NoError(t, hub.Send("c", payload))
				ev := s.Next(t, nil)
				require.Equal(t, shared.EventMessage, ev.Name, "event %d", i+1)
				require.Contains(t, string(ev.Data), payload, "event %d", i+1)
			}
			select {
			case l := <-logged:
				t.Fatalf("the access log recorded %+v while the stream was open", l)
			default:
			}
			ending := time.Now()
			if tc.serverEnds {
				require.NoError(t, hub.Unsubscribe(connected.ClientID))
				s.Ended(t)
			} else {
				s.Close()
			}
			var l mwLogged
			select {
			case l = <-logged:
			case <-time.After(mwWait):
				t.Fatal("the access log recorded nothing after the stream ended")
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

// mwCounter counts the bytes read through it.
type mwCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c mwCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
