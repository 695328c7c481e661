//go:build !(js && wasm)

package e2e_test

// A page on the script-tag shim, in headless Chromium, against an Echo app
// with the usual global middleware, Gzip included: the wasm must load (the
// static handler must not let Gzip compress its brotli copy again), events
// must arrive one by one, and the access log must record the stream when
// it ends, with its real duration and size.

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/static"
)

// middlewarePage connects with the shim, subscribes to "updates" once
// connected, and records what it gets.
const middlewarePage = `<!doctype html><html><head><meta charset="utf-8">
<script src="/ssevent/ssevent.js"></script></head><body><script>
window.got = [];
// shared: false keeps the wasm's download in the page, where the test's
// network log sees it.
const client = SSEvent.connect('/events', { channels: ['news'], shared: false });
client.on('connected', async ({ data }) => {
  window.clientId = data.clientId;
  try { await client.subscribe('updates'); window.subscribed = true; }
  catch (e) { window.failure = 'subscribe: ' + (e.code || e); }
});
client.on('message', ({ data }) => got.push(data.channel + ' ' + data.payload));
client.on('closed', ({ data }) => { window.closedReason = data.reason; });
client.on('error', ({ error }) => { window.failure = error ? error.code + ': ' + error.message : 'error'; });
</script></body></html>`

// accessLog is one record of the access log.
type accessLog struct {
	Method, URI string
	Status      int
	Latency     time.Duration
	Size        int64
}

// app is what the scenario needs of a hub mounted in a framework.
type app struct {
	url     string                                  // the server's
	send    func(channel string, payload any) error // hub.Send
	end     func(clientID string) error             // hub.Unsubscribe with no channels
	logged  <-chan accessLog                        // the access log's records
	clients func() int                              // hub.ClientCount
	// logsEncoded says the access log counts the bytes written beneath
	// Gzip (Echo v5), not the bytes written to it (Echo v4).
	logsEncoded bool
}

// TestBrowserGlobalMiddlewareEchoV4: Echo v4 with Logger (its
// RequestLogger form: Logger is deprecated), Recover, CORS, Gzip,
// RequestID, BodyLimit and Secure on every route, the static handler and
// the hub on one origin over HTTP/1.1.
func TestBrowserGlobalMiddlewareEchoV4(t *testing.T) {
	hub := server.New(server.Config{})
	logged := make(chan accessLog, 64)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(
		middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
			LogMethod: true, LogURI: true, LogStatus: true, LogLatency: true, LogResponseSize: true,
			LogValuesFunc: func(_ echo.Context, v middleware.RequestLoggerValues) error {
				logged <- accessLog{v.Method, v.URI, v.Status, v.Latency, v.ResponseSize}
				return nil
			},
		}),
		middleware.Recover(),
		middleware.CORS(),
		middleware.Gzip(),
		middleware.RequestID(),
		middleware.BodyLimit("1M"),
		middleware.Secure(),
	)
	e.Any("/events", hub.Handler)
	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
	e.GET("/", func(c echo.Context) error { return c.HTML(http.StatusOK, middlewarePage) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { closeWithin(hub.Close) })
	underMiddleware(t, app{
		url:     srv.URL,
		send:    hub.Send,
		end:     func(id string) error { return hub.Unsubscribe(id) },
		logged:  logged,
		clients: hub.ClientCount,
	})
}

// netLog records, from the browser's side, the responses of a tab and the
// body bytes each request received, by method and URL path ("GET
// /events").
type netLog struct {
	mu        sync.Mutex
	urls      map[network.RequestID]string
	responses map[string]*network.Response
	received  map[string]int64 // body bytes, decoded
	wire      map[string]int64 // body bytes as they came, transfer framing included
	done      map[string]bool  // loaded, or cancelled
	finished  chan string      // requests done, as they end
}

func newNetLog() *netLog {
	return &netLog{
		urls:      map[network.RequestID]string{},
		responses: map[string]*network.Response{},
		received:  map[string]int64{},
		wire:      map[string]int64{},
		done:      map[string]bool{},
		finished:  make(chan string, 64),
	}
}

// listen runs on chromedp's read loop: it only records.
func (n *netLog) listen(ev any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		n.urls[ev.RequestID] = ev.Request.Method + " " + pathOf(ev.Request.URL)
	case *network.EventResponseReceived:
		n.responses[n.urls[ev.RequestID]] = ev.Response
	case *network.EventDataReceived:
		n.received[n.urls[ev.RequestID]] += ev.DataLength
		n.wire[n.urls[ev.RequestID]] += ev.EncodedDataLength
	case *network.EventLoadingFinished:
		n.end(n.urls[ev.RequestID])
	case *network.EventLoadingFailed:
		// A page that closes its EventSource on the "closed" event may
		// cancel the request before the body's last bytes (Gzip's
		// trailer, the last chunk) come: what it received is all the
		// same counted.
		n.end(n.urls[ev.RequestID])
	}
}

// end records that a request is done. n.mu is held.
func (n *netLog) end(req string) {
	n.done[req] = true
	select {
	case n.finished <- req:
	default:
	}
}

// waitFinished waits up to d for the request to be done, and returns its
// body's bytes: decoded, and as they came.
func (n *netLog) waitFinished(req string, d time.Duration) (decoded, wire int64, ok bool) {
	timeout := time.After(d)
	for {
		n.mu.Lock()
		dec, wire, done := n.received[req], n.wire[req], n.done[req]
		n.mu.Unlock()
		if done {
			return dec, wire, true
		}
		select {
		case <-n.finished:
		case <-timeout:
			return dec, 0, false
		}
	}
}

func pathOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://")
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[i:]
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

// header returns a response header, whatever the case of its name.
func (n *netLog) header(req, name string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.responses[req]
	if r == nil {
		return "", false
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v), true
		}
	}
	return "", true
}

func (n *netLog) protocol(req string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.responses[req]; r != nil {
		return r.Protocol
	}
	return ""
}

func (n *netLog) status(req string) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if r := n.responses[req]; r != nil {
		return r.Status
	}
	return 0
}

// underMiddleware is the scenario: the page loads the shim and the wasm,
// connects and subscribes; events published one at a time each arrive
// before the next is published; the server ends the session; the access
// log then, and only then, records the stream, with a duration at least as
// long as the page saw it open and at least the bytes the page received.
func underMiddleware(t *testing.T, a app) {
	tab := browsertest.NewTab(t, 60*time.Second)
	nl := newNetLog()
	if err := chromedp.Listen(tab, nl.listen); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := chromedp.Do(tab, chromedp.Navigate(a.url+"/")); err != nil {
		t.Fatal(err)
	}
	wait := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			state, _ := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify({got, failure: window.failure, closed: window.closedReason, state: client.getReadyState()})`))
			t.Fatalf("waiting for %s: %v; page: %s", expr, err, state)
		}
	}
	wait(`window.subscribed || window.failure || window.closedReason`)
	if f, _ := chromedp.Run(tab, chromedp.Evaluate[string](`window.failure || window.closedReason || ''`)); f != "" {
		t.Fatalf("the page failed: %s", f)
	}
	opened := time.Now()
	t.Logf("connected and subscribed %v after navigating", opened.Sub(start).Round(time.Millisecond))
	clientID, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.clientId`))
	if err != nil {
		t.Fatal(err)
	}

	// The wasm came compressed once, by Gzip, and the page ran it; the
	// stream came gzipped too.
	wasm, _ := fs.ReadFile(static.FS(), "ssevent.wasm")
	wasmReq := "GET /ssevent/" + static.Name("ssevent.wasm") // the shim loads it by its hashed name
	if enc, _ := nl.header(wasmReq, "Content-Encoding"); enc != "gzip" || nl.status(wasmReq) != 200 {
		t.Fatalf("the wasm came with status %d, Content-Encoding %q", nl.status(wasmReq), enc)
	}
	if dec, wire, ok := nl.waitFinished(wasmReq, 10*time.Second); !ok || dec != int64(len(wasm)) || wire >= dec {
		t.Fatalf("the wasm came as %d bytes and decoded to %d (loaded: %v), want %d decoded from fewer", wire, dec, ok, len(wasm))
	} else {
		t.Logf("the wasm came as %d bytes and decoded to %d", wire, dec)
	}
	if enc, _ := nl.header("GET /events", "Content-Encoding"); enc != "gzip" {
		t.Fatalf("the stream came with Content-Encoding %q, want gzip", enc)
	}
	if p := nl.protocol("GET /events"); p != "http/1.1" {
		t.Fatalf("the stream came over %q, want http/1.1", p)
	}

	// One event at a time: each is on the page before the next is sent.
	var want []string
	for i := 1; i <= 4; i++ {
		ch := []string{"news", "updates"}[i%2]
		payload := fmt.Sprintf("event %d", i)
		if err := a.send(ch, payload); err != nil {
			t.Fatal(err)
		}
		want = append(want, ch+" "+payload)
		wait(fmt.Sprintf(`got.length >= %d`, i))
		got, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`got`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("the page got %q, want %q", got, want)
		}
	}
	for {
		select {
		case l := <-a.logged:
			if l.Method == http.MethodGet && strings.HasPrefix(l.URI, "/events") {
				t.Fatalf("the access log recorded the stream while it was open: %+v", l)
			}
			continue
		default:
		}
		break
	}

	ending := time.Now()
	if err := a.end(clientID); err != nil {
		t.Fatal(err)
	}
	wait(`window.closedReason`)
	if r, _ := chromedp.Run(tab, chromedp.Evaluate[string](`window.closedReason`)); r != "ended" {
		t.Fatalf("closed with reason %q, want ended", r)
	}
	var l accessLog
	for timeout := time.After(10 * time.Second); l.Method == ""; {
		select {
		case r := <-a.logged:
			if r.Method == http.MethodGet && strings.HasPrefix(r.URI, "/events") {
				l = r
			}
		case <-timeout:
			t.Fatal("the access log recorded no stream within 10s of its end")
		}
	}
	decoded, wire, ok := nl.waitFinished("GET /events", 10*time.Second)
	if !ok {
		t.Fatal("the browser did not see the stream end")
	}
	t.Logf("access log: %s %s %d, %v, %d bytes; the page saw the stream open for %v, and received %d bytes of it (with their chunk framing), %d decoded",
		l.Method, l.URI, l.Status, l.Latency.Round(time.Millisecond), l.Size, ending.Sub(opened).Round(time.Millisecond), wire, decoded)
	if l.Status != http.StatusOK {
		t.Fatalf("logged status %d", l.Status)
	}
	if l.Latency < ending.Sub(opened) {
		t.Fatalf("logged duration %v, but the page saw the stream open for %v", l.Latency, ending.Sub(opened))
	}
	switch {
	case !a.logsEncoded && l.Size != decoded:
		t.Fatalf("logged %d bytes, but the page received %d, decoded", l.Size, decoded)
	case a.logsEncoded && (l.Size <= 0 || l.Size >= decoded):
		// The page closes its EventSource on the "closed" event, maybe
		// before Gzip's last bytes come, and the browser's count of the
		// compressed bytes lags behind the decoded ones: the compressed
		// bytes the page received bound nothing exactly.
		t.Fatalf("logged %d bytes, want the compressed size of the %d the page decoded", l.Size, decoded)
	}
	if n := a.clients(); n != 0 {
		t.Fatalf("%d clients left", n)
	}
}

// closeWithin closes a hub, waiting at most 5s for its streams to end.
func closeWithin(close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = close(ctx)
}
