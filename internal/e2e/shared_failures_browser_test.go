//go:build !(js && wasm)

package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/static"
)

// Through the shared worker, the client's failures reach each tab as in
// the page: a stream request never answered gives connect_timeout, a POST
// that hangs rejects with timeout, and an AbortSignal aborts the request
// the worker made (the server sees it cancelled).
func TestBrowserSharedTimeoutsAndAbort(t *testing.T) {
	hub := server.New(server.Config{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Close(ctx)
	})
	release := make(chan struct{})
	var hung, cancelled atomic.Int32
	e := echo.New()
	e.HideBanner = true
	e.Any("/events", func(c echo.Context) error {
		r := c.Request()
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if strings.Contains(string(body), `"slow"`) {
				// A POST that hangs until the client gives up.
				hung.Add(1)
				select {
				case <-r.Context().Done():
					cancelled.Add(1)
				case <-release:
				}
				return nil
			}
		}
		return hub.Handler(c)
	})
	e.GET("/down", func(c echo.Context) error {
		c.Response().Header().Set("Retry-After", "1")
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "message": "down for a moment"})
	})
	e.GET("/stop", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
	e.GET("/shim.html", func(c echo.Context) error { return c.HTML(200, sharedPage) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	s := &sharedSite{t: t, hub: hub, srv: srv}

	p := s.open(map[string]any{"shared": true, "channels": []string{"news"}})
	p.connected(0, 1)
	settle := func(expr string) string {
		return eval[string](p, expr+`.then(() => 'resolved', (e) => e.code || (e.name + ': ' + e.message))`)
	}
	if got := settle(`clients[0].subscribe('slow', { timeout: 300 })`); got != "timeout" {
		t.Errorf("a hanging subscribe with timeout 300: %s, want timeout", got)
	}
	got := settle(`(() => { const ac = new AbortController(); setTimeout(() => ac.abort(), 200); return clients[0].subscribe('slow', { signal: ac.signal }); })()`)
	if got != "aborted" {
		t.Errorf("an aborted subscribe: %s, want aborted", got)
	}
	deadline := time.Now().Add(15 * time.Second)
	for cancelled.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the server saw %d hanging POSTs and %d of them cancelled, want 2: the worker did not give up the requests", hung.Load(), cancelled.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if chs := eval[[]string](p, "app.channels(0)"); strings.Contains(fmt.Sprint(chs), "slow") {
		t.Errorf("channels %v after the failed subscribes", chs)
	}
	// The stream still works.
	if err := hub.Send("news", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	p.messages(0, `e.channel === 'news'`, 1)

	// A stream request never answered: connect_timeout, in every tab
	// sharing it.
	silent := newSilentListener(t)
	const opts = `{ shared: true, connectTimeout: 300, reconnectDelay: 5000 }`
	got = eval[string](p, `new Promise((resolve) => {
  const c = SSEvent.connect(`+"`"+silent.url()+"`"+`, `+opts+`);
  c.on('error', (ev) => { resolve(ev.error.code + ' ' + c.getReadyState()); c.close(); });
})`)
	if got != "connect_timeout 0" {
		t.Errorf("a stream never answered: %q, want connect_timeout while still connecting", got)
	}
	// A 503 with Retry-After: the error crosses from the worker whole.
	got = eval[string](p, `new Promise((resolve) => {
  const c = SSEvent.connect('/down', { shared: true });
  c.on('error', ({ error: e }) => { resolve([e.name, e.code, e.status, e.retryAfter].join(' ')); c.close(); });
})`)
	if got != "SSEventError unavailable 503 1000" {
		t.Errorf("a 503 with Retry-After: 1 gave the error %q", got)
	}
	// 204 stops the shared client for good: its views are closed, and a
	// later connect starts a new one (which stops too).
	for i := 0; i < 2; i++ {
		got = eval[string](p, `new Promise((resolve) => {
  const c = SSEvent.connect('/stop', { shared: true });
  c.on('error', ({ error: e }) => setTimeout(() => resolve(e.code + ' ' + c.getReadyState())));
})`)
		if got != "stopped 2" {
			t.Errorf("connect %d to a 204: %q, want stopped and closed", i+1, got)
		}
	}
}
