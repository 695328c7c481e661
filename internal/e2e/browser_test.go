//go:build !(js && wasm)

package e2e_test

// End-to-end tests in headless Chromium against a real hub, through both
// faces of the client: the Go API (package wasmclient, driven by testapp, a
// wasm program on a test page) and the script-tag shim (static/ssevent.js).
// Both pages record events in the same shape (see testapp), so every
// scenario runs against both.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/static"
)

func TestMain(m *testing.M) {
	code := browsertest.Main(m)
	if appDir != "" {
		os.RemoveAll(appDir)
	}
	os.Exit(code)
}

var (
	appOnce sync.Once
	appDir  string
	appErr  error
)

// testApp builds testapp for the browser once per run.
func testApp(t *testing.T) string {
	t.Helper()
	appOnce.Do(func() {
		appDir, appErr = os.MkdirTemp("", "e2e-testapp-")
		if appErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(appDir, "app.wasm"), "./testapp")
		cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			appErr = fmt.Errorf("build testapp: %v\n%s", err, out)
		}
	})
	if appErr != nil {
		t.Fatal(appErr)
	}
	return filepath.Join(appDir, "app.wasm")
}

const shimPage = `<!doctype html><html><head><meta charset="utf-8">
<script src="/ssevent/ssevent.js"></script></head><body><script>
window.events = [];
const opts = JSON.parse(decodeURIComponent(location.hash.slice(1)) || '{}');
// These pages test the client in the page unless asked: the tabs sharing
// a stream through the worker have tests of their own.
if (opts.shared === undefined) opts.shared = false;
// headersFn "sync" or "async": a headers function handing out
// "Authorization: Bearer <t>" for t taken from window.tokens (the last one
// again and again), counting its calls in window.headerCalls.
window.tokens = opts.tokens;
window.headerCalls = 0;
const nextHeaders = () => {
  headerCalls++;
  return { Authorization: 'Bearer ' + (tokens.length > 1 ? tokens.shift() : tokens[0]) };
};
if (opts.headersFn === 'sync') opts.headers = nextHeaders;
if (opts.headersFn === 'async') opts.headers = () => new Promise((resolve) => setTimeout(() => resolve(nextHeaders()), 5));
if (opts.headersFn === 'throw') opts.headers = () => { headerCalls++; throw new Error('no token'); };
const clients = [];
for (let i = 0; i < (opts.clients || 1); i++) {
  const c = SSEvent.connect('/events', opts);
  clients.push(c);
  for (const name of ['open', 'connected', 'message', 'error', 'reconnecting', 'gap', 'reconnect', 'channels', 'closed', 'alert']) {
    c.on(name, (ev) => {
      if (name === 'connected' && window.tConnected === undefined) window.tConnected = performance.now();
      const r = { client: i, type: name, id: ev.id || '', raw: ev.raw || '', attempt: ev.attempt || 0, delay: ev.delay || 0 };
      if (name === 'reconnect') r.retry = ev.data.retry;
      if (name === 'channels') r.channels = ev.data.channels;
      if (name === 'closed') r.reason = ev.data.reason;
      if (name === 'message') { r.channel = ev.data.channel; r.payload = ev.data.payload; }
      if (name === 'alert') r.payload = ev.data;
      if (name === 'connected') { r.clientId = ev.data.clientId; r.resumed = ev.data.resumed; }
      if (ev.error) { r.code = ev.error.code; r.status = ev.error.status || 0; r.message = ev.error.message; }
      events.push(r);
    });
  }
}
const pick = (i) => clients[i || 0];
window.app = {
  clientId: (i) => pick(i).getClientId(),
  channels: (i) => pick(i).getChannels(),
  state: (i) => pick(i).getReadyState(),
  connected: (i) => pick(i).isConnected(),
  close: (i) => pick(i).close(),
  subscribe: (i, ...chs) => pick(i).subscribe(...chs).then(() => '', (e) => e.code || 'error'),
  unsubscribe: (i, ...chs) => pick(i).unsubscribe(...chs).then(() => '', (e) => e.code || 'error'),
};
</script></body></html>`

const goPage = `<!doctype html><html><head><meta charset="utf-8">
<script src="/ssevent/wasm_exec.js"></script></head><body><script>
window.appOptions = JSON.parse(decodeURIComponent(location.hash.slice(1)) || '{}');
const go = new Go();
WebAssembly.instantiateStreaming(fetch('/app.wasm'), go.importObject).then((r) => go.run(r.instance));
</script></body></html>`

// rec is one recorded event.
type rec struct {
	Client   int             `json:"client"`
	Type     string          `json:"type"`
	ID       string          `json:"id"`
	Raw      string          `json:"raw"`
	Channel  string          `json:"channel"`
	Channels []string        `json:"channels"`
	Reason   string          `json:"reason"`
	Payload  json.RawMessage `json:"payload"`
	ClientID string          `json:"clientId"`
	Resumed  bool            `json:"resumed"`
	Attempt  int             `json:"attempt"`
	Delay    float64         `json:"delay"` // ms
	Retry    float64         `json:"retry"` // ms
	Code     string          `json:"code"`
	Status   int             `json:"status"`
	Message  string          `json:"message"`
}

type page struct {
	t   *testing.T
	tab *browsertest.Tab
	hub *server.Hub
	srv *httptest.Server
	net *netcut.Listener // cuts connections as a broken network would
}

var kinds = []string{"go", "shim"}

// open starts a hub with cfg, serves both pages, and loads the page of the
// kind with the client options.
func open(t *testing.T, kind string, cfg server.Config, opts map[string]any) *page {
	t.Helper()
	hub := server.New(cfg)
	p := serve(t, kind, hub.Handler, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Close(ctx)
	}, opts)
	p.hub = hub
	return p
}

// serve serves events at /events and both pages, and loads the page of the
// kind with the client options. stop runs at cleanup, before the server
// closes and after the tab does.
func serve(t *testing.T, kind string, events echo.HandlerFunc, stop func(), opts map[string]any) *page {
	t.Helper()
	e := echo.New()
	e.HideBanner = true
	e.Any("/events", events)
	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
	e.GET("/shim.html", func(c echo.Context) error { return c.HTML(200, shimPage) })
	e.GET("/go.html", func(c echo.Context) error { return c.HTML(200, goPage) })
	e.GET("/module.html", func(c echo.Context) error { return c.HTML(200, modulePage) })
	if kind == "go" {
		app := testApp(t)
		e.GET("/app.wasm", func(c echo.Context) error {
			c.Response().Header().Set("Content-Type", "application/wasm")
			return c.File(app)
		})
	}
	srv := httptest.NewUnstartedServer(e)
	cut := netcut.Wrap(srv.Listener)
	srv.Listener = cut
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(stop)
	p := &page{t: t, tab: browsertest.NewTab(t, 60*time.Second), srv: srv, net: cut}
	if opts == nil {
		opts = map[string]any{}
	}
	b, _ := json.Marshal(opts)
	if err := chromedp.Do(p.tab, chromedp.Navigate(srv.URL+"/"+kind+".html#"+url.PathEscape(string(b)))); err != nil {
		t.Fatal(err)
	}
	return p
}

// wait polls the page until the expression is truthy.
func (p *page) wait(expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.tab, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		p.t.Fatalf("waiting for %s: %v\nevents: %s", expr, err, p.dump())
	}
}

func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.tab, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (p *page) events(filter string) []rec {
	p.t.Helper()
	if filter == "" {
		filter = "true"
	}
	return eval[[]rec](p, "(window.events || []).filter((e) => "+filter+")")
}

func (p *page) dump() string {
	v, _ := chromedp.Run(p.tab, chromedp.Evaluate[string](`JSON.stringify(window.events)`))
	return v
}

// connected waits for the n-th "connected" event of client i and returns
// the client's id.
func (p *page) connected(i, n int) string {
	p.t.Helper()
	p.wait(fmt.Sprintf(`window.events && events.filter((e) => e.client === %d && e.type === 'connected').length >= %d`, i, n))
	evs := p.events(fmt.Sprintf(`e.client === %d && e.type === 'connected'`, i))
	return evs[n-1].ClientID
}

func (p *page) call(method string, i int, chs ...string) string {
	p.t.Helper()
	args := []string{fmt.Sprint(i)}
	for _, ch := range chs {
		args = append(args, fmt.Sprintf("%q", ch))
	}
	return eval[string](p, fmt.Sprintf("app.%s(%s)", method, strings.Join(args, ",")))
}

// messages waits for n message events of client i matching filter.
func (p *page) messages(i int, filter string, n int) []rec {
	p.t.Helper()
	f := fmt.Sprintf(`e.client === %d && e.type === 'message' && (%s)`, i, filter)
	p.wait(fmt.Sprintf(`window.events && events.filter((e) => %s).length >= %d`, f, n))
	return p.events(f)
}

func each(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) { f(t, kind) })
	}
}

func TestBrowserChannelsAndEvents(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		p := open(t, kind, server.Config{}, map[string]any{"clients": 2, "channels": []string{"news"}})
		id0, id1 := p.connected(0, 1), p.connected(1, 1)
		if id0 == "" || id1 == "" || id0 == id1 {
			t.Fatalf("ids %q %q", id0, id1)
		}
		if got := eval[string](p, "app.clientId(0)"); got != id0 {
			t.Fatalf("clientId() = %q, want %q", got, id0)
		}
		if !eval[bool](p, "app.connected(0)") || eval[int](p, "app.state(0)") != 1 {
			t.Fatal("not connected / readyState != 1")
		}
		if n := p.hub.ClientCount(); n != 2 {
			t.Fatalf("hub has %d clients", n)
		}

		// Channel given at connect time, then subscribe and unsubscribe.
		if err := p.hub.Send("news", map[string]int{"n": 1}); err != nil {
			t.Fatal(err)
		}
		m := p.messages(0, `e.channel === 'news'`, 1)
		if string(m[0].Payload) != `{"n":1}` || m[0].ID == "" {
			t.Fatalf("message %+v", m[0])
		}
		if code := p.call("subscribe", 0, "sport"); code != "" {
			t.Fatalf("subscribe: %s", code)
		}
		if got := p.hub.ClientsByChannel("sport"); len(got) != 1 || got[0] != id0 {
			t.Fatalf("sport subscribers %v", got)
		}
		p.hub.Send("sport", "goal")
		p.messages(0, `e.channel === 'sport' && e.payload === 'goal'`, 1)
		if code := p.call("unsubscribe", 0, "sport"); code != "" {
			t.Fatalf("unsubscribe: %s", code)
		}
		if got := p.hub.ClientsByChannel("sport"); len(got) != 0 {
			t.Fatalf("sport subscribers after unsubscribe %v", got)
		}
		p.hub.Send("sport", "late")
		p.hub.Send("news", "marker")
		p.messages(0, `e.payload === 'marker'`, 1)
		if late := p.events(`e.client === 0 && e.payload === 'late'`); len(late) != 0 {
			t.Fatalf("message after unsubscribe: %+v", late)
		}

		// SendTo reaches only its client; Broadcast reaches both.
		if err := p.hub.SendTo(id0, map[string]string{"to": "zero"}); err != nil {
			t.Fatal(err)
		}
		if err := p.hub.SendTo(id0, "ring", "alert"); err != nil {
			t.Fatal(err)
		}
		p.hub.Broadcast("all")
		p.hub.Broadcast(map[string]bool{"named": true}, "alert")
		for i := 0; i < 2; i++ {
			b := p.messages(i, `e.payload === 'all'`, 1)
			if b[0].Channel != "" {
				t.Fatalf("broadcast channel %q", b[0].Channel)
			}
			p.wait(fmt.Sprintf(`(window.events || []).some((e) => e.client === %d && e.type === 'alert' && e.payload && e.payload.named)`, i))
		}
		if got := p.events(`e.client === 0 && e.payload && e.payload.to === 'zero'`); len(got) != 1 || got[0].Channel != "" {
			t.Fatalf("SendTo: %+v", got)
		}
		if got := p.events(`e.client === 0 && e.type === 'alert' && e.payload === 'ring'`); len(got) != 1 || got[0].Raw != `"ring"` {
			t.Fatalf("custom event: %+v", got)
		}
		// Client 1 got the broadcasts, sent after the private messages, and
		// none of those.
		if got := p.events(`e.client === 1 && (e.payload === 'ring' || (e.payload && e.payload.to))`); len(got) != 0 {
			t.Fatalf("private message reached another client: %+v", got)
		}
	})
}

func TestBrowserRejectedChannel(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		cfg := server.Config{OnSubscribe: func(_, ch string, _ echo.Context) error {
			if ch == "admin" {
				return echo.ErrForbidden
			}
			return nil
		}}
		p := open(t, kind, cfg, nil)
		p.connected(0, 1)
		if code := p.call("subscribe", 0, "ok", "admin"); code != "rejected" {
			t.Fatalf("subscribe(ok, admin) = %q", code)
		}
		if got := p.hub.ClientsByChannel("ok"); len(got) != 1 {
			t.Fatalf("ok subscribers %v", got)
		}
	})
}

// The server cuts every stream; events published while the client is away
// all arrive, in order, once, and its channels are restored.
func TestBrowserReconnectLossless(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		p := open(t, kind, server.Config{}, map[string]any{"reconnectDelay": 50})
		id := p.connected(0, 1)
		if code := p.call("subscribe", 0, "news"); code != "" {
			t.Fatal(code)
		}
		p.hub.Send("news", 0)
		p.messages(0, `e.payload === 0`, 1)

		p.net.CutAll()
		for i := 1; i <= 20; i++ {
			if err := p.hub.Send("news", i); err != nil {
				t.Fatal(err)
			}
		}
		if got := p.connected(0, 2); got != id {
			t.Fatalf("reconnected as %q, want %q", got, id)
		}
		for i := 21; i <= 25; i++ {
			p.hub.Send("news", i)
		}
		msgs := p.messages(0, `e.channel === 'news'`, 26)
		var got []string
		for _, m := range msgs {
			got = append(got, string(m.Payload))
		}
		for i, m := range got {
			if m != fmt.Sprint(i) {
				t.Fatalf("messages after the cut: %v", got)
			}
		}
		if len(p.events(`e.type === 'reconnecting'`)) == 0 {
			t.Fatal("no reconnecting event")
		}
		ids := map[string]bool{}
		for _, m := range msgs {
			if ids[m.ID] {
				t.Fatalf("duplicate id %s", m.ID)
			}
			ids[m.ID] = true
		}
		if got := p.hub.ClientsByChannel("news"); len(got) != 1 || got[0] != id {
			t.Fatalf("channels not restored: %v", got)
		}
	})
}

// shutdownServer speaks just enough of the protocol to act out a server
// that restarts: its first stream gets "connected" (with an id), one
// message and, once end is closed, a "reconnect" event asking to come back
// in retry; every later stream gets "connected" as a resumed session and
// stays open. The hub is not used, so that this tests the client alone.
type shutdownServer struct {
	retry time.Duration
	end   chan struct{}

	mu      sync.Mutex
	gets    []shutdownGet
	endedAt time.Time // when the "reconnect" event was flushed
}

type shutdownGet struct {
	at    time.Time
	query url.Values
}

func (s *shutdownServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.gets = append(s.gets, shutdownGet{at: time.Now(), query: r.URL.Query()})
	n := len(s.gets)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	send := func(ev shared.Event) {
		b, err := shared.AppendEvent(nil, &ev)
		if err != nil {
			panic(err)
		}
		w.Write(b)
		rc.Flush()
	}
	conn, _ := json.Marshal(shared.Connected{ClientID: "c-1", Channels: []string{"default"}, Resumed: n > 1})
	send(shared.Event{Retry: 3 * time.Second, ID: fmt.Sprintf("k3x9ab-%d", 10*n), Name: shared.EventConnected, Data: conn})
	if n > 1 {
		<-r.Context().Done()
		return
	}
	send(shared.Event{ID: "k3x9ab-11", Data: []byte(`{"channel":"default","payload":1}`)})
	select {
	case <-s.end:
	case <-r.Context().Done():
		return
	}
	data, _ := json.Marshal(shared.Reconnect{Reason: shared.ReasonShutdown, Retry: s.retry.Milliseconds()})
	send(shared.Event{Retry: s.retry, Name: shared.EventReconnect, Data: data})
	s.mu.Lock()
	s.endedAt = time.Now()
	s.mu.Unlock()
}

// A server that shuts down ends the stream with "reconnect": the client
// comes back after the server's delay, not its backoff (a tenth of
// reconnectDelay is a minute, longer than the test waits), as the same
// client from its last event id, with no "error" event.
func TestBrowserServerReconnect(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		srv := &shutdownServer{retry: 300 * time.Millisecond, end: make(chan struct{})}
		p := serve(t, kind, echo.WrapHandler(srv), func() {}, map[string]any{"reconnectDelay": 600000})
		p.connected(0, 1)
		p.messages(0, `e.payload === 1`, 1)
		close(srv.end)
		if id := p.connected(0, 2); id != "c-1" {
			t.Fatalf("reconnected as %q", id)
		}
		srv.mu.Lock()
		gets, endedAt := srv.gets, srv.endedAt
		srv.mu.Unlock()
		if len(gets) != 2 {
			t.Fatalf("%d GETs, want 2", len(gets))
		}
		// A lower bound only: a loaded machine may be late, never early.
		if waited := gets[1].at.Sub(endedAt); waited < srv.retry {
			t.Fatalf("reconnected %v after the reconnect event, before the server's %v", waited, srv.retry)
		}
		if q := gets[1].query; q.Get(shared.QueryClientID) != "c-1" || q.Get(shared.QueryLastEventID) != "k3x9ab-11" {
			t.Fatalf("reconnect query %v", q)
		}
		if errs := p.events(`e.type === 'error'`); len(errs) != 0 {
			t.Fatalf("error events %+v", errs)
		}
		rc := p.events(`e.type === 'reconnect'`)
		rg := p.events(`e.type === 'reconnecting'`)
		if len(rc) != 1 || rc[0].Retry != 300 || len(rg) != 1 || rg[0].Attempt != 0 || rg[0].Delay != 300 {
			t.Fatalf("reconnect %+v, reconnecting %+v", rc, rg)
		}
	})
}

// gets counts the page's GET requests to the events endpoint.
func (p *page) gets() int {
	n := 0
	for _, r := range p.tab.Log().Requests(p.srv.URL + "/events") {
		if r.Method == "GET" {
			n++
		}
	}
	return n
}

// quiet asserts that the page makes no more requests to the endpoint for a
// few reconnection periods.
func (p *page) quiet(n int) {
	p.t.Helper()
	time.Sleep(400 * time.Millisecond) // several backoff periods of the tests' 50 ms delay
	if got := p.gets(); got != n {
		p.t.Fatalf("%d more requests after the client stopped", got-n)
	}
}

func TestBrowserMaxReconnectAttempts(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		var refuse atomic.Bool
		cfg := server.Config{OnConnect: func(echo.Context) error {
			if refuse.Load() {
				return echo.NewHTTPError(http.StatusTooManyRequests, "later")
			}
			return nil
		}}
		p := open(t, kind, cfg, map[string]any{"reconnectDelay": 20, "maxReconnectAttempts": 3})
		p.connected(0, 1)
		before := p.gets()
		refuse.Store(true)
		p.net.CutAll()
		p.wait(`(window.events || []).some((e) => e.type === 'error' && e.code === 'max_reconnect_attempts')`)
		if n := len(p.events(`e.type === 'reconnecting'`)); n != 3 {
			t.Fatalf("%d reconnecting events, want 3", n)
		}
		if eval[int](p, "app.state(0)") != 2 {
			t.Fatal("readyState != 2")
		}
		// Each attempt is one GET, which also tells its status.
		if got := p.gets() - before; got != 3 {
			t.Fatalf("%d GETs after the cut, want 3", got)
		}
		p.quiet(p.gets())
	})
}

func TestBrowserCloseStopsEverything(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		p := open(t, kind, server.Config{}, map[string]any{"reconnectDelay": 20})
		p.connected(0, 1)
		eval[any](p, "app.close(0), null")
		if eval[int](p, "app.state(0)") != 2 || eval[bool](p, "app.connected(0)") {
			t.Fatal("still open after close")
		}
		deadline := time.Now().Add(10 * time.Second)
		for p.hub.ClientCount() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the hub still holds the stream")
			}
			time.Sleep(10 * time.Millisecond)
		}
		n := p.gets()
		p.hub.Broadcast("after")
		p.quiet(n)
		if got := p.events(`e.payload === 'after'`); len(got) != 0 {
			t.Fatal("event after close")
		}
		if code := p.call("subscribe", 0, "x"); code != "closed" {
			t.Fatalf("subscribe after close = %q", code)
		}
	})
}

func auth(c echo.Context) error {
	if c.Request().Header.Get("Authorization") != "Bearer good" {
		return echo.ErrUnauthorized
	}
	return nil
}

// With headers the stream is read with fetch, so OnConnect sees the
// Authorization header; a refused one stops the client at once.
func TestBrowserHeadersAuthorization(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		t.Run("accepted", func(t *testing.T) {
			p := open(t, kind, server.Config{OnConnect: auth}, map[string]any{"headers": map[string]string{"Authorization": "Bearer good"}})
			p.connected(0, 1)
			if code := p.call("subscribe", 0, "news"); code != "" {
				t.Fatal(code)
			}
			p.hub.Send("news", "hello")
			p.messages(0, `e.payload === 'hello'`, 1)
		})
		t.Run("refused", func(t *testing.T) {
			p := open(t, kind, server.Config{OnConnect: auth}, map[string]any{"headers": map[string]string{"Authorization": "Bearer bad"}, "reconnectDelay": 20})
			p.wait(`(window.events || []).some((e) => e.type === 'error')`)
			ev := p.events(`e.type === 'error'`)[0]
			if ev.Code != "unauthorized" || ev.Status != 401 {
				t.Fatalf("error %+v", ev)
			}
			if eval[int](p, "app.state(0)") != 2 || p.gets() != 1 {
				t.Fatalf("state %d after %d GETs", eval[int](p, "app.state(0)"), p.gets())
			}
			p.quiet(1)
		})
	})
}

// Without headers too the stream request tells its status: the client
// learns 401 from its one GET and stops.
func TestBrowserPlainUnauthorized(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		p := open(t, kind, server.Config{OnConnect: auth}, map[string]any{"reconnectDelay": 20})
		p.wait(`(window.events || []).some((e) => e.type === 'error')`)
		ev := p.events(`e.type === 'error'`)[0]
		if ev.Code != "unauthorized" || ev.Status != 401 {
			t.Fatalf("error %+v", ev)
		}
		if p.gets() != 1 {
			t.Fatalf("%d GETs, want 1", p.gets())
		}
		p.quiet(1)
	})
}

const modulePage = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script type="module">
import connectSSE from '/ssevent/ssevent.mjs';
window.events = [];
const c = connectSSE('/events', { channels: ['news'] });
c.on('connected', (ev) => events.push({ type: 'connected', clientId: ev.data.clientId }));
c.on('message', (ev) => events.push({ type: 'message', channel: ev.data.channel, payload: ev.data.payload, raw: ev.raw }));
</script></body></html>`

// The ES module finds the wasm beside itself and gives the same client.
func TestBrowserESModule(t *testing.T) {
	p := open(t, "shim", server.Config{}, nil)
	if err := chromedp.Do(p.tab, chromedp.Navigate(p.srv.URL+"/module.html")); err != nil {
		t.Fatal(err)
	}
	p.wait(`(window.events || []).some((e) => e.type === 'connected' && e.clientId)`)
	p.hub.Send("news", map[string]int{"n": 7})
	p.wait(`events.some((e) => e.type === 'message' && e.channel === 'news' && e.payload.n === 7)`)
}

// TestBrowserTimeToConnected measures the time from navigation to the
// first "connected" event; run with -v to see it.
func TestBrowserTimeToConnected(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		var ms []float64
		for i := 0; i < 5; i++ {
			p := open(t, kind, server.Config{}, nil)
			p.connected(0, 1)
			ms = append(ms, eval[float64](p, "window.tConnected"))
		}
		sort.Float64s(ms)
		t.Logf("%s: page load to connected: median %.0f ms (runs %.0f)", kind, ms[len(ms)/2], ms)
	})
}
