//go:build !wasm

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/shared"
)

const waitTimeout = 15 * time.Second

func TestMain(m *testing.M) {
	code := browsertest.Main(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// built builds the demo's wasm and its server binary once per run and
// returns their paths.
func built(t testing.TB) (wasm, bin string) {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "ssevent-demo-"); buildErr != nil {
			return
		}
		for _, b := range []struct {
			out string
			env []string
		}{
			{"app.wasm", []string{"GOOS=js", "GOARCH=wasm"}},
			{"ssevent-demo", nil},
		} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(buildDir, b.out), ".")
			cmd.Env = append(os.Environ(), b.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", b.out, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "app.wasm"), filepath.Join(buildDir, "ssevent-demo")
}

// running is a demo served in the test process.
type running struct {
	*demo
	url  string // http://127.0.0.1:port
	stop func() // graceful shutdown; waits for serve to return
}

// start serves a demo on addr ("127.0.0.1:0" for a free port).
func start(t testing.TB, addr string, cfg config) *running {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := newDemo(cfg)
	require.NoError(t, err)
	var l net.Listener
	// A restarted server takes its predecessor's port, which the kernel
	// may hold a moment longer.
	require.Eventually(t, func() bool {
		l, err = net.Listen("tcp", addr)
		return err == nil
	}, waitTimeout, 20*time.Millisecond, "listen on %s", addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.serve(ctx, l) }()
	r := &running{demo: d, url: "http://" + l.Addr().String()}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(shutdownTimeout + 5*time.Second):
				t.Errorf("demo on %s did not shut down", r.url)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

// post sends a JSON body and decodes the JSON answer.
func post(t testing.TB, u, ctype, body string) (int, map[string]string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]string
	require.NoError(t, json.Unmarshal(b, &out), "body %q", b)
	return resp.StatusCode, out, resp.Header
}

func postJSON(t testing.TB, u string, v any) (int, map[string]string) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	status, out, _ := post(t, u, "application/json", string(b))
	return status, out
}

func getStats(t testing.TB, base string) stats {
	t.Helper()
	resp, err := http.Get(base + "/api/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var s stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

func (s stats) subscribers(ch string) int {
	for _, c := range s.Channels {
		if c.Name == ch {
			return c.Subscribers
		}
	}
	return -1
}

// stream reads one event stream with the protocol's decoder.
type stream struct {
	*ssetest.Stream
	t  testing.TB
	id string
}

func openStream(t testing.TB, base string, channels ...string) *stream {
	t.Helper()
	u := base + "/events"
	if len(channels) > 0 {
		u += "?channels=" + url.QueryEscape(strings.Join(channels, ","))
	}
	s := &stream{Stream: ssetest.Open(t, u, nil, nil), t: t}
	c, _ := s.Connected(t)
	s.id = c.ClientID
	return s
}

// isClock tells the clock channel's ticks, which arrive on their own.
func isClock(ev shared.Event) bool {
	return ev.Name == shared.EventMessage && bytes.Contains(ev.Data, []byte(`"channel":"clock"`))
}

// next returns the next event that is not a heartbeat or a clock tick.
func (s *stream) next() shared.Event {
	s.t.Helper()
	return s.Next(s.t, isClock)
}

// message reads the next event as a demo message.
func (s *stream) message(name string) (channel string, m message) {
	s.t.Helper()
	ev := s.next()
	require.Equal(s.t, name, ev.Name, "data %s", ev.Data)
	if name == shared.EventMessage {
		var env struct {
			Channel string  `json:"channel"`
			Payload message `json:"payload"`
		}
		require.NoError(s.t, json.Unmarshal(ev.Data, &env))
		return env.Channel, env.Payload
	}
	require.NoError(s.t, json.Unmarshal(ev.Data, &m))
	return "", m
}

// ended waits for the server to end the stream.
func (s *stream) ended() {
	s.t.Helper()
	s.Ended(s.t)
}
