//go:build !wasm

package main

// End-to-end in headless Chromium: the go-app page and the plain page side
// by side on one demo server.

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
)

// tab is one page of the demo in the browser.
type tab struct {
	t    *testing.T
	name string
	tab  *browsertest.Tab
}

func openPage(t *testing.T, name, u string) *tab {
	t.Helper()
	p := &tab{t: t, name: name, tab: browsertest.NewTab(t, 2*time.Minute)}
	if err := chromedp.Do(p.tab, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(u)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// js quotes a Go string for JavaScript.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// wait polls until the expression is truthy.
func (p *tab) wait(expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.tab, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(waitTimeout)))
	if err != nil {
		p.t.Fatalf("%s page: waiting for %s: %v\nnotice: %q state: %q", p.name, expr, err,
			p.text("#notice"), p.text("#state")+" "+p.text("#state-detail"))
	}
}

func (p *tab) eval(expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.tab, chromedp.Evaluate[chromedp.Void](expr)); err != nil {
		p.t.Fatalf("%s page: %s: %v", p.name, expr, err)
	}
}

func (p *tab) text(sel string) string {
	v, _ := chromedp.Run(p.tab, chromedp.Evaluate[string](
		`(document.querySelector(`+js(sel)+`) || {textContent: ''}).textContent`))
	return v
}

// fill sets a form field and clicks a button, as a user would.
func (p *tab) fill(id, value, button string) {
	p.t.Helper()
	p.eval(`document.getElementById(` + js(id) + `).value = ` + js(value) + `; document.getElementById(` + js(button) + `).click()`)
}

// hasMessage is a JS expression: the feed key shows a message with text.
func hasMessage(feed, text string) string {
	return `[...document.querySelectorAll('.feed')].some((f) => f.dataset.feed === ` + js(feed) +
		` && [...f.querySelectorAll('.msg .text')].some((m) => m.textContent === ` + js(text) + `))`
}

// noticeSays is a JS expression: the notice is an error containing s.
func noticeSays(s string, bad bool) string {
	cls := "ok"
	if bad {
		cls = "bad"
	}
	return `document.getElementById('notice').classList.contains('` + cls + `') && document.getElementById('notice').textContent.includes(` + js(s) + `)`
}

func subscribers(ch string, n int) string {
	return `[...document.querySelectorAll('#stats tbody tr')].some((r) => r.dataset.channel === ` + js(ch) +
		` && r.lastChild.textContent === '` + strconv.Itoa(n) + `')`
}

const hostile = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`

func TestBrowserBothPages(t *testing.T) {
	wasm, _ := built(t)
	d := start(t, "127.0.0.1:0", config{WasmPath: wasm})
	addr := strings.TrimPrefix(d.url, "http://")

	goapp := openPage(t, "go-app", d.url+"/")
	plain := openPage(t, "plain", d.url+"/plain.html")
	pages := []*tab{goapp, plain}

	for _, p := range pages {
		p.wait(`document.getElementById('state').textContent === 'open' && document.getElementById('client-id').textContent !== ''`)
		p.wait(`document.getElementById('clock').textContent.includes('goroutines')`)
		p.wait(`document.getElementById('clients').textContent === '2'`)
		p.wait(subscribers("news", 2))
	}

	// Subscribe both to chat through the form.
	for _, p := range pages {
		p.fill("sub-channel", "chat", "sub-btn")
		p.wait(`document.querySelector('#my-channels li[data-channel="chat"]')`)
		p.wait(noticeSays("Subscribed to chat", false))
	}
	goapp.wait(subscribers("chat", 2))

	// Publish from one page, see it in the other, both ways.
	plain.eval(`document.getElementById('pub-channel').value = 'chat'`)
	plain.fill("pub-text", "hello from the plain page", "pub-btn")
	goapp.wait(hasMessage("chat", "hello from the plain page"))
	plain.wait(hasMessage("chat", "hello from the plain page"))

	goapp.eval(`document.getElementById('pub-channel').value = 'chat'`)
	goapp.fill("pub-text", hostile, "pub-btn")
	for _, p := range pages {
		p.wait(hasMessage("chat", hostile))
		p.wait(`window.pwned === undefined && !document.querySelector('#feeds img, #feeds script')`)
	}

	// Bad input: a clear message, and nothing sent.
	for _, p := range pages {
		p.fill("pub-text", "   ", "pub-btn")
		p.wait(noticeSays("The message is empty", true))
		p.fill("pub-text", strings.Repeat("x", maxTextRunes+100), "pub-btn")
		p.wait(noticeSays("The message is too long", true))
		p.eval(`document.getElementById('pub-channel').value = 'a,b'`)
		p.fill("pub-text", "hi", "pub-btn")
		p.wait(noticeSays("Invalid channel name", true))
		p.fill("sub-channel", "bad,name", "sub-btn")
		p.wait(noticeSays("Invalid channel name", true))
		p.fill("sub-channel", " ", "sub-btn")
		p.wait(noticeSays("Type a channel name", true))
	}

	// A private message reaches its sender only; a broadcast reaches all.
	goapp.fill("direct-text", "only for the go-app page", "private-btn")
	goapp.wait(hasMessage(privateFeed, "only for the go-app page"))
	plain.fill("direct-text", "only for the plain page", "private-btn")
	plain.wait(hasMessage(privateFeed, "only for the plain page"))
	plain.fill("direct-text", "to everyone", "broadcast-btn")
	for _, p := range pages {
		p.wait(hasMessage(broadcastFeed, "to everyone"))
	}
	goapp.wait(`!(` + hasMessage(privateFeed, "only for the plain page") + `)`)
	plain.wait(`!(` + hasMessage(privateFeed, "only for the go-app page") + `)`)

	if path := os.Getenv("SSEVENT_DEMO_SCREENSHOT"); path != "" {
		goapp.eval(`document.getElementById('pub-channel').value = 'news'`)
		goapp.fill("pub-text", "Hello from Go/WASM", "pub-btn")
		goapp.wait(hasMessage("news", "Hello from Go/WASM"))
		goapp.eval(`document.getElementById('pub-channel').value = 'chat'`)
		screenshot(t, goapp, path)
	}

	// Unsubscribe in the plain page: the chip goes, the count drops, and
	// its chat feed gets nothing more.
	plain.eval(`document.querySelector('#my-channels li[data-channel="chat"] .unsub').click()`)
	plain.wait(`!document.querySelector('#my-channels li[data-channel="chat"]')`)
	goapp.wait(subscribers("chat", 1))
	goapp.eval(`document.getElementById('pub-channel').value = 'chat'`)
	goapp.fill("pub-text", "after unsubscribe", "pub-btn")
	goapp.wait(hasMessage("chat", "after unsubscribe"))
	goapp.eval(`document.getElementById('pub-channel').value = 'news'`)
	goapp.fill("pub-text", "news after unsubscribe", "pub-btn")
	plain.wait(hasMessage("news", "news after unsubscribe")) // delivered in order: chat would be there by now
	plain.wait(`!(` + hasMessage("chat", "after unsubscribe") + `)`)

	// The server restarts: both pages show the reconnection, then open.
	d.stop()
	for _, p := range pages {
		p.wait(`document.getElementById('state').textContent === 'reconnecting'`)
	}
	start(t, addr, config{WasmPath: wasm})
	for _, p := range pages {
		p.wait(`document.getElementById('state').textContent === 'open' && document.getElementById('reconnects').textContent !== '0'`)
		p.wait(`document.getElementById('clients').textContent === '2'`)
	}
	// and they work on the new server.
	plain.eval(`document.getElementById('pub-channel').value = 'news'`)
	plain.fill("pub-text", "after the restart", "pub-btn")
	goapp.wait(hasMessage("news", "after the restart"))
}

// screenshot saves the page as a PNG.
func screenshot(t *testing.T, p *tab, path string) {
	t.Helper()
	buf, err := chromedp.Run(p.tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(buf))
}

// The go-app pages share the app's one client: going from the main page
// to the messages page and back keeps the same session (one client on the
// server, the same id, no reload), and every message published before,
// during and after the changes shows, once, in order.
func TestBrowserRouteChangeLosesNothing(t *testing.T) {
	wasm, _ := built(t)
	d := start(t, "127.0.0.1:0", config{WasmPath: wasm})
	p := openPage(t, "go-app", d.url+"/")
	p.wait(`document.getElementById('state').textContent === 'open' && document.getElementById('client-id').textContent !== ''`)
	id := p.text("#client-id")
	p.eval(`window.sameDocument = true`)

	n := 0
	publish := func(count int) {
		t.Helper()
		for range count {
			n++
			status, out := postJSON(t, d.url+"/api/publish", request{Channel: "news", Text: "m" + strconv.Itoa(n), From: "test"})
			if status != 200 {
				t.Fatalf("publish: %d %v", status, out)
			}
		}
	}
	// allShown is a JS expression: the news feed shows m1..mN, newest
	// first, each once.
	allShown := func() string {
		want := make([]string, n)
		for i := range n {
			want[i] = "m" + strconv.Itoa(n-i)
		}
		b, _ := json.Marshal(want)
		return `JSON.stringify([...document.querySelectorAll('.feed[data-feed="news"] .msg .text')].map((m) => m.textContent)) === ` + js(string(b))
	}

	// At most maxFeed messages in all: the feed keeps that many.
	publish(3)
	p.wait(allShown())
	for _, nav := range []string{"#nav-messages", "#nav-home", "#nav-messages", "#nav-home"} {
		p.eval(`document.querySelector(` + js(nav) + `).click()`)
		publish(5) // while the pages change
		want := "/messages"
		if nav == "#nav-home" {
			want = "/"
		}
		p.wait(`location.pathname === ` + js(want) + ` && document.querySelector('#nav-` + map[string]string{"/": "messages", "/messages": "home"}[want] + `')`)
		publish(3)
		p.wait(allShown())
	}
	p.wait(`window.sameDocument === true`) // go-app changed pages in place
	if got := p.text("#client-id"); got != id {
		t.Fatalf("client id %q after the route changes, want %q", got, id)
	}
	if c := getStats(t, d.url).Clients; c != 1 {
		t.Fatalf("%d clients on the server, want the one stream", c)
	}
}
