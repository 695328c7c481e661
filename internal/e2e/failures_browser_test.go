//go:build !(js && wasm)

package e2e_test

// Browser tests of the client's failure paths, through the bridge the shim
// uses (globalThis.__ssevent, made by static/cmd/ssevent-wasm), on a page
// and inside a dedicated Worker: a stream request never answered, a POST
// that hangs, an aborted call, 204, 503 with Retry-After, one GET per
// attempt, and what reconnectDelay: 0 and maxReconnectAttempts: 0 mean.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/internal/netcut"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/static"
)

// bridgePage loads the shim's Go program itself and drives its bridge.
// connect(url, options) returns the client's handle; its events are
// recorded in window.events as the shim page records them, with client
// the handle. change(action, id, channels, options) settles to "" or the
// error's code. window.abort aborts the AbortController of the calls
// given abortable: true.
const bridgePage = `<!doctype html><html><head><meta charset="utf-8">
<script src="/ssevent/wasm_exec.js"></script></head><body><script>
window.events = [];
window.bridge = new Promise((resolve) => { globalThis.__sseventReady = () => resolve(globalThis.__ssevent); });
const go = new Go();
WebAssembly.instantiateStreaming(fetch('/ssevent/ssevent.wasm'), go.importObject).then((r) => go.run(r.instance));
const names = ['open', 'connected', 'message', 'error', 'reconnecting', 'closed'];
window.connect = async (url, opts) => {
  const b = await bridge;
  let id = 0;
  const emit = (type, ev) => {
    const r = { client: id, type, attempt: ev.attempt || 0, delay: ev.delay || 0 };
    if (type === 'message') { r.channel = ev.data.channel; r.payload = ev.data.payload; }
    if (type === 'connected') r.clientId = ev.data.clientId;
    if (ev.error) { r.code = ev.error.code; r.status = ev.error.status || 0; r.message = ev.error.message; r.retry = ev.error.retryAfter || 0; }
    events.push(r);
  };
  id = b.connect(url, opts || {}, emit, names);
  return id;
};
window.controller = new AbortController();
window.change = async (action, id, chs, opts) => {
  const b = await bridge;
  if (opts && opts.abortable) { opts = Object.assign({}, opts, { signal: controller.signal }); }
  return b[action](id, chs, opts).then(() => '', (e) => e.code || 'no code');
};
window.state = async (id) => (await bridge).readyState(id);
</script></body></html>`

// workerScript runs the same bridge in a dedicated Worker: one client of
// the events endpoint, which subscribes to what the page posts and posts
// back every event as {type, channel, payload, code}.
const workerScript = `importScripts('/ssevent/wasm_exec.js');
self.__sseventReady = () => {
  const b = self.__ssevent;
  const id = b.connect('/events', { reconnectDelay: 50 }, (type, ev) => {
    const r = { type };
    if (type === 'message') { r.channel = ev.data.channel; r.payload = ev.data.payload; }
    if (type === 'connected') r.clientId = ev.data.clientId;
    if (ev.error) r.code = ev.error.code;
    postMessage(r);
  }, ['connected', 'message', 'error']);
  self.onmessage = (m) => b.subscribe(id, m.data).then(() => postMessage({ type: 'subscribed' }), (e) => postMessage({ type: 'subscribe failed', code: e.code }));
};
const go = new Go();
WebAssembly.instantiateStreaming(fetch('/ssevent/ssevent.wasm'), go.importObject).then((r) => go.run(r.instance));`

const workerPage = `<!doctype html><html><head><meta charset="utf-8"></head><body><script>
window.events = [];
window.worker = new Worker('/worker.js');
worker.onmessage = (m) => events.push(m.data);
worker.onerror = (e) => events.push({ type: 'worker error', message: e.message });
</script></body></html>`

// reqLog records the requests a handler saw.
type reqLog struct {
	mu   sync.Mutex
	reqs []loggedReq
}

type loggedReq struct {
	method string
	at     time.Time
}

func (l *reqLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, loggedReq{method: r.Method, at: time.Now()})
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// of returns the requests of the method so far.
func (l *reqLog) of(method string) []loggedReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loggedReq
	for _, r := range l.reqs {
		if r.method == method {
			out = append(out, r)
		}
	}
	return out
}

// serveBridge serves events at /events (recording its requests), the
// client's files, the bridge page and the worker, and loads pagePath.
func serveBridge(t *testing.T, events http.Handler, pagePath string) (*page, *reqLog) {
	t.Helper()
	log := &reqLog{}
	mux := http.NewServeMux()
	mux.Handle("/events", log.wrap(events))
	mux.Handle("/ssevent/", http.StripPrefix("/ssevent/", static.Handler()))
	html := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(body))
		}
	}
	mux.Handle("/bridge.html", html(bridgePage))
	mux.Handle("/worker.html", html(workerPage))
	mux.HandleFunc("/worker.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(workerScript))
	})
	srv := httptest.NewUnstartedServer(mux)
	cut := netcut.Wrap(srv.Listener)
	srv.Listener = cut
	srv.Start()
	t.Cleanup(srv.Close)
	p := &page{t: t, tab: browsertest.NewTab(t, 60*time.Second), srv: srv, net: cut}
	if err := chromedp.Do(p.tab, chromedp.Navigate(srv.URL+pagePath)); err != nil {
		t.Fatal(err)
	}
	return p, log
}

// hubHandler is a hub's handler as net/http sees it, closed at cleanup.
func hubHandler(t *testing.T, cfg server.Config) (*server.Hub, http.Handler) {
	t.Helper()
	hub := server.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Close(ctx)
	})
	return hub, hub.Core()
}

// connectClient connects a bridge client and returns its handle.
func (p *page) connectClient(url string, opts map[string]any) int {
	p.t.Helper()
	b, _ := json.Marshal(opts)
	return eval[int](p, fmt.Sprintf("connect(%q, %s)", url, b))
}

// waitEvent waits for an event matching the filter and returns the
// matching ones.
func (p *page) waitEvent(filter string) []rec {
	p.t.Helper()
	p.wait(`(window.events || []).some((e) => ` + filter + `)`)
	return p.events(filter)
}

// silentListener accepts connections on 127.0.0.1 and never answers,
// counting the request heads it reads.
type silentListener struct {
	ln   net.Listener
	mu   sync.Mutex
	reqs []string // request lines
}

func newSilentListener(t *testing.T) *silentListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentListener{ln: ln}
	var conns sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			conns.Add(1)
			go func() {
				defer conns.Done()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(line, "GET ") || strings.HasPrefix(line, "OPTIONS ") || strings.HasPrefix(line, "POST ") {
						s.mu.Lock()
						s.reqs = append(s.reqs, strings.TrimSpace(line))
						s.mu.Unlock()
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	return s
}

func (s *silentListener) url() string { return "http://" + s.ln.Addr().String() + "/events" }

func (s *silentListener) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// A stream request never answered is abandoned after connectTimeout with
// an error coded connect_timeout, and tried again: the server sees one GET
// per attempt, and no preflight although it is another origin.
func TestBrowserConnectTimeout(t *testing.T) {
	silent := newSilentListener(t)
	p, _ := serveBridge(t, http.NotFoundHandler(), "/bridge.html")
	p.connectClient(silent.url(), map[string]any{"connectTimeout": 300, "reconnectDelay": 50, "maxReconnectAttempts": 2})
	final := p.waitEvent(`e.type === 'error' && e.code === 'max_reconnect_attempts'`)
	errs := p.events(`e.type === 'error'`)
	if len(errs) != 3 || errs[0].Code != "connect_timeout" || errs[1].Code != "connect_timeout" {
		t.Fatalf("errors %+v", errs)
	}
	if !strings.Contains(final[0].Message, "connect timeout") {
		t.Fatalf("final error %+v", final[0])
	}
	if n := len(p.events(`e.type === 'reconnecting'`)); n != 2 {
		t.Fatalf("%d reconnecting events, want 2", n)
	}
	// The third request may still be on its way to the listener.
	deadline := time.Now().Add(10 * time.Second)
	for len(silent.requests()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reqs := silent.requests()
	if len(reqs) != 3 {
		t.Fatalf("requests %q, want 3 GETs", reqs)
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET /events") {
			t.Fatalf("requests %q, want GETs only", reqs)
		}
	}
}

// A subscribe whose POST hangs rejects with code timeout after
// requestTimeout, or after its own timeout; an AbortSignal aborts it (code
// aborted), and one aborted already sends nothing. The client goes on.
func TestBrowserRequestTimeoutAndAbort(t *testing.T) {
	var hang atomic.Bool
	hub, h := hubHandler(t, server.Config{})
	released := make(chan struct{})
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && hang.Load() {
			select {
			case <-r.Context().Done():
			case <-released:
			}
			return
		}
		h.ServeHTTP(w, r)
	})
	p, log := serveBridge(t, events, "/bridge.html")
	t.Cleanup(func() { close(released) }) // before the server closes
	id := p.connectClient("/events", map[string]any{"requestTimeout": 300})
	p.waitEvent(`e.type === 'connected'`)
	hang.Store(true)
	call := func(action, opts string) string {
		return eval[string](p, fmt.Sprintf("change(%q, %d, ['news'], %s)", action, id, opts))
	}
	if code := call("subscribe", "undefined"); code != "timeout" {
		t.Fatalf("hanging subscribe: %q, want timeout", code)
	}
	start := time.Now()
	if code := call("unsubscribe", "{timeout: 600}"); code != "timeout" || time.Since(start) < 600*time.Millisecond {
		t.Fatalf("hanging unsubscribe with its own timeout: %q after %v", code, time.Since(start))
	}
	posts := len(log.of("POST"))
	eval[bool](p, fmt.Sprintf("window.pending = change('subscribe', %d, ['news'], {abortable: true, timeout: 0}), true", id))
	deadline := time.Now().Add(10 * time.Second)
	for len(log.of("POST")) == posts && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	eval[bool](p, "controller.abort(), true")
	if code := eval[string](p, "pending"); code != "aborted" {
		t.Fatalf("aborted subscribe: %q", code)
	}
	posts = len(log.of("POST"))
	if code := call("subscribe", "{abortable: true}"); code != "aborted" {
		t.Fatalf("subscribe with an aborted signal: %q", code)
	}
	if n := len(log.of("POST")) - posts; n != 0 {
		t.Fatalf("%d POSTs for a call aborted before it started", n)
	}
	hang.Store(false)
	if code := call("subscribe", "undefined"); code != "" {
		t.Fatalf("subscribe after the timeouts: %q", code)
	}
	if n := len(hub.ClientsByChannel("news")); n != 1 {
		t.Fatalf("%d subscribers of news", n)
	}
}

// 204 No Content stops the client: an error coded stopped, readyState 2,
// and no further GET.
func TestBrowserNoContentStops(t *testing.T) {
	p, log := serveBridge(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), "/bridge.html")
	id := p.connectClient("/events", map[string]any{"reconnectDelay": 20})
	p.waitEvent(`e.type === 'error' && e.code === 'stopped'`)
	if s := eval[int](p, fmt.Sprintf("state(%d)", id)); s != 2 {
		t.Fatalf("readyState %d", s)
	}
	time.Sleep(400 * time.Millisecond) // twenty backoff periods: nothing more is asked
	if n := len(log.of("GET")); n != 1 {
		t.Fatalf("%d GETs, want 1", n)
	}
	if n := len(p.events(`e.type === 'reconnecting'`)); n != 0 {
		t.Fatalf("%d reconnecting events", n)
	}
}

// A 503 with Retry-After: 1 makes the next attempt wait at least that
// second (server-side times; a generous upper bound only), far more than
// the 50 ms backoff; the error keeps the server's code and status.
func TestBrowserRetryAfter(t *testing.T) {
	_, h := hubHandler(t, server.Config{})
	var n atomic.Int32
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			refuseJSON(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		h.ServeHTTP(w, r)
	})
	p, log := serveBridge(t, events, "/bridge.html")
	p.connectClient("/events", map[string]any{"reconnectDelay": 50})
	p.waitEvent(`e.type === 'connected'`)
	errs := p.events(`e.type === 'error'`)
	if len(errs) != 1 || errs[0].Code != "unavailable" || errs[0].Status != 503 || errs[0].Retry != 1000 {
		t.Fatalf("errors %+v", errs)
	}
	if rc := p.events(`e.type === 'reconnecting'`); len(rc) != 1 || rc[0].Delay != 1000 || rc[0].Attempt != 1 {
		t.Fatalf("reconnecting %+v", rc)
	}
	gets := log.of("GET")
	if len(gets) != 2 {
		t.Fatalf("%d GETs, want 2", len(gets))
	}
	if waited := gets[1].at.Sub(gets[0].at); waited < time.Second || waited > 10*time.Second {
		t.Fatalf("second GET %v after the first, want at least 1 s", waited)
	}
}

// Each failed attempt is one GET, and what reconnectDelay: 0 and
// maxReconnectAttempts: 0 mean: the seed's no delay, and no attempt.
func TestBrowserAttemptsAndSeedOptions(t *testing.T) {
	var refuse atomic.Bool
	_, h := hubHandler(t, server.Config{})
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && refuse.Load() {
			refuseJSON(w, http.StatusInternalServerError, "internal")
			return
		}
		h.ServeHTTP(w, r)
	})
	p, log := serveBridge(t, events, "/bridge.html")
	refuse.Store(true)
	// maxReconnectAttempts 0: the first failure is final.
	none := p.connectClient("/events", map[string]any{"maxReconnectAttempts": 0, "reconnectDelay": 20})
	p.waitEvent(fmt.Sprintf(`e.client === %d && e.code === 'max_reconnect_attempts'`, none))
	if n := len(log.of("GET")); n != 1 {
		t.Fatalf("maxReconnectAttempts 0: %d GETs, want 1", n)
	}
	// The first GET and three attempts: four GETs (one per attempt, no
	// second request to learn the status); three errors with the
	// server's code, then the final one.
	three := p.connectClient("/events", map[string]any{"maxReconnectAttempts": 3, "reconnectDelay": 20})
	p.waitEvent(fmt.Sprintf(`e.client === %d && e.code === 'max_reconnect_attempts'`, three))
	if n := len(log.of("GET")); n != 1+4 {
		t.Fatalf("maxReconnectAttempts 3: %d GETs, want 4", n-1)
	}
	if errs := p.events(fmt.Sprintf(`e.client === %d && e.type === 'error' && e.code === 'internal' && e.status === 500`, three)); len(errs) != 3 {
		t.Fatalf("errors %+v", errs)
	}
	// reconnectDelay 0: the first attempt after a loss is made at once;
	// the next ones back off from 100 ms, so that the client never spins.
	refuse.Store(false)
	now := p.connectClient("/events", map[string]any{"reconnectDelay": 0, "maxReconnectDelay": 400})
	p.waitEvent(fmt.Sprintf(`e.client === %d && e.type === 'connected'`, now))
	refuse.Store(true)
	p.net.CutAll()
	p.waitEvent(fmt.Sprintf(`e.client === %d && e.type === 'reconnecting' && e.attempt === 2`, now))
	rc := p.events(fmt.Sprintf(`e.client === %d && e.type === 'reconnecting'`, now))
	if rc[0].Attempt != 1 || rc[0].Delay != 0 || rc[1].Delay > 100 {
		t.Fatalf("reconnecting %+v, want attempt 1 at once and attempt 2 within 100 ms", rc)
	}
	refuse.Store(false)
	p.wait(fmt.Sprintf(`events.filter((e) => e.client === %d && e.type === 'connected').length >= 2`, now))
	if c := p.events(fmt.Sprintf(`e.client === %d && e.type === 'connected'`, now)); len(c) != 2 || c[1].ClientID != c[0].ClientID {
		t.Fatalf("connected %+v, want the same client back", c)
	}
}

// The bridge runs inside a dedicated Worker (no window, no document):
// it connects, subscribes and receives.
func TestBrowserBridgeInWorker(t *testing.T) {
	hub, h := hubHandler(t, server.Config{})
	p, _ := serveBridge(t, h, "/worker.html")
	ev := p.waitEvent(`e.type === 'connected'`)
	if ev[0].ClientID == "" {
		t.Fatalf("connected %+v", ev)
	}
	eval[bool](p, "worker.postMessage(['news']), true")
	p.waitEvent(`e.type === 'subscribed'`)
	if err := hub.Send("news", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	p.waitEvent(`e.type === 'message' && e.channel === 'news' && e.payload.n === 1`)
	if bad := p.events(`e.type === 'worker error' || e.type === 'error'`); len(bad) != 0 {
		t.Fatalf("errors in the worker: %+v", bad)
	}
}

// Through the shim: 204 stops the client (code stopped, readyState 2) and
// no further GET reaches the server.
func TestBrowserShimNoContentStops(t *testing.T) {
	eachSharing(t, func(t *testing.T, shared bool) {
		opts := map[string]any{"shared": shared, "reconnectDelay": 20}
		log := &reqLog{}
		h := log.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}))
		p := serve(t, "shim", echo.WrapHandler(h), func() {}, opts)
		p.waitEvent(`e.type === 'error' && e.code === 'stopped'`)
		p.wait(`app.state(0) === 2`)
		time.Sleep(400 * time.Millisecond) // twenty backoff periods: nothing more is asked
		if n := len(log.of("GET")); n != 1 {
			t.Fatalf("%d GETs, want 1", n)
		}
	})
}

// Through the shim: a 503 with Retry-After: 1 makes the next attempt wait
// at least that second (server-side times), reported with the server's
// code and the delay.
func TestBrowserShimRetryAfter(t *testing.T) {
	eachSharing(t, func(t *testing.T, shared bool) {
		opts := map[string]any{"shared": shared, "reconnectDelay": 20}
		_, hub := hubHandler(t, server.Config{})
		var n atomic.Int32
		log := &reqLog{}
		h := log.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && n.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				refuseJSON(w, http.StatusServiceUnavailable, "unavailable")
				return
			}
			hub.ServeHTTP(w, r)
		}))
		p := serve(t, "shim", echo.WrapHandler(h), func() {}, opts)
		p.connected(0, 1)
		errs := p.events(`e.type === 'error'`)
		if len(errs) != 1 || errs[0].Code != "unavailable" || errs[0].Status != 503 {
			t.Fatalf("errors %+v", errs)
		}
		if rc := p.events(`e.type === 'reconnecting'`); len(rc) != 1 || rc[0].Delay != 1000 {
			t.Fatalf("reconnecting %+v", rc)
		}
		gets := log.of("GET")
		if len(gets) != 2 {
			t.Fatalf("%d GETs, want 2", len(gets))
		}
		if waited := gets[1].at.Sub(gets[0].at); waited < time.Second || waited > 10*time.Second {
			t.Fatalf("second GET %v after the first, want at least 1 s", waited)
		}
	})
}
