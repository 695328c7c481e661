//go:build !(js && wasm)

package e2e_test

// htmx pages in headless Chromium against a real hub: the real htmx.org
// 2.x with htmx-ext-sse 2.2.4, and htmx.org 4.0.1 with its hx-sse
// extension, installed from npm (testdata/hypermedia, pinned by its lock
// file) and served as they are. No script of ours runs on these pages but
// a line that counts the stream's openings.

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/internal/netcut"
	"github.com/ssevent/ssevent/server"
)

// hypermediaDir holds the npm packages the htmx pages load.
var hypermediaDir = filepath.Join("testdata", "hypermedia")

var npmOnce struct {
	sync.Mutex
	done bool
}

// hypermediaModules installs the pinned htmx packages with npm ci when
// they are missing, and returns their node_modules directory.
func hypermediaModules(t *testing.T) string {
	t.Helper()
	npmOnce.Lock()
	defer npmOnce.Unlock()
	dir := filepath.Join(hypermediaDir, "node_modules")
	if npmOnce.done {
		return dir
	}
	for _, f := range []string{"htmx.org/dist/htmx.min.js", "htmx-ext-sse/dist/sse.min.js", "htmx4/dist/htmx.min.js", "htmx4/dist/ext/hx-sse.min.js"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			continue
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("npm not found: install Node.js (Debian: apt-get install nodejs npm)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = hypermediaDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", hypermediaDir, err, out)
		}
		break
	}
	npmOnce.done = true
	return dir
}

// hxPage is an htmx page in a tab, its hub, and the stream requests the
// page made.
type hxPage struct {
	t   *testing.T
	tab *browsertest.Tab
	hub *server.Hub
	net *netcut.Listener

	mu      sync.Mutex
	streams []http.Header // each stream request's headers, in order
	urls    []string      // each stream request's URL, in order
	arrived chan struct{} // wakes awaitStream after stream requests
	hold    chan struct{} // while not nil, stream requests wait for it to close
	refuse  int           // stream requests to refuse with 503 before holding
}

// serveHTMX serves page (a template given the hub's LastEventID as
// .Last and a new page id as .Page) at /, the npm packages at /js/, and the hub at /events, through
// Echo v4, and opens the page in a tab.
func serveHTMX(t *testing.T, page string) *hxPage {
	t.Helper()
	return servePage(t, page, hypermediaModules(t), server.Config{})
}

// servePage serves page as serveHTMX does, with the files of the directory
// js at /js/, on a hub made with cfg (a Retry of 100ms and no heartbeat
// unless cfg says otherwise).
func servePage(t *testing.T, page, js string, cfg server.Config) *hxPage {
	t.Helper()
	if cfg.Retry == 0 {
		cfg.Retry = 100 * time.Millisecond
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = -1
	}
	hub, err := server.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &hxPage{t: t, hub: hub, arrived: make(chan struct{}, 1)}
	tmpl := template.Must(template.New("page").Parse(page))
	e := echo.New()
	e.HideBanner = true
	e.GET("/events", func(c echo.Context) error {
		p.mu.Lock()
		p.streams = append(p.streams, c.Request().Header.Clone())
		p.urls = append(p.urls, c.Request().URL.String())
		hold, refuse := p.hold, p.refuse > 0
		if refuse {
			p.refuse--
		}
		p.mu.Unlock()
		select {
		case p.arrived <- struct{}{}:
		default: // a wake-up is pending already
		}
		if refuse {
			// A server restarting behind a proxy.
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "message": "restarting"})
		}
		if hold != nil {
			select {
			case <-hold:
			case <-c.Request().Context().Done():
				return nil
			}
		}
		return hub.Handler(c)
	})
	e.GET("/js/*", echo.WrapHandler(http.StripPrefix("/js/", http.FileServer(http.Dir(js)))))
	e.GET("/", func(c echo.Context) error {
		var b strings.Builder
		if err := tmpl.Execute(&b, map[string]string{"Last": hub.LastEventID(), "Page": server.NewPageID()}); err != nil {
			return err
		}
		return c.HTML(http.StatusOK, b.String())
	})
	srv := httptest.NewUnstartedServer(e)
	p.net = netcut.Wrap(srv.Listener)
	srv.Listener = p.net
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Close(ctx)
	})
	p.tab = browsertest.NewTab(t, 60*time.Second)
	if err := chromedp.Do(p.tab, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	return p
}

// awaitStream waits for the page's n-th stream request.
func (p *hxPage) awaitStream(n int) http.Header {
	p.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		p.mu.Lock()
		if len(p.streams) >= n {
			h := p.streams[n-1]
			p.mu.Unlock()
			return h
		}
		p.mu.Unlock()
		select {
		case <-p.arrived:
		case <-timeout:
			p.t.Fatalf("no stream request %d", n)
		}
	}
}

// wait polls the page until expr is truthy.
func (p *hxPage) wait(expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.tab, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		html, _ := chromedp.Run(p.tab, chromedp.Evaluate[string](`document.body.innerHTML`))
		p.t.Fatalf("waiting for %s: %v\npage: %s", expr, err, html)
	}
}

func (p *hxPage) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.tab, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (p *hxPage) send(channel, html string) {
	p.t.Helper()
	if err := p.hub.SendHTML(channel, html); err != nil {
		p.t.Fatal(err)
	}
}

// lossless runs the common scenario: fragments swapped into two targets,
// then a stream cut; the first refuse reconnections are refused with
// 503; what is published while the next waits reaches the client by
// replay, then live events follow, each once, in order. items is a JS
// expression for the texts of the list's items. It returns the headers of
// the reconnection that got through.
func (p *hxPage) lossless(items string, refuse int, publish func(i int)) http.Header {
	p.t.Helper()
	p.awaitStream(1)
	publish(0)
	p.wait(items + `.length === 1`)
	p.wait(`document.querySelector('#score').textContent === '1-0'`)

	// Cut the stream; refuse the reconnections the test asks to, then
	// hold the next until more is published.
	p.mu.Lock()
	hold := make(chan struct{})
	p.hold, p.refuse = hold, refuse
	n := len(p.streams) + refuse + 1
	p.mu.Unlock()
	if p.net.CutAll() == 0 {
		p.t.Fatal("no connection to cut")
	}
	again := p.awaitStream(n)
	for i := 1; i <= 5; i++ {
		publish(i)
	}
	p.mu.Lock()
	p.hold = nil
	p.mu.Unlock()
	close(hold)
	for i := 6; i <= 7; i++ {
		publish(i)
	}
	p.wait(items + `.length >= 8`)
	got := p.eval(items + `.join(',')`)
	if got != "0,1,2,3,4,5,6,7" {
		p.t.Fatalf("items after the cut: %s", got)
	}
	if s := p.eval(`document.querySelector('#score').textContent`); s != "8-0" {
		p.t.Fatalf("score %q, want the last one", s)
	}
	return again
}

const htmx2Page = `<!doctype html>
<html><head>
<script src="/js/htmx.org/dist/htmx.min.js"></script>
<script src="/js/htmx-ext-sse/dist/sse.min.js"></script>
</head><body>
<div hx-ext="sse" sse-connect="/events?channels=news,scores&format=htmx2&lastEventId={{.Last}}">
  <ul id="news" sse-swap="news" hx-swap="beforeend"></ul>
  <p id="score" sse-swap="scores">none</p>
</div>
</body></html>`

// TestHTMX2Page: an htmx 2 page (htmx.org 2.0.11, htmx-ext-sse 2.2.4)
// swaps fragments sent with SendHTML into the elements whose sse-swap
// names their channel (appended to one, replacing another), multi-line
// fragments included, and loses nothing when its stream is cut: its
// EventSource reconnects with Last-Event-ID and the hub replays.
func TestHTMX2Page(t *testing.T) {
	p := serveHTMX(t, htmx2Page)
	again := p.lossless(`[...document.querySelectorAll('#news li')].map((li) => li.textContent.trim())`, 0, func(i int) {
		p.send("news", fmt.Sprintf("<li class=\"item\">\n  %d\n</li>", i))
		p.send("scores", fmt.Sprintf("%d-0", i+1))
	})
	if again.Get("Last-Event-ID") == "" {
		t.Fatalf("the reconnection sent no Last-Event-ID: %v", again)
	}
}

const htmx4Page = `<!doctype html>
<html><head>
<script src="/js/htmx4/dist/htmx.min.js"></script>
<script src="/js/htmx4/dist/ext/hx-sse.min.js"></script>
<meta name="htmx-config" content='{"sse":{"reconnectDelay":50,"reconnectJitter":0}}'>
</head><body>
<div hx-sse:connect="/events?channels=news,scores&lastEventId={{.Last}}" hx-target="#news" hx-swap="beforeend"></div>
<ul id="news"></ul>
<p id="score">none</p>
<p id="bell">quiet</p>
<script>document.body.addEventListener('ring', (e) => { document.querySelector('#bell').textContent = e.detail.data })</script>
</body></html>`

// TestHTMX4Page: an htmx 4.0.1 page (hx-sse) swaps unnamed messages into
// its target, updates another target from a patch aimed at it (an
// <hx-partial>), gets named events as DOM events, chooses its dialect
// by its HX-Request header alone, and loses nothing when its stream is
// cut: it reconnects with Last-Event-ID and the hub replays.
func TestHTMX4Page(t *testing.T) {
	p := serveHTMX(t, htmx4Page)
	first := p.awaitStream(1)
	if first.Get("HX-Request") != "true" {
		t.Fatalf("htmx 4 sent no HX-Request header: %v", first)
	}
	again := p.lossless(`[...document.querySelectorAll('#news li')].map((li) => li.textContent.trim())`, 0, func(i int) {
		p.send("news", fmt.Sprintf("<li>\r\n%d\r\n</li>", i))
		if err := p.hub.PatchElements("scores", fmt.Sprintf("%d-0", i+1),
			server.WithSelector("#score"), server.WithMode(server.PatchInner)); err != nil {
			t.Fatal(err)
		}
	})
	if again.Get("Last-Event-ID") == "" {
		t.Fatalf("the reconnection sent no Last-Event-ID: %v", again)
	}
	if err := p.hub.Broadcast("ding", "ring"); err != nil {
		t.Fatal(err)
	}
	p.wait(`document.querySelector('#bell').textContent === 'ding'`)
}

// TestHTMX2RecreatedEventSource: when a reconnection is refused (a server
// restarting behind a proxy answers 503), the EventSource closes and
// htmx-ext-sse makes a new one, which sends no Last-Event-ID
// (htmx-extensions #184). The page's stream URL names the page
// (?page=, server.NewPageID): the new stream resumes the page's session
// and replays what it missed, each item once.
func TestHTMX2RecreatedEventSource(t *testing.T) {
	p := serveHTMX(t, strings.Replace(htmx2Page, "format=htmx2", "format=htmx2&page={{.Page}}", 1))
	again := p.lossless(`[...document.querySelectorAll('#news li')].map((li) => li.textContent.trim())`, 1, func(i int) {
		p.send("news", fmt.Sprintf("<li>%d</li>", i))
		p.send("scores", fmt.Sprintf("%d-0", i+1))
	})
	if id := again.Get("Last-Event-ID"); id != "" {
		p.mu.Lock()
		for i, h := range p.streams {
			t.Logf("request %d: Last-Event-ID %q Cookie %q", i+1, h.Get("Last-Event-ID"), h.Get("Cookie"))
		}
		p.mu.Unlock()
		t.Fatalf("the new EventSource sent Last-Event-ID %q: not the case this test is for", id)
	}
	p.mu.Lock()
	refused := p.streams[1]
	p.mu.Unlock()
	if refused.Get("Last-Event-ID") == "" {
		t.Fatal("the refused reconnection was not the EventSource's own")
	}
}
