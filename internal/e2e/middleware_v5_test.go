//go:build !(js && wasm)

package e2e_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	echo5 "github.com/labstack/echo/v5"
	middleware5 "github.com/labstack/echo/v5/middleware"

	"github.com/ssevent/ssevent/echov5"
	"github.com/ssevent/ssevent/static"
)

// TestBrowserGlobalMiddlewareEchoV5: the same stack on Echo v5, which has
// no Logger (RequestLogger remains) and whose CORS names its origins.
// Echo v5's RequestLogger counts the bytes Gzip writes beneath it, the
// compressed ones.
func TestBrowserGlobalMiddlewareEchoV5(t *testing.T) {
	hub := echov5.New(echov5.Config{})
	logged := make(chan accessLog, 64)
	e := echo5.New()
	e.Use(
		middleware5.RequestLoggerWithConfig(middleware5.RequestLoggerConfig{
			LogMethod: true, LogURI: true, LogStatus: true, LogLatency: true, LogResponseSize: true,
			LogValuesFunc: func(_ *echo5.Context, v middleware5.RequestLoggerValues) error {
				logged <- accessLog{v.Method, v.URI, v.Status, v.Latency, v.ResponseSize}
				return nil
			},
		}),
		middleware5.Recover(),
		middleware5.CORS("*"),
		middleware5.Gzip(),
		middleware5.RequestID(),
		middleware5.BodyLimit(1<<20),
		middleware5.Secure(),
	)
	e.Any("/events", hub.Handler)
	e.GET("/ssevent/*", echo5.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
	e.GET("/", func(c *echo5.Context) error { return c.HTML(http.StatusOK, middlewarePage) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { closeWithin(hub.Close) })
	underMiddleware(t, app{
		url:         srv.URL,
		send:        hub.Send,
		end:         func(id string) error { return hub.Unsubscribe(id) },
		logged:      logged,
		clients:     hub.ClientCount,
		logsEncoded: true,
	})
}
