//go:build js && wasm

package wasmclient_test

import (
	"context"
	"errors"
	"syscall/js"
	"testing"
	"time"

	"github.com/ssevent/ssevent/wasmclient"
)

// silentServerJS accepts connections and never answers: a server that
// hangs before its response headers. gets counts the requests it read (a
// connection opened ahead of need, with no request on it, does not count).
const silentServerJS = `(function () {
  const net = require('net');
  const s = { gets: 0, sockets: [] };
  s.server = net.createServer((sock) => {
    s.sockets.push(sock);
    sock.on('error', () => {});
    sock.on('data', (d) => { s.gets += (d.toString().match(/^GET /gm) || []).length; });
  });
  s.listen = () => new Promise((resolve) => s.server.listen(0, '127.0.0.1', () => resolve('http://127.0.0.1:' + s.server.address().port + '/events')));
  s.close = () => { s.sockets.forEach((x) => x.destroy()); s.server.close(); };
  return s;
})()`

// waitDone waits for the client to stop for good.
func waitDone(t *testing.T, c *wasmclient.Client) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("client did not stop")
	}
}

// A stream request never answered is abandoned after ConnectTimeout,
// reported with ErrConnectTimeout and retried: one connection per attempt.
func TestConnectTimeout(t *testing.T) {
	s := js.Global().Call("eval", silentServerJS)
	url := await(t, s.Call("listen")).String()
	t.Cleanup(func() { s.Call("close") })
	opts := fast()
	opts.ConnectTimeout = 200 * time.Millisecond
	opts.MaxReconnectAttempts = 2
	c := wasmclient.Connect(url, opts)
	defer c.Close()
	r := record(c, allNames...)
	for i := 1; i <= 2; i++ {
		evs := r.until(t, wasmclient.EventReconnecting)
		if ev := evs[len(evs)-2]; ev.Type != wasmclient.EventError || !errors.Is(ev.Err, wasmclient.ErrConnectTimeout) {
			t.Fatalf("attempt %d: %+v", i, evs)
		}
		if c.ReadyState() != wasmclient.StateConnecting {
			t.Fatalf("state %d while retrying", c.ReadyState())
		}
	}
	waitDone(t, c)
	if err := c.Err(); !errors.Is(err, wasmclient.ErrMaxReconnectAttempts) || !errors.Is(err, wasmclient.ErrConnectTimeout) {
		t.Fatalf("Err() = %v", err)
	}
	// The last request may still be on its way to the server.
	for deadline := time.Now().Add(5 * time.Second); s.Get("gets").Int() < 3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Get("gets").Int(); n != 3 {
		t.Fatalf("%d requests, want 3: the first and two retries", n)
	}
}

// A subscribe whose POST hangs ends with ErrTimeout after RequestTimeout,
// or the deadline of its ctx, which replaces it; a canceled ctx gives
// ErrAborted. The client goes on.
func TestRequestTimeoutAndAbort(t *testing.T) {
	h := startHub(t)
	opts := fast()
	opts.RequestTimeout = 50 * time.Millisecond
	c := wasmclient.Connect(h.url, opts)
	defer c.Close()
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)
	h.Set("hangPost", true)

	err := c.Subscribe("news")
	if !errors.Is(err, wasmclient.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Subscribe = %v, want ErrTimeout", err)
	}
	// A longer deadline of the call's own replaces RequestTimeout.
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err = c.UnsubscribeContext(ctx, "news")
	cancel()
	if !errors.Is(err, wasmclient.ErrTimeout) || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("UnsubscribeContext = %v after %v", err, time.Since(start))
	}
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	posted := h.Call("nextPost")
	go func() { errc <- c.SubscribeContext(ctx, "news") }()
	await(t, posted)
	cancel()
	if err := <-errc; !errors.Is(err, wasmclient.ErrAborted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled SubscribeContext = %v", err)
	}
	// Already canceled: nothing is sent.
	n := len(h.reqs("POST"))
	if err := c.SubscribeContext(ctx, "news"); !errors.Is(err, wasmclient.ErrAborted) {
		t.Fatalf("SubscribeContext(canceled) = %v", err)
	}
	if got := len(h.reqs("POST")); got != n {
		t.Fatalf("%d POSTs after a canceled call", got-n)
	}

	h.Set("hangPost", false)
	if err := c.Subscribe("news"); err != nil || !c.IsConnected() {
		t.Fatalf("after the timeouts: %v, connected %v", err, c.IsConnected())
	}
}

// A subscribe waiting for a connection that never comes times out too.
func TestRequestTimeoutWhileConnecting(t *testing.T) {
	s := js.Global().Call("eval", silentServerJS)
	url := await(t, s.Call("listen")).String()
	t.Cleanup(func() { s.Call("close") })
	opts := fast()
	opts.RequestTimeout = 50 * time.Millisecond
	c := wasmclient.Connect(url, opts)
	defer c.Close()
	if err := c.Subscribe("news"); !errors.Is(err, wasmclient.ErrTimeout) {
		t.Fatalf("Subscribe = %v, want ErrTimeout", err)
	}
}

// 204 No Content stops the client for good with ErrStopped, after one GET.
func TestNoContentStops(t *testing.T) {
	h := startHub(t)
	h.Set("status", 204)
	c := wasmclient.Connect(h.url, fast())
	defer c.Close()
	r := record(c, allNames...)
	waitDone(t, c)
	if !errors.Is(c.Err(), wasmclient.ErrStopped) || c.ReadyState() != wasmclient.StateClosed {
		t.Fatalf("Err() = %v, state %d", c.Err(), c.ReadyState())
	}
	if ev := r.next(t, wasmclient.EventError); !errors.Is(ev.Err, wasmclient.ErrStopped) {
		t.Fatalf("error event %v", ev.Err)
	}
	time.Sleep(200 * time.Millisecond) // ten backoff periods: nothing more is asked
	if got := h.Call("gets").Int(); got != 1 {
		t.Fatalf("%d GETs, want 1", got)
	}
}

// Retry-After of a 503 or 429 (seconds or an HTTP date) is the wait before
// the next attempt, bounded by MaxReconnectDelay; the error keeps the
// server's status and code.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string // JavaScript expression
		maxDelay   time.Duration
		min, max   time.Duration // of the "reconnecting" delay
	}{
		{"503 seconds", 503, `'1'`, 0, time.Second, time.Second},
		{"429 seconds", 429, `'2'`, 0, 2 * time.Second, 2 * time.Second},
		// A date has whole seconds, and a loaded machine takes its time
		// between making the header and reading it: a wide range.
		{"503 HTTP date", 503, `new Date(Date.now() + 20000).toUTCString()`, 0, 5 * time.Second, 20 * time.Second},
		{"bounded by MaxReconnectDelay", 503, `'120'`, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond},
		{"500 ignores it", 500, `'120'`, 40 * time.Millisecond, 0, 40 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHub(t)
			h.Set("status", tt.status)
			h.Set("retryAfter", js.Global().Call("eval", tt.retryAfter))
			opts := fast()
			opts.MaxReconnectDelay = tt.maxDelay // 0: no bound but MaxServerRetry
			c := wasmclient.Connect(h.url, opts)
			defer c.Close()
			r := record(c, allNames...)
			evs := r.until(t, wasmclient.EventReconnecting)
			rc, er := evs[len(evs)-1], evs[len(evs)-2]
			var se *wasmclient.StatusError
			if !errors.As(er.Err, &se) || se.Status != tt.status || se.Code != "refused" {
				t.Fatalf("error %v", er.Err)
			}
			if rc.Delay < tt.min || rc.Delay > tt.max {
				t.Fatalf("reconnecting after %v, want %v to %v", rc.Delay, tt.min, tt.max)
			}
		})
	}
}

// The next attempt after a 503 with Retry-After: 1 comes at least a second
// after the refusal (server-side times; no upper bound but a generous one).
func TestRetryAfterWaits(t *testing.T) {
	h := startHub(t)
	h.Set("status", 503)
	h.Set("retryAfter", "1")
	c := wasmclient.Connect(h.url, wasmclient.Options{ReconnectDelay: 20 * time.Millisecond})
	defer c.Close()
	r := record(c, allNames...)
	r.next(t, wasmclient.EventReconnecting)
	h.Set("status", 0)
	r.next(t, wasmclient.EventConnected)
	gets := h.reqs("GET")
	waited := time.Duration((gets[1].Get("at").Float() - gets[0].Get("at").Float()) * float64(time.Millisecond))
	if waited < time.Second || waited > 8*time.Second {
		t.Fatalf("second GET %v after the first, want 1 s or a little more", waited)
	}
}

// A negative ReconnectDelay (the JavaScript reconnectDelay: 0) makes the
// first attempt after a loss at once, and backs off from 100 ms after it.
func TestNoReconnectDelay(t *testing.T) {
	h := startHub(t)
	c := wasmclient.Connect(h.url, wasmclient.Options{ReconnectDelay: -1, MaxReconnectDelay: 400 * time.Millisecond})
	defer c.Close()
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)
	h.Set("status", 500)
	h.Call("cut")
	for i, max := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond} {
		ev := r.next(t, wasmclient.EventReconnecting)
		if ev.Attempt != i+1 || ev.Delay > max {
			t.Fatalf("reconnecting %+v, want attempt %d within %v", ev, i+1, max)
		}
	}
	h.Set("status", 0)
	if ev := r.next(t, wasmclient.EventConnected); !ev.Connected.Resumed {
		t.Fatalf("not resumed: %+v", ev.Connected)
	}
}
