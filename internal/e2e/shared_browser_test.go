//go:build !(js && wasm)

package e2e_test

// Tabs of one origin share one stream per hub URL through the shim's
// SharedWorker: each tab's client behaves as if alone (its own channels
// and handlers), the server sees one stream, and the tab that opened it
// may go without the others losing anything.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/static"
)

// sharedPage is the shim's test page where options.noPagehide hides the
// pagehide event from the shim, as a tab that dies without one would, and
// options.noSharedWorker hides SharedWorker, as Chrome for Android does.
var sharedPage = strings.Replace(shimPage, "if (opts.shared === undefined) opts.shared = false;\n", `if (opts.noSharedWorker) window.SharedWorker = undefined;
if (opts.noPagehide) {
  const add = window.addEventListener;
  window.addEventListener = function (type, ...rest) { if (type !== 'pagehide') add.call(this, type, ...rest); };
}
`, 1)

// sharedSite serves the hub, the shim and its page over HTTP/1.1, and
// opens tabs on it.
type sharedSite struct {
	t   *testing.T
	hub *server.Hub
	srv *httptest.Server
}

func newSharedSite(t *testing.T) *sharedSite {
	t.Helper()
	hub := server.New(server.Config{})
	e := echo.New()
	e.HideBanner = true
	e.Any("/events", hub.Handler)
	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
	e.GET("/shim.html", func(c echo.Context) error { return c.HTML(200, sharedPage) })
	e.GET("/ping", func(c echo.Context) error { return c.String(200, "pong") })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Close(ctx)
	})
	return &sharedSite{t: t, hub: hub, srv: srv}
}

// open loads the shim page in a new tab with the options, without
// waiting for anything.
func (s *sharedSite) open(opts map[string]any) *page {
	s.t.Helper()
	p := &page{t: s.t, tab: browsertest.NewTab(s.t, 90*time.Second), hub: s.hub, srv: s.srv}
	b, _ := json.Marshal(opts)
	if err := chromedp.Do(p.tab, chromedp.Navigate(s.srv.URL+"/shim.html#"+url.PathEscape(string(b)))); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// seq returns the payloads n of the "all" messages client 0 of p got.
func seq(p *page) []int {
	var out []int
	for _, m := range p.events(`e.client === 0 && e.type === 'message' && e.channel === 'all'`) {
		var v struct{ N int }
		if err := json.Unmarshal(m.Payload, &v); err != nil {
			p.t.Fatalf("payload %s: %v", m.Payload, err)
		}
		out = append(out, v.N)
	}
	return out
}

// closeTab closes a tab as its user would.
func closeTab(t *testing.T, p *page) {
	t.Helper()
	if err := chromedp.Do(p.tab, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
		_, err := cdp.Call(ctx, tt, cdppage.Close, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatalf("close tab: %v", err)
	}
}

func TestBrowserTabsShareOneStream(t *testing.T) {
	s := newSharedSite(t)
	const tabs = 8
	pages := make([]*page, tabs)
	for i := range pages {
		// Not waiting for each tab: over HTTP/1.1 a stream per tab would
		// stall the seventh tab's page load.
		pages[i] = s.open(map[string]any{"shared": true, "channels": []string{fmt.Sprintf("t%d", i), "all"}, "noPagehide": i == 7})
	}
	var id string
	for i, p := range pages {
		got := p.connected(0, 1)
		if i == 0 {
			id = got
		} else if got != id {
			t.Fatalf("tab %d has client id %q, tab 0 %q: not one shared client", i, got, id)
		}
	}
	if n := s.hub.ClientCount(); n < 1 || n > 2 {
		t.Fatalf("server sees %d streams for %d tabs, want 1 or 2", n, tabs)
	}
	// Each tab is connected as if alone, with its own channels; the
	// connection pool is free for other requests.
	for i, p := range pages {
		if st := eval[int](p, "app.state(0)"); st != 1 {
			t.Errorf("tab %d: readyState %d", i, st)
		}
		if !eval[bool](p, "app.connected(0)") {
			t.Errorf("tab %d: not connected", i)
		}
		if cid := eval[string](p, "app.clientId(0)"); cid != id {
			t.Errorf("tab %d: getClientId %q, want %q", i, cid, id)
		}
		chs := eval[[]string](p, "app.channels(0)")
		sort.Strings(chs)
		if want := []string{"all", "default", fmt.Sprintf("t%d", i)}; !slices.Equal(chs, want) {
			t.Errorf("tab %d: channels %v, want %v", i, chs, want)
		}
		// A generous bound only: a stalled pool hangs for good.
		pong := eval[string](p, `Promise.race([fetch('/ping').then((r) => r.text()), new Promise((r) => setTimeout(() => r('stalled'), 10000))])`)
		if pong != "pong" {
			t.Errorf("tab %d: fetch /ping: %s", i, pong)
		}
	}
	// A tab receives only what it subscribed: t3's message reaches tab 3
	// alone (the "all" message after it is the barrier).
	if err := s.hub.Send("t3", map[string]int{"n": 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.Send("all", map[string]int{"n": 0}); err != nil {
		t.Fatal(err)
	}
	for i, p := range pages {
		p.messages(0, `e.channel === 'all'`, 1)
		got := len(p.events(`e.type === 'message' && e.channel !== 'all'`))
		if want := map[bool]int{true: 1, false: 0}[i == 3]; got != want {
			t.Errorf("tab %d got %d messages of other channels, want %d: %s", i, got, want, p.dump())
		}
	}
	// subscribe resolves with the tab's view; a channel leaves the stream
	// only when no tab wants it.
	var res struct {
		ClientID string   `json:"clientId"`
		Channels []string `json:"channels"`
	}
	raw := eval[string](pages[2], `clients[0].subscribe('t4', 'extra').then((r) => JSON.stringify(r))`)
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatal(err)
	}
	sort.Strings(res.Channels)
	if want := []string{"all", "default", "extra", "t2", "t4"}; res.ClientID != id || !slices.Equal(res.Channels, want) {
		t.Fatalf("subscribe result %s, want client %s channels %v", raw, id, want)
	}
	if got := s.hub.ClientsByChannel("extra"); !slices.Equal(got, []string{id}) {
		t.Fatalf("server: extra has %v", got)
	}
	if r := pages[2].call("unsubscribe", 0, "t4", "t2"); r != "" {
		t.Fatalf("unsubscribe: %s", r)
	}
	if got := s.hub.ClientsByChannel("t2"); len(got) != 0 {
		t.Errorf("t2 still on the stream after its only tab left it: %v", got)
	}
	if got := s.hub.ClientsByChannel("t4"); !slices.Equal(got, []string{id}) {
		t.Errorf("t4 left the stream while tab 4 wants it: %v", got)
	}
	// The tab that opened the stream closes while a numbered sequence is
	// published: every other tab gets each number once, in order.
	const total = 60
	half := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 1; n <= total; n++ {
			if err := s.hub.Send("all", map[string]int{"n": n}); err != nil {
				t.Errorf("send %d: %v", n, err)
				return
			}
			if n == total/2 {
				close(half)
			}
		}
	}()
	<-half
	closeTab(t, pages[0])
	wg.Wait()
	for i, p := range pages[1:] {
		p.messages(0, `e.channel === 'all'`, total+1)
		got := seq(p)
		want := make([]int, total+1)
		for n := range want {
			want[n] = n
		}
		if !slices.Equal(got, want) {
			t.Errorf("tab %d: got %v, want 0..%d once each", i+1, got, total)
		}
		if st := eval[int](p, "app.state(0)"); st != 1 {
			t.Errorf("tab %d: readyState %d after tab 0 closed", i+1, st)
		}
	}
	// The worker saw tab 0 go: its own channel left the stream.
	deadline := time.Now().Add(15 * time.Second)
	for len(s.hub.ClientsByChannel("t0")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("t0 still on the stream 15 s after its tab closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.hub.ClientCount(); n != 1 {
		t.Errorf("server sees %d streams after tab 0 closed", n)
	}
	// A tab that goes without a pagehide message (tab 7's page swallows
	// the event) is seen through the Web Lock it held.
	closeTab(t, pages[7])
	deadline = time.Now().Add(15 * time.Second)
	for len(s.hub.ClientsByChannel("t7")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("t7 still on the stream 15 s after its tab closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.hub.Send("all", map[string]int{"n": total + 1}); err != nil {
		t.Fatal(err)
	}
	for i, p := range pages[1:7] {
		if got := p.messages(0, `e.channel === 'all'`, total+2); len(got) != total+2 {
			t.Errorf("tab %d: %d messages after tab 7 crashed", i+1, len(got))
		}
	}
}

// Clients of one page share the stream too, each with its own channels; a
// client with a headers function (which cannot cross into the worker) or
// with shared: false keeps a stream of its own, in the page.
func TestBrowserSharedClientsOfOnePage(t *testing.T) {
	s := newSharedSite(t)
	p := s.open(map[string]any{"shared": true, "clients": 2, "channels": []string{"news"}})
	a, b := p.connected(0, 1), p.connected(1, 1)
	if a != b {
		t.Fatalf("two clients of one page: ids %q and %q, want one shared client", a, b)
	}
	if r := p.call("subscribe", 1, "sports"); r != "" {
		t.Fatalf("subscribe: %s", r)
	}
	if err := s.hub.Send("sports", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.Send("news", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	p.messages(0, `e.channel === 'news'`, 1)
	p.messages(1, `e.channel === 'news'`, 1)
	if got := p.events(`e.client === 0 && e.channel === 'sports'`); len(got) != 0 {
		t.Fatalf("client 0 got sports, which only client 1 subscribed: %s", p.dump())
	}
	p.messages(1, `e.channel === 'sports'`, 1)
	// A client that joins with channels of its own may subscribe at once:
	// the call waits until its channels are on the stream.
	got := eval[string](p, `(() => {
  const c = SSEvent.connect('/events', { shared: true, channels: ['fresh1'] });
  return c.subscribe('fresh2').then((r) => JSON.stringify(r.channels.sort()), (e) => 'error ' + e.code);
})()`)
	if got != `["default","fresh1","fresh2"]` {
		t.Fatalf("subscribe right after connect: %s", got)
	}
	// A headers function: its own stream, in the page.
	q := s.open(map[string]any{"shared": true, "headersFn": "sync", "tokens": []string{"t"}})
	if c := q.connected(0, 1); c == a {
		t.Fatal("a client with a headers function joined the shared stream")
	}
	if calls := eval[int](q, "headerCalls"); calls < 1 {
		t.Fatalf("the headers function was called %d times", calls)
	}
	r := s.open(map[string]any{"shared": false})
	if c := r.connected(0, 1); c == a {
		t.Fatal("a client with shared: false joined the shared stream")
	}
	// Without SharedWorker, a stream per page.
	u := s.open(map[string]any{"shared": true, "noSharedWorker": true})
	if c := u.connected(0, 1); c == a {
		t.Fatal("a client without SharedWorker joined the shared stream")
	}
	if n := s.hub.ClientCount(); n != 4 {
		t.Fatalf("the hub has %d streams, want 4 (one shared, three in pages)", n)
	}
}

// A page that leaves for the back/forward cache says goodbye (the worker
// drops its clients); when it comes back, its clients join again with
// their channels. The events are dispatched by hand here, as the browser
// would fire them.
func TestBrowserSharedPageBackFromCache(t *testing.T) {
	s := newSharedSite(t)
	p := s.open(map[string]any{"shared": true, "channels": []string{"news"}})
	p.connected(0, 1)
	if r := p.call("subscribe", 0, "sports"); r != "" {
		t.Fatalf("subscribe: %s", r)
	}
	eval[bool](p, `dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })); true`)
	deadline := time.Now().Add(15 * time.Second)
	for s.hub.ClientCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream is still open after the only page left")
		}
		time.Sleep(20 * time.Millisecond)
	}
	eval[bool](p, `dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true })); true`)
	p.connected(0, 2)
	chs := eval[[]string](p, "app.channels(0)")
	sort.Strings(chs)
	if want := []string{"default", "news", "sports"}; !slices.Equal(chs, want) {
		t.Fatalf("channels after coming back: %v, want %v", chs, want)
	}
	if err := s.hub.Send("sports", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	p.messages(0, `e.channel === 'sports'`, 1)
	if st := eval[int](p, "app.state(0)"); st != 1 {
		t.Fatalf("readyState %d after coming back", st)
	}
}
