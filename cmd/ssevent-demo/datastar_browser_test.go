//go:build !wasm

package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
)

// TestBrowserDatastarPage: the Datastar page (Datastar's own v1.0.2
// client, served by the demo from a local file, no script of ours), the
// htmx page and the plain page on one demo: a message published on the
// htmx or the plain page shows on the Datastar page, and one published
// with the Datastar page's form (its data-on:submit @post, answered with a
// patch of the notice) shows on the others, escaped; the clock ticks; bad input gets a notice and publishes nothing;
// neither page asks anything of another origin.
func TestBrowserDatastarPage(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{HTMXDir: htmxModules(t), DatastarDir: browsertest.DatastarClient(t, datastarModule), ClockInterval: 100 * time.Millisecond})
	ds := openPage(t, "datastar", d.url+"/datastar.html")
	hx := openPage(t, "htmx", d.url+"/htmx.html")
	plain := openPage(t, "plain", d.url+"/plain.html")

	ds.wait(`document.getElementById('clock').textContent.includes('UTC')`)
	hx.wait(`document.getElementById('clock').textContent.includes('UTC')`)
	plain.wait(`document.getElementById('state').textContent === 'open'`)
	plain.fill("sub-channel", "chat", "sub-btn")
	plain.wait(subscribers("chat", 1))

	hx.eval(`document.getElementById('pub-channel').value = 'news'`)
	hx.fill("pub-text", "hello from htmx", "pub-btn")
	hx.wait(hasMessage("news", "hello from htmx"))
	ds.wait(hasMessage("news", "hello from htmx"))
	plain.eval(`document.getElementById('pub-channel').value = 'news'`)
	plain.fill("pub-text", "hello from the plain page", "pub-btn")
	ds.wait(hasMessage("news", "hello from the plain page"))

	ds.eval(`document.getElementById('pub-channel').value = 'chat'`)
	ds.fill("pub-text", "hello from Datastar", "pub-btn")
	ds.wait(noticeSays("Sent to chat", false))
	ds.wait(hasMessage("chat", "hello from Datastar"))
	hx.wait(hasMessage("chat", "hello from Datastar"))
	plain.wait(hasMessage("chat", "hello from Datastar"))

	ds.fill("pub-text", hostile, "pub-btn")
	ds.wait(hasMessage("chat", hostile))
	hx.wait(hasMessage("chat", hostile))
	ds.wait(`window.pwned === undefined && !document.querySelector('#feeds img, #feeds script')`)

	ds.fill("pub-text", "   ", "pub-btn")
	ds.wait(noticeSays("The message is empty", true))
	ds.wait(`document.querySelectorAll('#feed-chat .msg').length === 2`)
	hx.wait(`document.querySelectorAll('#feed-chat .msg').length === 2`)

	for _, p := range []*tab{ds, hx} {
		if n := len(p.tab.Log().Requests("")) - len(p.tab.Log().Requests(d.url+"/")); n != 0 {
			t.Errorf("%s page: %d requests to another origin: %v", p.name, n, p.tab.Log().Requests(""))
		}
		if s := p.text("#missing"); s != "" {
			t.Errorf("%s page says: %s", p.name, s)
		}
	}
	if !strings.Contains(strings.Join(requestURLs(ds), " "), d.url+datastarPath) {
		t.Errorf("the Datastar page did not load %s: %v", datastarPath, requestURLs(ds))
	}
	if path := os.Getenv("SSEVENT_DATASTAR_SCREENSHOT"); path != "" {
		screenshot(t, ds, path)
	}
}

func requestURLs(p *tab) []string {
	var urls []string
	for _, r := range p.tab.Log().Requests("") {
		urls = append(urls, r.URL)
	}
	return urls
}
