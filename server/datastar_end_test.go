package server_test

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/server"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDatastarEndThroughEchoRecover: over HTTP/2, a Datastar stream the
// hub ends is reset (http.ErrAbortHandler), so that Datastar's client
// reconnects; Echo's Recover middleware passes the reset on, and the
// server neither logs a panic nor stops serving.
func TestDatastarEndThroughEchoRecover(t *testing.T) {
	hub, err := server.NewHub(server.Config{HeartbeatInterval: -1})
	require.NoError(t, err)
	e := echo.New()
	e.HideBanner = true
	e.Use(middleware.Recover())
	e.GET("/events", hub.Handler)
	e.GET("/ping", func(c echo.Context) error { return c.String(http.StatusOK, "pong") })
	srv := httptest.NewUnstartedServer(e)
	errs := &lockedBuffer{}
	srv.Config.ErrorLog = log.New(errs, "", 0)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/events?channels=a", nil)
	require.NoError(t, err)
	req.Header.Set("Datastar-Request", "true")
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	read := make(chan error, 1)
	var body []byte
	go func() {
		var err error
		body, err = io.ReadAll(resp.Body)
		read <- err
	}()
	require.Eventually(t, func() bool { return hub.ClientCount() == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, hub.PatchElements("a", `<p id="x">last</p>`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, hub.Close(ctx))
	select {
	case err := <-read:
		assert.Error(t, err, "the stream is reset, not ended")
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end")
	}
	assert.Contains(t, string(body), `data: elements <p id="x">last</p>`)

	res, err := client.Get(srv.URL + "/ping")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, errs.String(), "panic", "http.ErrAbortHandler is not logged as a panic")
}
