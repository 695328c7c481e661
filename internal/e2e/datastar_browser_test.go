//go:build !(js && wasm)

package e2e_test

// A Datastar page in headless Chromium against a real hub, with Datastar's
// own v1 client: bundles/datastar.js of the Datastar repository at v1.0.2,
// which the Go module proxy serves as the module
// github.com/starfederation/datastar (npm has only its betas, of an older
// wire format). No script of ours runs on the page.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/server"
)

const datastarPage = `<!doctype html>
<html><head>
<script type="module" src="/js/datastar.js"></script>
</head><body data-signals="{count: 0, who: 'nobody', theme: 'light'}">
<div id="stream" data-init="@get('/events?channels=news,scores,ui&lastEventId={{.Last}}')"></div>
<ul id="news"></ul>
<p id="score">none</p>
<p id="status"><span>connecting</span></p>
<p id="toast">toast</p>
<ol id="log"><li>middle</li></ol>
<p id="count" data-text="$count"></p>
<p id="who" data-text="$who + ' / ' + $theme"></p>
</body></html>`

// TestDatastarPage: a page running Datastar's v1.0.2 client opens the hub's
// stream with data-init="@get(...)", whose Datastar-Request header alone
// chooses the Datastar dialect; PatchElements patches several targets
// with their modes (append, inner, outer by id, prepend, after, remove),
// SendHTML morphs by id, PatchSignals sets signals the page shows with
// data-text (OnlyIfMissing leaves a set one alone); a cut stream is
// reconnected by the client with Last-Event-ID (after the retry: the hub
// sent) and the hub replays: every item once, in order.
func TestDatastarPage(t *testing.T) {
	p := servePage(t, datastarPage, browsertest.DatastarClient(t, browsertest.DatastarModule), server.Config{})
	first := p.awaitStream(1)
	if first.Get("Datastar-Request") != "true" {
		t.Fatalf("Datastar sent no Datastar-Request header: %v", first)
	}
	if first.Get("Last-Event-ID") != "" {
		t.Fatalf("a first stream request with Last-Event-ID: %v", first)
	}
	items := `[...document.querySelectorAll('#news li')].map((li) => li.textContent.trim())`
	again := p.lossless(items, 0, func(i int) {
		if err := p.hub.PatchElements("news", fmt.Sprintf("<li>\n%d\n</li>", i),
			server.WithSelector("#news"), server.WithMode(server.PatchAppend)); err != nil {
			t.Fatal(err)
		}
		if err := p.hub.PatchElements("scores", fmt.Sprintf("%d-0", i+1),
			server.WithSelector("#score"), server.WithMode(server.PatchInner)); err != nil {
			t.Fatal(err)
		}
		if err := p.hub.PatchSignals("scores", map[string]any{"count": i + 1}); err != nil {
			t.Fatal(err)
		}
	})
	if again.Get("Last-Event-ID") == "" {
		t.Fatalf("the reconnection sent no Last-Event-ID: %v", again)
	}
	if again.Get("Datastar-Request") != "true" {
		t.Fatalf("the reconnection sent no Datastar-Request header: %v", again)
	}
	p.wait(`document.querySelector('#count').textContent === '8'`)

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Other modes and targets.
	must(p.hub.SendHTML("ui", `<p id="status"><b>live</b></p>`))
	must(p.hub.PatchElements("ui", `<li>first</li>`, server.WithSelector("#log"), server.WithMode(server.PatchPrepend)))
	must(p.hub.PatchElements("ui", `<li>after</li>`, server.WithSelector("#log li:last-child"), server.WithMode(server.PatchAfter)))
	must(p.hub.PatchElements("ui", "", server.WithSelector("#toast"), server.WithMode(server.PatchRemove)))
	must(p.hub.PatchSignals("ui", map[string]any{"who": "Zoë <3"}))
	must(p.hub.PatchSignals("ui", map[string]any{"who": "ignored", "theme": "dark"}, server.OnlyIfMissing()))
	// A JSON message of the channel: Datastar ignores it.
	must(p.hub.Send("ui", map[string]string{"text": "not for Datastar"}))
	must(p.hub.PatchSignals("ui", map[string]any{"count": 100}))
	p.wait(`document.querySelector('#count').textContent === '100'`)
	if s := p.eval(`document.querySelector('#status').innerHTML`); s != "<b>live</b>" {
		t.Fatalf("#status after SendHTML: %q", s)
	}
	if s := p.eval(`[...document.querySelectorAll('#log li')].map((li) => li.textContent).join(',')`); s != "first,middle,after" {
		t.Fatalf("#log: %q", s)
	}
	if s := p.eval(`String(document.querySelector('#toast'))`); s != "null" {
		t.Fatalf("#toast not removed: %s", s)
	}
	if s := p.eval(`document.querySelector('#who').textContent`); s != "Zoë <3 / light" {
		t.Fatalf("#who: %q", s)
	}
	if s := p.eval(items + `.join(',')`); s != "0,1,2,3,4,5,6,7" {
		t.Fatalf("items at the end: %s", s)
	}
	if got := p.eval(`document.body.textContent`); strings.Contains(got, "not for Datastar") {
		t.Fatal("a JSON message reached the page")
	}
}

const datastarEndedPage = `<!doctype html>
<html><head>
<script>
window.fetches = []
document.addEventListener('datastar-fetch', (e) => window.fetches.push(e.detail.type + ' ' + e.detail.el.id))
</script>
<script type="module" src="/js/datastar.js"></script>
</head><body>
<div id="auto" data-init="@get('/events?channels=a&lastEventId={{.Last}}')"></div>
<div id="always" data-init="@get('/events?channels=b&lastEventId={{.Last}}', {retry: 'always'})"></div>
<ul id="a"></ul>
<ul id="b"></ul>
</body></html>`

// TestDatastarStreamEndedByServer: Datastar v1.0.2's @get retries after a
// network error only (its default retry: 'auto'); the hub therefore ends a
// Datastar stream it ends for its own reasons (here its Timeout; a slow
// consumer's or a shutdown's end is the same) without the end of the body.
// So both the default @get and one with {retry: 'always'} come back after
// the retry: the hub sent, with Last-Event-ID, and lose nothing.
func TestDatastarStreamEndedByServer(t *testing.T) {
	p := servePage(t, datastarEndedPage, browsertest.DatastarClient(t, browsertest.DatastarModule), server.Config{Timeout: time.Second})
	p.awaitStream(2)
	// Hold the reconnections until more is published.
	hold := make(chan struct{})
	p.mu.Lock()
	p.hold = hold
	p.mu.Unlock()
	items := func(id string) string {
		return `[...document.querySelectorAll('#` + id + ` li')].map((li) => li.textContent).join(',')`
	}
	send := func(channel string, i int) {
		t.Helper()
		if err := p.hub.PatchElements(channel, fmt.Sprintf("<li>%d</li>", i),
			server.WithSelector("#"+channel), server.WithMode(server.PatchAppend)); err != nil {
			t.Fatal(err)
		}
	}
	send("a", 0)
	send("b", 0)
	p.wait(items("a") + ` === '0' && ` + items("b") + ` === '0'`)

	// The hub ends both streams after a second: both come back.
	p.awaitStream(4)
	for i := 1; i <= 3; i++ {
		send("a", i)
		send("b", i)
	}
	p.mu.Lock()
	p.hold = nil
	again := append([]http.Header(nil), p.streams[2:4]...)
	urls := append([]string(nil), p.urls[2:4]...)
	p.mu.Unlock()
	close(hold)
	send("a", 4)
	send("b", 4)
	p.wait(items("a") + ` === '0,1,2,3,4' && ` + items("b") + ` === '0,1,2,3,4'`)
	seen := map[string]bool{}
	for i, h := range again {
		if h.Get("Last-Event-ID") == "" {
			t.Fatalf("a reconnection sent no Last-Event-ID: %s %v", urls[i], h)
		}
		if !strings.Contains(urls[i], "datastar=") {
			t.Fatalf("a stream request without Datastar's signals parameter: %s", urls[i])
		}
		for _, ch := range []string{"a", "b"} {
			if strings.Contains(urls[i], "channels="+ch+"&") {
				seen[ch] = true
			}
		}
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("the reconnections were not one per @get: %v", urls)
	}
	if f := p.eval(`window.fetches.join(',')`); strings.Contains(f, "finished") {
		t.Fatalf("an @get gave up: %s", f)
	}
}

// TestDatastarHiddenPage: Datastar's @get closes its stream while the page
// is hidden (its openWhenHidden is false by default for GET) and, when the
// page is shown again, opens it anew with the Last-Event-ID it had: what
// was published meanwhile is replayed, each item once. The test makes the
// page hidden and visible by overriding document.hidden and dispatching
// visibilitychange, which is what Datastar listens to.
func TestDatastarHiddenPage(t *testing.T) {
	ended := make(chan server.DisconnectReason, 4)
	p := servePage(t, datastarPage, browsertest.DatastarClient(t, browsertest.DatastarModule), server.Config{
		OnDisconnect: func(_ string, reason server.DisconnectReason) { ended <- reason },
	})
	p.awaitStream(1)
	items := `[...document.querySelectorAll('#news li')].map((li) => li.textContent).join(',')`
	send := func(i int) {
		t.Helper()
		if err := p.hub.PatchElements("news", fmt.Sprintf("<li>%d</li>", i),
			server.WithSelector("#news"), server.WithMode(server.PatchAppend)); err != nil {
			t.Fatal(err)
		}
	}
	send(0)
	p.wait(items + ` === '0'`)

	p.eval(`window.fakeHidden = true;
Object.defineProperty(document, 'hidden', {configurable: true, get: () => window.fakeHidden});
document.dispatchEvent(new Event('visibilitychange')); 'hidden'`)
	select {
	case reason := <-ended:
		if reason != server.DisconnectClientGone {
			t.Fatalf("the stream ended with %s", reason)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the hidden page kept its stream")
	}
	for i := 1; i <= 3; i++ {
		send(i)
	}
	if got := p.eval(items); got != "0" {
		t.Fatalf("the hidden page got %q", got)
	}
	p.eval(`window.fakeHidden = false; document.dispatchEvent(new Event('visibilitychange')); 'shown'`)
	again := p.awaitStream(2)
	if again.Get("Last-Event-ID") == "" {
		t.Fatalf("the stream opened again without Last-Event-ID: %v", again)
	}
	send(4)
	p.wait(items + ` === '0,1,2,3,4'`)
}
