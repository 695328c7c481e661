//go:build js && wasm

package wasmclient_test

import (
	"errors"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/wasmclient"
)

// fakeHubJS is a small Node HTTP server speaking the protocol
// (docs/PROTOCOL.md), enough to drive the client's logic under Node.
//
// Settings: status (refuse every GET with it, first; with retryAfter, a
// Retry-After header too; 204 with no body), hangPost (never answer a
// POST), token (GETs and
// POSTs need "Authorization: Bearer <token>", else 401), keys (new
// sessions get a sessionKey, "key-<id>-secret"; keyOnResume repeats it on
// a resumption; POSTs need it in the SSEvent-Key header, else 403, and so
// do resumptions when requireKey is set: Node's EventSource has no cookie
// jar), dropOnResume (channels a resumption drops, listed as rejected).
const fakeHubJS = `(function () {
  const http = require('http');
  const hub = { requests: [], streams: new Map(), n: 0, status: 0, heartbeat: 0, rejected: [], nextId: 100, epoch: '', waiting: [], waitingPost: [],
    retryAfter: '', hangPost: false, token: '', keys: false, keyOnResume: true, requireKey: false, dropOnResume: [] };
  const refuse = (res, status, error) => {
    if (status === 204) { res.writeHead(204); return res.end(); }
    const h = { 'Content-Type': 'application/json' };
    if (hub.retryAfter) h['Retry-After'] = hub.retryAfter;
    res.writeHead(status, h);
    res.end(JSON.stringify({ error, message: 'status ' + status }));
  };
  const authorized = (req) => !hub.token || req.headers.authorization === 'Bearer ' + hub.token;
  // id gives the wire form of an event id: "<epoch>-<n>" once an epoch is set.
  hub.id = (n) => (hub.epoch ? hub.epoch + '-' : '') + n;
  hub.server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    const rec = { method: req.method, url: req.url, path: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, at: performance.now() };
    hub.requests.push(rec);
    if (req.method === 'GET') hub.waiting.splice(0).forEach((resolve) => resolve(rec));
    if (req.method === 'POST') hub.waitingPost.splice(0).forEach((resolve) => resolve(rec));
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        if (hub.hangPost) return;
        const b = JSON.parse(body);
        rec.body = b;
        const st = hub.streams.get(b.clientId);
        if (!authorized(req)) return refuse(res, 401, 'unauthorized');
        if (!st) return refuse(res, 404, 'unknown_client');
        if (st.key && req.headers['ssevent-key'] !== st.key) return refuse(res, 403, 'forbidden');
        const rejected = b.channels.filter((c) => hub.rejected.includes(c)).map((c) => ({ channel: c, reason: 'forbidden' }));
        const accepted = b.channels.filter((c) => !hub.rejected.includes(c));
        if (b.action === 'subscribe') accepted.forEach((c) => { if (!st.channels.includes(c)) st.channels.push(c); });
        else st.channels = st.channels.filter((c) => !accepted.includes(c));
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ clientId: b.clientId, action: b.action, accepted, rejected, channels: st.channels }));
      });
      return;
    }
    if (hub.status) return refuse(res, hub.status, 'refused');
    if (!authorized(req)) return refuse(res, 401, 'unauthorized');
    const old = rec.query.clientId && hub.streams.get(rec.query.clientId);
    if (old && old.key && hub.requireKey && req.headers['ssevent-key'] !== old.key) return refuse(res, 403, 'forbidden');
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const resumed = !!old;
    const id = resumed ? rec.query.clientId : 'client-' + (++hub.n);
    let channels = ['default'].concat((rec.query.channels || '').split(',').filter((c) => c && c !== 'default'));
    let rejected;
    if (resumed && hub.dropOnResume.length) {
      rejected = channels.filter((c) => hub.dropOnResume.includes(c)).map((c) => ({ channel: c, reason: 'forbidden' }));
      channels = channels.filter((c) => !hub.dropOnResume.includes(c));
    }
    const key = resumed ? old.key : (hub.keys ? 'key-' + id + '-secret' : '');
    const st = { id, res, channels, key };
    hub.streams.set(id, st);
    hub.last = st;
    const data = { clientId: id, channels, rejected, resumed, heartbeat: hub.heartbeat };
    if (key && (!resumed || hub.keyOnResume)) data.sessionKey = key;
    // With an epoch, "connected" carries the stream's starting position.
    const start = hub.epoch ? 'id: ' + hub.id(hub.nextId) + '\n' : '';
    res.write('retry: 3000\n\n' + start + 'event: connected\ndata: ' + JSON.stringify(data) + '\n\n');
  });
  hub.listen = () => new Promise((resolve) => hub.server.listen(0, '127.0.0.1', () => resolve('http://127.0.0.1:' + hub.server.address().port + '/events')));
  hub.write = (s) => { hub.last.res.write(s); };
  hub.send = (channel, payload) => { hub.write('id: ' + hub.id(++hub.nextId) + '\ndata: ' + JSON.stringify({ channel, payload }) + '\n\n'); };
  hub.custom = (name, payload) => { hub.write('id: ' + hub.id(++hub.nextId) + '\nevent: ' + name + '\ndata: ' + JSON.stringify(payload) + '\n\n'); };
  hub.cut = () => { hub.last.res.destroy(); };
  // reconnect ends the stream as a server shutting down does; data defaults
  // to {"reason":"shutdown","retry":retry}. endedAt is when it was written.
  hub.reconnect = (retry, data) => {
    data = data === undefined ? JSON.stringify({ reason: 'shutdown', retry }) : data;
    hub.write((Number.isInteger(retry) && retry >= 0 ? 'retry: ' + retry + '\n' : '') + 'event: reconnect\ndata: ' + data + '\n\n');
    hub.endedAt = performance.now();
    hub.last.res.end();
  };
  // channels changes the client's set as a server-side Subscribe does.
  hub.channels = (list) => { hub.last.channels = list; hub.write('event: channels\ndata: ' + JSON.stringify({ channels: list }) + '\n\n'); };
  // end ends the session for good, as Unsubscribe(id) does.
  hub.end = (data) => {
    hub.write('event: closed\ndata: ' + (data === undefined ? JSON.stringify({ reason: 'ended' }) : data) + '\n\n');
    hub.streams.delete(hub.last.id);
    hub.last.res.end();
  };
  // nextGet resolves with the record of the next GET.
  hub.nextGet = () => new Promise((resolve) => hub.waiting.push(resolve));
  hub.nextPost = () => new Promise((resolve) => hub.waitingPost.push(resolve));
  hub.gets = () => hub.requests.filter((r) => r.method === 'GET').length;
  hub.close = () => { hub.server.closeAllConnections(); hub.server.close(); };
  return hub;
})()`

type fakeHub struct {
	js.Value
	url string
}

func startHub(t *testing.T) *fakeHub {
	t.Helper()
	h := js.Global().Call("eval", fakeHubJS)
	url := await(t, h.Call("listen")).String()
	t.Cleanup(func() { h.Call("close") })
	return &fakeHub{Value: h, url: url}
}

func (h *fakeHub) lastQuery(key string) string {
	reqs := h.Get("requests")
	for i := reqs.Length() - 1; i >= 0; i-- {
		if r := reqs.Index(i); r.Get("method").String() == "GET" {
			v := r.Get("query").Get(key)
			if v.IsUndefined() {
				return ""
			}
			return v.String()
		}
	}
	return ""
}

func (h *fakeHub) lastHeader(key string) string {
	reqs := h.Get("requests")
	v := reqs.Index(reqs.Length() - 1).Get("headers").Get(strings.ToLower(key))
	if v.IsUndefined() {
		return ""
	}
	return v.String()
}

// reqs returns the recorded requests of the method, or all of them for "".
func (h *fakeHub) reqs(method string) []js.Value {
	var out []js.Value
	all := h.Get("requests")
	for i := 0; i < all.Length(); i++ {
		if r := all.Index(i); method == "" || r.Get("method").String() == method {
			out = append(out, r)
		}
	}
	return out
}

// header is a recorded request's header, "" when absent.
func header(r js.Value, key string) string {
	v := r.Get("headers").Get(strings.ToLower(key))
	if v.IsUndefined() {
		return ""
	}
	return v.String()
}

func await(t *testing.T, p js.Value) js.Value {
	t.Helper()
	ch := make(chan js.Value, 1)
	f := js.FuncOf(func(_ js.Value, args []js.Value) any { ch <- args[0]; return nil })
	defer f.Release()
	p.Call("then", f)
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("promise did not settle")
		return js.Undefined()
	}
}

// recorder collects the events of the given names.
type recorder struct {
	ch chan wasmclient.Event
}

func record(c *wasmclient.Client, names ...string) *recorder {
	r := &recorder{ch: make(chan wasmclient.Event, 256)}
	for _, n := range names {
		c.On(n, func(ev wasmclient.Event) { r.ch <- ev })
	}
	return r
}

// next waits for the next event of the given type, skipping others.
func (r *recorder) next(t *testing.T, typ string) wasmclient.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-r.ch:
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event", typ)
		}
	}
}

// until waits for the next event of the given type and returns it with
// the events before it.
func (r *recorder) until(t *testing.T, typ string) []wasmclient.Event {
	t.Helper()
	var evs []wasmclient.Event
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-r.ch:
			evs = append(evs, ev)
			if ev.Type == typ {
				return evs
			}
		case <-deadline:
			t.Fatalf("no %q event after %+v", typ, evs)
		}
	}
}

var allNames = []string{
	wasmclient.EventOpen, wasmclient.EventConnected, wasmclient.EventMessage,
	wasmclient.EventError, wasmclient.EventReconnecting, wasmclient.EventGap,
	wasmclient.EventReconnect, wasmclient.EventChannels, wasmclient.EventClosed,
}

func fast() wasmclient.Options {
	return wasmclient.Options{ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 40 * time.Millisecond}
}

func TestConnectAndMessages(t *testing.T) {
	for _, path := range []string{"plain", "headers"} {
		t.Run(path, func(t *testing.T) {
			h := startHub(t)
			opts := fast()
			opts.Channels = []string{"news"}
			if path == "headers" {
				opts.Headers = map[string]string{"Authorization": "Bearer secret"}
			}
			c := wasmclient.Connect(h.url, opts)
			defer c.Close()
			r := record(c, allNames...)
			r.next(t, wasmclient.EventOpen)
			ev := r.next(t, wasmclient.EventConnected)
			if ev.ClientID != "client-1" || c.ClientID() != "client-1" || !c.IsConnected() || c.ReadyState() != wasmclient.StateOpen {
				t.Fatalf("connected: %+v, id %q, connected %v, state %d", ev, c.ClientID(), c.IsConnected(), c.ReadyState())
			}
			if got := strings.Join(ev.Connected.Channels, ","); got != "default,news" {
				t.Fatalf("channels %q", got)
			}
			if got := h.lastQuery(shared.QueryChannels); got != "news" {
				t.Fatalf("?channels=%q", got)
			}
			if path == "headers" && h.lastHeader("Authorization") != "Bearer secret" {
				t.Fatalf("Authorization %q", h.lastHeader("Authorization"))
			}

			h.Call("send", "news", map[string]any{"n": 1})
			ev = r.next(t, wasmclient.EventMessage)
			if ev.Channel != "news" || string(ev.Payload) != `{"n":1}` || ev.ID != "101" {
				t.Fatalf("message %+v", ev)
			}

			// A custom name registered after connecting is heard, and a
			// removed handler is not called.
			alerts := make(chan wasmclient.Event, 4)
			removed := make(chan wasmclient.Event, 4)
			c.On("alert", func(ev wasmclient.Event) { alerts <- ev })
			remove := c.On("alert", func(ev wasmclient.Event) { removed <- ev })
			remove()
			remove()
			h.Call("custom", "alert", "hi")
			select {
			case ev := <-alerts:
				if string(ev.Payload) != `"hi"` || ev.ID != "102" {
					t.Fatalf("alert %+v", ev)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no alert")
			}
			if len(removed) != 0 {
				t.Fatal("removed handler called")
			}
			c.Off("alert")
			h.Call("custom", "alert", "again")
			h.Call("send", "news", 2)
			r.next(t, wasmclient.EventMessage)
			if len(alerts) != 0 {
				t.Fatal("handler called after Off")
			}
		})
	}
}

func TestSubscribe(t *testing.T) {
	h := startHub(t)
	h.Set("rejected", js.ValueOf([]any{"secret"}))
	c := wasmclient.Connect(h.url, fast())
	defer c.Close()
	// Subscribe before the stream is up: it waits for "connected".
	if err := c.Subscribe("a", "b"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Channels(), ","); got != "default,a,b" {
		t.Fatalf("channels %q", got)
	}
	// A server that gave no session key gets none.
	if got := h.lastHeader(shared.HeaderSessionKey); got != "" {
		t.Fatalf("%s: %q without a session key", shared.HeaderSessionKey, got)
	}
	err := c.Subscribe("c", "secret")
	var re *wasmclient.RejectedError
	if !errors.Is(err, wasmclient.ErrRejected) || !errors.As(err, &re) || re.Rejected[0].Channel != "secret" {
		t.Fatalf("Subscribe(secret) = %v", err)
	}
	if err := c.Unsubscribe("a"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Channels(), ","); got != "default,b,c" {
		t.Fatalf("channels %q", got)
	}
	if err := c.Subscribe("bad,name"); !errors.Is(err, shared.ErrInvalidChannel) {
		t.Fatalf("Subscribe(bad,name) = %v", err)
	}
	h.Get("streams").Call("clear")
	var se *wasmclient.StatusError
	if err := c.Subscribe("x"); !errors.As(err, &se) || se.Status != 404 || se.Code != "unknown_client" {
		t.Fatalf("Subscribe to a forgotten client = %v", err)
	}
	c.Close()
	if err := c.Subscribe("x"); !errors.Is(err, wasmclient.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v", err)
	}
}

func TestReconnectResumes(t *testing.T) {
	for _, path := range []string{"plain", "headers"} {
		t.Run(path, func(t *testing.T) {
			h := startHub(t)
			opts := fast()
			if path == "headers" {
				opts.Headers = map[string]string{"X-Test": "1"}
			}
			c := wasmclient.Connect(h.url, opts)
			defer c.Close()
			r := record(c, allNames...)
			r.next(t, wasmclient.EventConnected)
			if err := c.Subscribe("news"); err != nil {
				t.Fatal(err)
			}
			h.Call("send", "news", 1)
			r.next(t, wasmclient.EventMessage)
			h.Call("cut")
			if ev := r.next(t, wasmclient.EventError); !errors.Is(ev.Err, wasmclient.ErrStreamEnded) {
				t.Fatalf("error %v", ev.Err)
			}
			if ev := r.next(t, wasmclient.EventReconnecting); ev.Attempt != 1 || ev.Delay <= 0 {
				t.Fatalf("reconnecting %+v", ev)
			}
			ev := r.next(t, wasmclient.EventConnected)
			if !ev.Connected.Resumed || ev.ClientID != "client-1" {
				t.Fatalf("not resumed: %+v", ev.Connected)
			}
			if h.lastQuery(shared.QueryClientID) != "client-1" || h.lastQuery(shared.QueryLastEventID) != "101" ||
				h.lastQuery(shared.QueryChannels) != "default,news" {
				t.Fatalf("reconnect query %v", h.Get("requests").Index(h.Get("requests").Length()-1).Get("query"))
			}
			if path == "headers" && h.lastHeader(shared.HeaderLastEventID) != "101" {
				t.Fatalf("Last-Event-ID %q", h.lastHeader(shared.HeaderLastEventID))
			}
			// The attempt count starts again after a success.
			h.Call("cut")
			if ev := r.next(t, wasmclient.EventReconnecting); ev.Attempt != 1 {
				t.Fatalf("attempt %d", ev.Attempt)
			}
			r.next(t, wasmclient.EventConnected)
		})
	}
}

// The server ends the stream with "reconnect": the client comes back after
// the server's delay, not its own backoff, as the same client with its
// channels and last event id, and says so without an "error".
func TestServerReconnect(t *testing.T) {
	for _, path := range []string{"plain", "headers"} {
		t.Run(path, func(t *testing.T) {
			h := startHub(t)
			h.Set("epoch", "k3x9ab")
			opts := wasmclient.Options{
				// The backoff would wait at least a tenth of this, 6
				// minutes: only the server's delay explains a return
				// within the test's wait.
				ReconnectDelay:       time.Hour,
				MaxReconnectDelay:    time.Hour,
				MaxReconnectAttempts: 1,
				Channels:             []string{"news"},
			}
			if path == "headers" {
				opts.Headers = map[string]string{"X-Test": "1"}
			}
			c := wasmclient.Connect(h.url, opts)
			defer c.Close()
			r := record(c, allNames...)
			r.next(t, wasmclient.EventConnected)
			h.Call("send", "news", 1)
			if ev := r.next(t, wasmclient.EventMessage); ev.ID != "k3x9ab-101" {
				t.Fatalf("message id %q", ev.ID)
			}

			next := h.Call("nextGet")
			h.Call("reconnect", 300)
			evs := r.until(t, wasmclient.EventReconnecting)
			ev := evs[len(evs)-1]
			if ev.Attempt != 0 || ev.Delay != 300*time.Millisecond {
				t.Fatalf("reconnecting %+v", ev)
			}
			var rc *shared.Reconnect
			for _, ev := range evs {
				switch ev.Type {
				case wasmclient.EventReconnect:
					rc = ev.Reconnect
				case wasmclient.EventError:
					t.Fatalf("error event %v", ev.Err)
				}
			}
			if rc == nil || rc.Reason != shared.ReasonShutdown || rc.Retry != 300 {
				t.Fatalf("reconnect event %+v in %+v", rc, evs)
			}

			req := await(t, next)
			// A lower bound only: a loaded machine may be late, never early.
			if waited := req.Get("at").Float() - h.Get("endedAt").Float(); waited < 300 {
				t.Fatalf("reconnected after %.1f ms, before the server's 300 ms", waited)
			}
			if h.lastQuery(shared.QueryClientID) != "client-1" || h.lastQuery(shared.QueryLastEventID) != "k3x9ab-101" ||
				h.lastQuery(shared.QueryChannels) != "default,news" {
				t.Fatalf("reconnect query %v", js.Global().Get("JSON").Call("stringify", req.Get("query")))
			}
			if path == "headers" && h.lastHeader(shared.HeaderLastEventID) != "k3x9ab-101" {
				t.Fatalf("Last-Event-ID %q", h.lastHeader(shared.HeaderLastEventID))
			}
			evs = r.until(t, wasmclient.EventConnected)
			if ev := evs[len(evs)-1]; !ev.Connected.Resumed || ev.ClientID != "client-1" {
				t.Fatalf("not resumed: %+v", ev.Connected)
			}
			for _, ev := range evs {
				if ev.Type == wasmclient.EventError {
					t.Fatalf("error event %v", ev.Err)
				}
			}
			if n := h.Call("gets").Int(); n != 2 {
				t.Fatalf("%d GETs, want 2", n)
			}

			// The stream after it works as before, and its starting
			// position is kept.
			h.Call("send", "news", 2)
			if ev := r.next(t, wasmclient.EventMessage); ev.ID != "k3x9ab-102" || string(ev.Payload) != "2" {
				t.Fatalf("message after the reconnect %+v", ev)
			}
		})
	}
}

// The client bounds the server's delay to [0, MaxServerRetry].
func TestServerReconnectBounds(t *testing.T) {
	tests := []struct {
		name  string
		retry float64
		want  time.Duration
	}{
		{"absurd delay is cut", 1e300, wasmclient.MaxServerRetry},
		{"just above the bound is cut", float64((wasmclient.MaxServerRetry + time.Millisecond) / time.Millisecond), wasmclient.MaxServerRetry},
		{"negative is at once", -5, 0},
		{"zero is at once", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHub(t)
			c := wasmclient.Connect(h.url, wasmclient.Options{ReconnectDelay: time.Hour})
			defer c.Close()
			r := record(c, allNames...)
			r.next(t, wasmclient.EventConnected)
			h.Call("reconnect", tt.retry)
			if ev := r.next(t, wasmclient.EventReconnect); ev.Reconnect.Retry != tt.want.Milliseconds() {
				t.Fatalf("reconnect event %+v", ev.Reconnect)
			}
			if ev := r.next(t, wasmclient.EventReconnecting); ev.Delay != tt.want || ev.Attempt != 0 {
				t.Fatalf("reconnecting %+v", ev)
			}
			if tt.want == 0 {
				r.next(t, wasmclient.EventConnected)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		max     int
		want    error
		gets    int // GET requests made: one per attempt
	}{
		{"401 stops at once", 401, nil, 0, wasmclient.ErrUnauthorized, 1},
		{"403 stops at once (headers)", 403, map[string]string{"Authorization": "x"}, 0, wasmclient.ErrForbidden, 1},
		{"500 backs off until the limit", 500, nil, 2, wasmclient.ErrMaxReconnectAttempts, 3},
		{"404 backs off until the limit (headers)", 404, map[string]string{"Authorization": "x"}, 3, wasmclient.ErrMaxReconnectAttempts, 4},
		{"no reconnection attempt", 500, nil, -1, wasmclient.ErrMaxReconnectAttempts, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHub(t)
			h.Set("status", tt.status)
			opts := fast()
			opts.Headers, opts.MaxReconnectAttempts = tt.headers, tt.max
			c := wasmclient.Connect(h.url, opts)
			defer c.Close()
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("client did not stop")
			}
			if !errors.Is(c.Err(), tt.want) || c.ReadyState() != wasmclient.StateClosed {
				t.Fatalf("Err() = %v, state %d", c.Err(), c.ReadyState())
			}
			if tt.status == 401 || tt.status == 403 {
				var se *wasmclient.StatusError
				if !errors.As(c.Err(), &se) || se.Status != tt.status {
					t.Fatalf("Err() = %#v", c.Err())
				}
			}
			if got := h.Call("gets").Int(); got != tt.gets {
				t.Fatalf("%d GET requests, want %d", got, tt.gets)
			}
		})
	}
}

func TestCloseStopsEverything(t *testing.T) {
	h := startHub(t)
	c := wasmclient.Connect(h.url, fast())
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)
	c.Close()
	c.Close()
	if c.ReadyState() != wasmclient.StateClosed || c.IsConnected() || c.Err() != nil {
		t.Fatalf("after Close: state %d, connected %v, err %v", c.ReadyState(), c.IsConnected(), c.Err())
	}
	n := h.Get("requests").Length()
	// The server's stream ends when the client closes it.
	done := make(chan struct{})
	f := js.FuncOf(func(js.Value, []js.Value) any { close(done); return nil })
	defer f.Release()
	h.Get("last").Get("res").Call("on", "close", f)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
	time.Sleep(100 * time.Millisecond) // several backoff periods: nothing may happen
	if got := h.Get("requests").Length(); got != n {
		t.Fatalf("%d requests after Close", got-n)
	}
	if len(r.ch) != 0 {
		t.Fatalf("event after Close: %+v", <-r.ch)
	}
}

func TestDisableAutoReconnect(t *testing.T) {
	tests := []struct {
		name string
		end  func(h *fakeHub)
	}{
		{"dropped", func(h *fakeHub) { h.Call("cut") }},
		{"server asks to reconnect", func(h *fakeHub) { h.Call("reconnect", 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHub(t)
			opts := fast()
			opts.DisableAutoReconnect = true
			c := wasmclient.Connect(h.url, opts)
			r := record(c, allNames...)
			r.next(t, wasmclient.EventConnected)
			tt.end(h)
			if ev := r.next(t, wasmclient.EventError); !errors.Is(ev.Err, wasmclient.ErrStreamEnded) {
				t.Fatalf("error %v", ev.Err)
			}
			<-c.Done()
			if !errors.Is(c.Err(), wasmclient.ErrStreamEnded) || h.Call("gets").Int() != 1 {
				t.Fatalf("Err() = %v after %d GETs", c.Err(), h.Call("gets").Int())
			}
		})
	}
}

func TestStaleStreamReconnects(t *testing.T) {
	h := startHub(t)
	h.Set("heartbeat", 30) // ms: silent for 90 ms means dead
	c := wasmclient.Connect(h.url, fast())
	defer c.Close()
	r := record(c, allNames...)
	r.next(t, wasmclient.EventConnected)
	if ev := r.next(t, wasmclient.EventError); !errors.Is(ev.Err, wasmclient.ErrStale) {
		t.Fatalf("error %v", ev.Err)
	}
	r.next(t, wasmclient.EventConnected)
}

func TestInvalidChannelStops(t *testing.T) {
	c := wasmclient.Connect("http://127.0.0.1:1/events", wasmclient.Options{Channels: []string{"a,b"}})
	<-c.Done()
	if !errors.Is(c.Err(), shared.ErrInvalidChannel) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

func TestMalformedDataIsAProtocolError(t *testing.T) {
	tests := []struct {
		name  string
		event string
	}{
		{"message not JSON", "data: {not json\n\n"},
		{"connected not an object", "event: connected\ndata: 5\n\n"},
		{"gap not an object", "event: gap\ndata: null\n\n"},
		{"reconnect not an object", "event: reconnect\ndata: 300\n\n"},
		// Without a delay it is not a reconnect the server asked for: a
		// failure, backed off as usual.
		{"reconnect without retry", "event: reconnect\ndata: {\"reason\":\"shutdown\"}\n\n"},
		{"channels not an object", "event: channels\ndata: [\"a\"]\n\n"},
		{"channels without a list", "event: channels\ndata: {\"channels\":\"a\"}\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startHub(t)
			c := wasmclient.Connect(h.url, fast())
			defer c.Close()
			r := record(c, allNames...)
			r.next(t, wasmclient.EventConnected)
			h.Call("write", tt.event)
			if ev := r.next(t, wasmclient.EventError); !errors.Is(ev.Err, wasmclient.ErrProtocol) {
				t.Fatalf("error %v", ev.Err)
			}
			if ev := r.next(t, wasmclient.EventReconnecting); ev.Attempt != 1 {
				t.Fatalf("reconnecting %+v", ev)
			}
			if ev := r.next(t, wasmclient.EventConnected); ev.ClientID != "client-1" {
				t.Fatalf("reconnected as %q", ev.ClientID)
			}
		})
	}
}

// A JavaScript exception (here from new URL) becomes a *JSError, and a URL
// that cannot be parsed stops the client instead of retrying it.
func TestBadURLIsAJSError(t *testing.T) {
	c := wasmclient.Connect("not a url", fast())
	<-c.Done()
	var je *wasmclient.JSError
	if !errors.As(c.Err(), &je) || je.Name != "TypeError" {
		t.Fatalf("Err() = %#v", c.Err())
	}
}

// waitFuncs waits until the client holds want js.Funcs.
func waitFuncs(t *testing.T, want int64, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for wasmclient.LiveFuncs() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d js.Funcs held, want %d", when, wasmclient.LiveFuncs(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFuncsReleased(t *testing.T) {
	for _, path := range []string{"plain", "headers"} {
		t.Run(path, func(t *testing.T) {
			base := wasmclient.LiveFuncs()
			h := startHub(t)
			opts := fast()
			if path == "headers" {
				opts.Headers = map[string]string{"X-Test": "1"}
			}
			c := wasmclient.Connect(h.url, opts)
			r := record(c, allNames...)
			r.next(t, wasmclient.EventConnected)
			held := wasmclient.LiveFuncs()

			// A custom event's listener comes and goes with its handler.
			remove := c.On("alert", func(wasmclient.Event) {})
			remove()
			waitFuncs(t, held, "after removing a handler")

			// Subscribing awaits promises; a reconnect replaces the
			// transport. Neither leaves anything behind.
			if err := c.Subscribe("news"); err != nil {
				t.Fatal(err)
			}
			h.Call("cut")
			r.next(t, wasmclient.EventConnected)
			waitFuncs(t, held, "after a reconnect")

			c.Close()
			waitFuncs(t, base, "after Close")
		})
	}
}
