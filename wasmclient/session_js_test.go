//go:build js && wasm

package wasmclient_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/wasmclient"
)

// noKeyInURLs fails if any request URL the hub saw holds a session key.
func noKeyInURLs(t *testing.T, h *fakeHub) {
	t.Helper()
	for _, r := range h.reqs("") {
		if u := r.Get("url").String(); strings.Contains(u, "secret") {
			t.Fatalf("a session key in the URL %s", u)
		}
	}
}

// The session key of "connected" goes back in the SSEvent-Key header of
// every POST, and of every resuming GET when the application sends headers
// of its own (without them the hub's cookie carries it, so that a
// cross-origin stream request needs no preflight); never in a URL, and
// never to the handlers.
func TestSessionKey(t *testing.T) {
	for _, path := range []string{"plain", "headers"} {
		t.Run(path, func(t *testing.T) {
			h := startHub(t)
			h.Set("keys", true)
			opts := fast()
			if path == "headers" {
				h.Set("requireKey", true)
				opts.Headers = map[string]string{"X-Test": "1"}
			}
			c := wasmclient.Connect(h.url, opts)
			defer c.Close()
			r := record(c, allNames...)
			ev := r.next(t, wasmclient.EventConnected)
			const key1, key2 = "key-client-1-secret", "key-client-2-secret"
			if strings.Contains(ev.Data, "secret") || ev.Connected.SessionKey != "" {
				t.Fatalf("the key reached a handler: %q %+v", ev.Data, ev.Connected)
			}
			if got := header(h.reqs("GET")[0], shared.HeaderSessionKey); got != "" {
				t.Fatalf("first GET sent a key %q", got)
			}
			if err := c.Subscribe("news"); err != nil {
				t.Fatal(err)
			}
			if got := h.lastHeader(shared.HeaderSessionKey); got != key1 {
				t.Fatalf("POST key %q", got)
			}

			// Resumed, with the key given again, then without it: the
			// client keeps the one it has.
			for _, again := range []bool{true, false} {
				h.Set("keyOnResume", again)
				h.Call("cut")
				if ev := r.next(t, wasmclient.EventConnected); !ev.Connected.Resumed || ev.ClientID != "client-1" {
					t.Fatalf("not resumed: %+v", ev.Connected)
				}
				gets := h.reqs("GET")
				last := gets[len(gets)-1]
				if path == "headers" && header(last, shared.HeaderSessionKey) != key1 {
					t.Fatalf("resuming GET key %q", header(last, shared.HeaderSessionKey))
				}
				if err := c.Unsubscribe("news"); err != nil {
					t.Fatal(err)
				}
				if got := h.lastHeader(shared.HeaderSessionKey); got != key1 {
					t.Fatalf("POST key %q after a resumption", got)
				}
			}

			// The session is gone: the client gets a new one, with its
			// own key.
			h.Get("streams").Call("clear")
			h.Call("cut")
			if ev := r.next(t, wasmclient.EventConnected); ev.Connected.Resumed || ev.ClientID != "client-2" {
				t.Fatalf("connected %+v", ev.Connected)
			}
			if err := c.Subscribe("news"); err != nil {
				t.Fatal(err)
			}
			if got := h.lastHeader(shared.HeaderSessionKey); got != key2 {
				t.Fatalf("POST key %q for the new session", got)
			}
			noKeyInURLs(t, h)
		})
	}
}

// tokens is a HeaderFunc handing out Authorization tokens from a queue,
// the last one again and again, and counting its calls.
type tokens struct {
	mu    sync.Mutex
	queue []string
	err   error
	calls int
}

func (tk *tokens) set(err error, queue ...string) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.queue, tk.err = queue, err
}

func (tk *tokens) count() int {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	return tk.calls
}

func (tk *tokens) headers(context.Context) (map[string]string, error) {
	tk.mu.Lock()
	defer tk.mu.Unlock()
	tk.calls++
	if tk.err != nil {
		return nil, tk.err
	}
	tok := tk.queue[0]
	if len(tk.queue) > 1 {
		tk.queue = tk.queue[1:]
	}
	return map[string]string{"Authorization": "Bearer " + tok, "X-Both": "func"}, nil
}

// HeaderFunc is called before every request, overrides Headers, and a
// failure of it is a failed attempt like a network error.
func TestHeaderFunc(t *testing.T) {
	h := startHub(t)
	h.Set("token", "t1")
	tk := &tokens{queue: []string{"t1"}}
	opts := fast()
	opts.Headers = map[string]string{"X-Both": "static", "X-Static": "s"}
	opts.HeaderFunc = tk.headers
	c := wasmclient.Connect(h.url, opts)
	defer c.Close()
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)
	if err := c.Subscribe("news"); err != nil {
		t.Fatal(err)
	}
	h.Call("cut")
	r.next(t, wasmclient.EventConnected)
	if err := c.Unsubscribe("news"); err != nil {
		t.Fatal(err)
	}
	reqs := h.reqs("")
	if len(reqs) != 4 || tk.count() != 4 {
		t.Fatalf("%d calls for %d requests", tk.count(), len(reqs))
	}
	for _, rq := range reqs {
		if header(rq, "Authorization") != "Bearer t1" || header(rq, "X-Both") != "func" || header(rq, "X-Static") != "s" {
			t.Fatalf("%s headers %v", rq.Get("method"), js.Global().Get("JSON").Call("stringify", rq.Get("headers")))
		}
	}

	// The function fails: no request is made, the client backs off and
	// asks again.
	offline := errors.New("token service offline")
	tk.set(offline, "t1")
	if err := c.Subscribe("x"); !errors.Is(err, wasmclient.ErrHeaders) || !errors.Is(err, offline) {
		t.Fatalf("Subscribe = %v", err)
	}
	h.Call("cut")
	if ev := r.next(t, wasmclient.EventError); !errors.Is(ev.Err, wasmclient.ErrStreamEnded) {
		t.Fatalf("error %v", ev.Err)
	}
	ev := r.next(t, wasmclient.EventError)
	if !errors.Is(ev.Err, wasmclient.ErrHeaders) || !errors.Is(ev.Err, offline) {
		t.Fatalf("error %v", ev.Err)
	}
	if ev := r.next(t, wasmclient.EventReconnecting); ev.Attempt != 2 {
		t.Fatalf("reconnecting %+v", ev)
	}
	tk.set(nil, "t1")
	if ev := r.next(t, wasmclient.EventConnected); !ev.Connected.Resumed {
		t.Fatalf("not resumed: %+v", ev.Connected)
	}
	if got := len(h.reqs("")); got != 5 {
		t.Fatalf("%d requests, want 5: a failed HeaderFunc makes none", got)
	}
}

// Close ends the context HeaderFunc was given, and no request follows.
func TestHeaderFuncCanceledByClose(t *testing.T) {
	h := startHub(t)
	calls := make(chan context.Context, 4)
	opts := fast()
	first := true
	var mu sync.Mutex
	opts.HeaderFunc = func(ctx context.Context) (map[string]string, error) {
		mu.Lock()
		block := !first
		first = false
		mu.Unlock()
		calls <- ctx
		if block {
			<-ctx.Done() // a token refresh that waits on the network
			return nil, ctx.Err()
		}
		return nil, nil
	}
	c := wasmclient.Connect(h.url, opts)
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)
	<-calls
	h.Call("cut")
	var ctx context.Context
	select {
	case ctx = <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("HeaderFunc not called for the reconnection")
	}
	c.Close()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("HeaderFunc's context not ended by Close")
	}
	<-c.Done()
	if n := h.Call("gets").Int(); n != 1 {
		t.Fatalf("%d GETs", n)
	}
}

// A token rotated while the stream is down: the client reconnects with the
// new one, as the same client, from its last event id.
func TestTokenRotatedWhileDown(t *testing.T) {
	h := startHub(t)
	h.Set("token", "t1")
	tk := &tokens{queue: []string{"t1"}}
	opts := fast()
	opts.HeaderFunc = tk.headers
	opts.Channels = []string{"news"}
	c := wasmclient.Connect(h.url, opts)
	defer c.Close()
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)
	h.Call("send", "news", 1)
	r.next(t, wasmclient.EventMessage)

	h.Set("status", 503) // down
	refused := h.Call("nextGet")
	h.Call("cut")
	await(t, refused)
	tk.set(nil, "t2")
	h.Set("token", "t2")
	h.Set("status", 0)
	ev := r.next(t, wasmclient.EventConnected)
	if !ev.Connected.Resumed || ev.ClientID != "client-1" {
		t.Fatalf("not resumed: %+v", ev.Connected)
	}
	gets := h.reqs("GET")
	last := gets[len(gets)-1]
	if header(last, "Authorization") != "Bearer t2" || h.lastQuery(shared.QueryClientID) != "client-1" ||
		h.lastQuery(shared.QueryLastEventID) != "101" || header(last, shared.HeaderLastEventID) != "101" {
		t.Fatalf("resuming GET %v", js.Global().Get("JSON").Call("stringify", last))
	}
}

// After a 401 the client asks HeaderFunc again and retries at once, once:
// a fresh token gets through; a second refusal stops it.
func TestUnauthorizedRefreshesOnce(t *testing.T) {
	h := startHub(t)
	h.Set("token", "t1")
	tk := &tokens{queue: []string{"t1"}}
	opts := fast()
	opts.ReconnectDelay = time.Hour // only the immediate retry can come back in time
	opts.MaxReconnectDelay = time.Hour
	opts.HeaderFunc = tk.headers
	c := wasmclient.Connect(h.url, opts)
	defer c.Close()
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)

	// Reconnecting with a stale token: one 401, then the fresh one.
	h.Set("token", "t2")
	tk.set(nil, "t1", "t2")
	h.Call("reconnect", 0)
	evs := r.until(t, wasmclient.EventConnected)
	var se *wasmclient.StatusError
	var errs, rcs []wasmclient.Event
	for _, ev := range evs {
		switch ev.Type {
		case wasmclient.EventError:
			errs = append(errs, ev)
		case wasmclient.EventReconnecting:
			rcs = append(rcs, ev)
		}
	}
	if len(errs) != 1 || !errors.As(errs[0].Err, &se) || se.Status != 401 || !errors.Is(errs[0].Err, wasmclient.ErrUnauthorized) {
		t.Fatalf("errors %+v", errs)
	}
	// The server's reconnect (attempt 0), then the retry at once.
	if len(rcs) != 2 || rcs[1].Attempt != 1 || rcs[1].Delay != 0 {
		t.Fatalf("reconnecting %+v", rcs)
	}
	if ev := evs[len(evs)-1]; !ev.Connected.Resumed || ev.ClientID != "client-1" {
		t.Fatalf("not resumed: %+v", ev.Connected)
	}
	if g, n := h.Call("gets").Int(), tk.count(); g != 3 || n != 3 {
		t.Fatalf("%d GETs, %d calls; want 3 and 3", g, n)
	}

	// A POST refused for its token is tried once more.
	h.Set("token", "t3")
	tk.set(nil, "t2", "t3")
	if err := c.Subscribe("news"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.reqs("POST")); n != 2 {
		t.Fatalf("%d POSTs", n)
	}

	// Refused again after the refresh: the client gives up.
	h.Set("token", "t4")
	tk.set(nil, "t3")
	h.Call("reconnect", 0)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client did not stop")
	}
	if !errors.Is(c.Err(), wasmclient.ErrUnauthorized) || c.ReadyState() != wasmclient.StateClosed {
		t.Fatalf("Err() = %v, state %d", c.Err(), c.ReadyState())
	}
	if g := h.Call("gets").Int(); g != 5 {
		t.Fatalf("%d GETs, want 5", g)
	}
	tk.set(nil, "t4")
	if err := c.Subscribe("x"); !errors.Is(err, wasmclient.ErrClosed) {
		t.Fatalf("Subscribe after the stop = %v", err)
	}
}

// The server ends the session with "closed": the client hands it to its
// handlers, stops with ErrSessionEnded and never asks again, whatever the
// event's data.
func TestSessionClosed(t *testing.T) {
	for _, path := range []string{"plain", "headers"} {
		for _, data := range []string{`{"reason":"ended"}`, `5`} {
			t.Run(path+" "+data, func(t *testing.T) {
				h := startHub(t)
				opts := fast()
				if path == "headers" {
					opts.Headers = map[string]string{"X-Test": "1"}
				}
				c := wasmclient.Connect(h.url, opts)
				defer c.Close()
				r := record(c, allNames...)
				r.next(t, wasmclient.EventConnected)
				h.Call("end", data)
				evs := r.until(t, wasmclient.EventError)
				if len(evs) != 2 || evs[0].Type != wasmclient.EventClosed || evs[0].Closed == nil {
					t.Fatalf("events %+v", evs)
				}
				if want := map[bool]string{true: shared.ReasonEnded}[data != "5"]; evs[0].Closed.Reason != want {
					t.Fatalf("reason %q", evs[0].Closed.Reason)
				}
				if !errors.Is(evs[1].Err, wasmclient.ErrSessionEnded) {
					t.Fatalf("error %v", evs[1].Err)
				}
				select {
				case <-c.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("client did not stop")
				}
				if !errors.Is(c.Err(), wasmclient.ErrSessionEnded) || c.ReadyState() != wasmclient.StateClosed || c.IsConnected() {
					t.Fatalf("Err() = %v, state %d", c.Err(), c.ReadyState())
				}
				// Stopped, with its stream closed: no request can
				// follow, so the count is final.
				if n := h.Call("gets").Int(); n != 1 {
					t.Fatalf("%d GETs after the session ended", n)
				}
				if err := c.Subscribe("x"); !errors.Is(err, wasmclient.ErrClosed) {
					t.Fatalf("Subscribe = %v", err)
				}
			})
		}
	}
}

// The server changes the channel set: the client takes it as its own and
// asks for it when it reconnects; a resumption that drops channels does
// the same.
func TestChannelsEvent(t *testing.T) {
	for _, path := range []string{"plain", "headers"} {
		t.Run(path, func(t *testing.T) {
			h := startHub(t)
			opts := fast()
			opts.Channels = []string{"news"}
			if path == "headers" {
				opts.Headers = map[string]string{"X-Test": "1"}
			}
			c := wasmclient.Connect(h.url, opts)
			defer c.Close()
			r := record(c, allNames...)
			r.next(t, wasmclient.EventConnected)
			h.Call("channels", js.ValueOf([]any{"default", "sport", "admin"}))
			ev := r.next(t, wasmclient.EventChannels)
			if got := strings.Join(ev.Channels, ","); got != "default,sport,admin" {
				t.Fatalf("event channels %q", got)
			}
			if got := strings.Join(c.Channels(), ","); got != "default,sport,admin" {
				t.Fatalf("Channels() = %q", got)
			}
			h.Set("dropOnResume", js.ValueOf([]any{"admin"}))
			h.Call("cut")
			ev = r.next(t, wasmclient.EventConnected)
			if got := h.lastQuery(shared.QueryChannels); got != "default,sport,admin" {
				t.Fatalf("?channels=%q", got)
			}
			if len(ev.Connected.Rejected) != 1 || ev.Connected.Rejected[0].Channel != "admin" {
				t.Fatalf("rejected %+v", ev.Connected.Rejected)
			}
			if got := strings.Join(c.Channels(), ","); got != "default,sport" {
				t.Fatalf("Channels() after the resumption = %q", got)
			}
			// An empty set is a set.
			h.Call("channels", js.ValueOf([]any{}))
			if ev := r.next(t, wasmclient.EventChannels); ev.Channels == nil || len(c.Channels()) != 0 {
				t.Fatalf("event %+v, Channels() = %q", ev, c.Channels())
			}
		})
	}
}
