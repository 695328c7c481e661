//go:build !wasm

package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/ssetest"
)

// htmxModules installs the pinned htmx packages of the browser tests
// (internal/e2e/testdata/hypermedia) with npm ci when they are missing,
// and returns their node_modules directory.
func htmxModules(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "internal", "e2e", "testdata", "hypermedia"))
	require.NoError(t, err)
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "htmx-ext-sse", "dist", "sse.min.js")); err == nil {
		return modules
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm not found: install Node.js (Debian: apt-get install nodejs npm)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return modules
}

// TestBrowserHTMXPage: the htmx page (real htmx 2 and htmx-ext-sse, no
// script of ours) and the plain page on one demo: a message published on
// either shows on both, escaped; the server's clock ticks on the htmx
// page; bad input gets a notice and publishes nothing.
func TestBrowserHTMXPage(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{HTMXDir: htmxModules(t), ClockInterval: 100 * time.Millisecond})
	hx := openPage(t, "htmx", d.url+"/htmx.html")
	plain := openPage(t, "plain", d.url+"/plain.html")

	hx.wait(`document.getElementById('clock').textContent.includes('UTC')`)
	plain.wait(`document.getElementById('state').textContent === 'open'`)
	plain.wait(subscribers("news", 1))

	hx.eval(`document.getElementById('pub-channel').value = 'news'`)
	hx.fill("pub-text", "hello from htmx", "pub-btn")
	hx.wait(hasMessage("news", "hello from htmx"))
	hx.wait(noticeSays("Sent to news", false))
	plain.wait(hasMessage("news", "hello from htmx"))

	plain.eval(`document.getElementById('pub-channel').value = 'news'`)
	plain.fill("pub-text", "hello from the plain page", "pub-btn")
	hx.wait(hasMessage("news", "hello from the plain page"))

	hx.eval(`document.getElementById('pub-channel').value = 'chat'`)
	hx.fill("pub-text", hostile, "pub-btn")
	hx.wait(hasMessage("chat", hostile))
	hx.wait(`window.pwned === undefined && !document.querySelector('#feeds img, #feeds script')`)

	hx.fill("pub-text", "   ", "pub-btn")
	hx.wait(noticeSays("The message is empty", true))
	hx.wait(`document.querySelectorAll('#feed-chat .msg').length === 1`)
	if path := os.Getenv("SSEVENT_HTMX_SCREENSHOT"); path != "" {
		screenshot(t, hx, path)
	}
}

// TestHypermediaPages: both pages render their stream's URL with the
// hub's position; a page whose client is not installed loads nothing from
// elsewhere and says how to install it; a Datastar client of the page
// companion gets every message as a patch appending it to the channel's
// feed; the publishing endpoint answers Datastar with a patch event.
func TestHypermediaPages(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	d := start(t, "127.0.0.1:0", config{HTMXDir: none, DatastarDir: none})
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(d.url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return string(b)
	}
	page := get("/htmx.html")
	assert.Contains(t, page, `<p id="missing" class="notice bad">htmx is not installed here, so this page cannot work`)
	assert.NotContains(t, page, "<script")
	assert.NotContains(t, page, "//cdn")
	assert.Contains(t, page, `sse-connect="/events?channels=html:clock,html:news,html:chat&amp;lastEventId=`)
	assert.Regexp(t, `&amp;page=[A-Za-z0-9_-]{22}&amp;format=htmx2"`, page)
	page = get("/datastar.html")
	assert.Contains(t, page, `<p id="missing" class="notice bad">Datastar&#39;s client is not installed here, so this page cannot work`)
	assert.NotContains(t, page, "<script")
	assert.NotContains(t, page, "//cdn")
	assert.Contains(t, page, `data-init="@get('/events?channels=html:clock,html:news,html:chat&amp;lastEventId=`)

	s := ssetest.Open(t, d.url+"/events?channels=html:news", http.Header{"Datastar-Request": {"true"}}, nil)
	s.Connected(t)
	code, _ := postJSON(t, d.url+"/api/publish", request{Channel: "news", Text: "a < b", From: "json"})
	require.Equal(t, http.StatusOK, code)
	ev := s.Next(t, nil)
	assert.Equal(t, "datastar-patch-elements", ev.Name)
	assert.Regexp(t, `^selector #feed-news\nmode append\nelements <li class="msg"><span class="time">\d\d:\d\d:\d\d</span><span class="from">json</span><span class="text">a &lt; b</span></li>$`, string(ev.Data))

	req, _ := http.NewRequest(http.MethodPost, d.url+"/pages/publish",
		strings.NewReader(url.Values{"channel": {"news"}, "text": {"from Datastar"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Datastar-Request", "true")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "event: datastar-patch-elements\ndata: elements <p id=\"notice\" class=\"notice ok\">Sent to news.</p>\n\n", string(body))
	ev = s.Next(t, nil)
	assert.Contains(t, string(ev.Data), `<span class="text">from Datastar</span>`)

	req, _ = http.NewRequest(http.MethodPost, d.url+"/pages/publish", strings.NewReader("channel=a%2Cb&text=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), `class="notice bad">Invalid channel name`)
}
