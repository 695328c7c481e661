//go:build !wasm

package main

// The server-rendered pages: an htmx 2 page (/htmx.html) and a Datastar
// page (/datastar.html), on the same hub as the go-app and plain pages.
// Neither runs a script of ours: htmx and Datastar read the hub's stream in
// their own dialects (docs/HYPERMEDIA.md).
//
// Every message published to a channel, from any page, goes out twice: as
// the JSON message the go-app and plain pages render, on the channel, and
// as HTML, rendered once with html/template, on the channel's page
// companion ("html:news"): a Datastar patch appending it to the channel's
// feed, which htmx pages swap as HTML. So a message published on one page
// shows on all of them.

import (
	"bytes"
	"errors"
	"html/template"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// pagePrefix names a channel's companion that carries its messages as
// HTML to the htmx and Datastar pages.
const pagePrefix = "html:"

// pageChannels are the channels whose feeds the htmx and Datastar pages
// show.
var pageChannels = []string{"news", "chat"}

// Where the pages load their clients from: the demo serves them from
// local files (config.HTMXDir, config.DatastarDir), never from a CDN.
const (
	htmxPath     = "/hx/htmx.org/dist/htmx.min.js"
	htmxSSEPath  = "/hx/htmx-ext-sse/dist/sse.min.js"
	datastarPath = "/ds/datastar.js"
)

// datastarModule is the Go module whose bundles/datastar.js is the
// Datastar page's client: Datastar v1's client is not on npm (only its
// betas, of an older wire format), but the Go module proxy serves the
// Datastar repository with its built client.
const datastarModule = "github.com/starfederation/datastar@v1.0.2"

// How to get each page's client, for the log and the page.
const (
	htmxMissing = "htmx is not installed here, so this page cannot work: run `make run`, " +
		"or `npm ci` in internal/e2e/testdata/hypermedia and start the demo with -htmx internal/e2e/testdata/hypermedia/node_modules."
	datastarMissing = "Datastar's client is not installed here, so this page cannot work: run `make run`, " +
		"or `GOFLAGS=-mod=mod go mod download -json " + datastarModule + "` and start the demo with -datastar <its Dir>/bundles."
)

// feedItem is one message as the pages show it.
var feedItem = template.Must(template.New("item").Parse(
	`<li class="msg"><span class="time">{{.Time}}</span>{{with .From}}<span class="from">{{.}}</span>{{end}}<span class="text">{{.Text}}</span></li>`))

// clockItem is the server's time as the pages show it.
var clockItem = template.Must(template.New("clock").Parse(`<span id="clock">{{.}}</span>`))

// publishHTML renders msg once and sends it to the page companion of
// channel: Datastar appends it to the channel's feed, htmx swaps it into
// the element listening for the companion.
func (d *demo) publishHTML(channel string, msg message) error {
	t, err := time.Parse(time.RFC3339Nano, msg.Time)
	if err != nil {
		t = time.Now()
	}
	var b bytes.Buffer
	if err := feedItem.Execute(&b, map[string]string{"Time": t.Format("15:04:05"), "From": msg.From, "Text": msg.Text}); err != nil {
		return err
	}
	return d.hub.PatchElements(pagePrefix+channel, b.String(),
		server.WithSelector("#"+feedID(channel)), server.WithMode(server.PatchAppend))
}

// feedID is the id of a channel's feed on the pages.
func feedID(channel string) string { return "feed-" + channel }

// pageClock feeds the pages' clock until done is closed, once a second.
func (d *demo) pageClock(done <-chan struct{}) {
	t := time.NewTicker(d.cfg.ClockInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			var b bytes.Buffer
			_ = clockItem.Execute(&b, now.UTC().Format("15:04:05")+" UTC · "+d.instance)
			if err := d.hub.PatchElements(pagePrefix+clockChannel, b.String()); err != nil {
				return
			}
		}
	}
}

// hypermediaRoutes registers the pages, their publishing endpoint and the
// clients they load, from config.HTMXDir and config.DatastarDir. A client
// missing there is logged, and its page says so.
func (d *demo) hypermediaRoutes(e *echo.Echo) {
	e.GET("/htmx.html", func(c echo.Context) error { return d.servePage(c, htmxPage) })
	e.GET("/datastar.html", func(c echo.Context) error { return d.servePage(c, datastarPage) })
	e.POST("/pages/publish", d.pagePublish)
	if dir := d.cfg.HTMXDir; dir != "" && fileExists(filepath.Join(dir, "htmx.org", "dist", "htmx.min.js")) &&
		fileExists(filepath.Join(dir, "htmx-ext-sse", "dist", "sse.min.js")) {
		e.GET("/hx/*", echo.WrapHandler(http.StripPrefix("/hx/", http.FileServer(http.Dir(dir)))))
	} else {
		d.log.Warn("the htmx page will not work: htmx.org and htmx-ext-sse are not in its -htmx directory",
			"dir", dir, "fix", "run `make run`, or npm ci in internal/e2e/testdata/hypermedia")
		d.cfg.HTMXDir = ""
	}
	file := filepath.Join(d.cfg.DatastarDir, "datastar.js")
	head, err := readHead(file, 64)
	switch {
	case d.cfg.DatastarDir == "" || err != nil:
		d.log.Warn("the Datastar page will not work: its -datastar directory holds no datastar.js",
			"dir", d.cfg.DatastarDir, "fix", "run `make run`, or GOFLAGS=-mod=mod go mod download -json "+datastarModule+
				" and pass -datastar <its Dir>/bundles")
		d.cfg.DatastarDir = ""
	default:
		if !strings.HasPrefix(head, "// Datastar v1.") {
			d.log.Warn("the Datastar page is made for Datastar v1: this datastar.js may read its events otherwise",
				"file", file, "head", strings.SplitN(head, "\n", 2)[0])
		}
		e.GET(datastarPath, func(c echo.Context) error { return c.File(file) })
	}
}

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

// readHead returns the first n bytes of a file, or fewer.
func readHead(path string, n int) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return "", err
	}
	return string(b[:m]), nil
}

// pageData is what the page templates are given.
type pageData struct {
	Channels []string
	Stream   string // the stream's URL, with the hub's position
	// Missing, when set, says why the page's client is not there.
	Missing string
}

func (d *demo) servePage(c echo.Context, page *template.Template) error {
	chs := []string{pagePrefix + clockChannel}
	for _, ch := range pageChannels {
		chs = append(chs, pagePrefix+ch)
	}
	data := pageData{Channels: pageChannels}
	switch {
	case page == htmxPage && d.cfg.HTMXDir == "":
		data.Missing = htmxMissing
	case page == datastarPage && d.cfg.DatastarDir == "":
		data.Missing = datastarMissing
	}
	// The hub's position now: the stream replays whatever is published
	// between this rendering and its opening.
	// The page's own id: a stream htmx 2 opens anew resumes the page's
	// session instead.
	q := "channels=" + strings.Join(chs, ",") + "&lastEventId=" + d.hub.LastEventID() + "&page=" + server.NewPageID()
	if page == htmxPage {
		q += "&format=" + server.FormatHTMX2
	}
	data.Stream = "/events?" + q
	var b bytes.Buffer
	if err := page.Execute(&b, data); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(http.StatusOK, b.Bytes())
}

// pagePublish publishes a form's message to a channel, for every page:
// POST /pages/publish with channel, text and from. The answer is a notice
// for the page: HTML for htmx, a patch-elements event for Datastar.
func (d *demo) pagePublish(c echo.Context) error {
	r := c.Request()
	req := request{Channel: strings.TrimSpace(r.FormValue("channel")), Text: strings.TrimSpace(r.FormValue("text")),
		From: strings.TrimSpace(r.FormValue("from"))}
	status, notice := http.StatusOK, "Sent to "+req.Channel+"."
	switch {
	case shared.ValidChannel(req.Channel) != nil:
		status, notice = http.StatusBadRequest, channelHint
	case req.Text == "":
		status, notice = http.StatusBadRequest, "The message is empty: type some text."
	case !utf8.ValidString(req.Text) || utf8.RuneCountInString(req.Text) > maxTextRunes:
		status, notice = http.StatusRequestEntityTooLarge, "The message is too long."
	case !utf8.ValidString(req.From) || utf8.RuneCountInString(req.From) > maxFromRunes:
		status, notice = http.StatusBadRequest, "The sender name is too long."
	default:
		msg := req.message()
		if err := d.hub.Send(req.Channel, msg); err != nil {
			status, notice = http.StatusServiceUnavailable, "Could not publish: "+err.Error()
		} else if err := d.publishHTML(req.Channel, msg); err != nil {
			d.log.Warn("publishing to the pages", "err", err)
		}
	}
	var b bytes.Buffer
	cls := "notice ok"
	if status != http.StatusOK {
		cls = "notice bad"
	}
	_ = noticeItem.Execute(&b, map[string]string{"Class": cls, "Text": notice})
	if strings.EqualFold(r.Header.Get(server.HeaderDatastarRequest), "true") {
		// Datastar applies the patch events of a response.
		var ev bytes.Buffer
		ev.WriteString("event: datastar-patch-elements\ndata: elements ")
		ev.Write(b.Bytes())
		ev.WriteString("\n\n")
		return c.Blob(http.StatusOK, "text/event-stream", ev.Bytes())
	}
	return c.HTMLBlob(status, b.Bytes())
}

var noticeItem = template.Must(template.New("notice").Parse(`<p id="notice" class="{{.Class}}">{{.Text}}</p>`))

// htmxConfig makes htmx 2 swap error answers too: the notice they carry.
const htmxConfig = `{"responseHandling":[{"code":"204","swap":false},{"code":"...","swap":true}]}`

var htmxPage = template.Must(template.New("htmx").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssevent demo (htmx)</title>
<link rel="icon" href="/web/icon.svg">
<link rel="stylesheet" href="/web/demo.css">
<meta name="htmx-config" content='` + htmxConfig + `'>
{{if not .Missing}}<script src="` + htmxPath + `"></script>
<script src="` + htmxSSEPath + `"></script>{{end}}
</head>
<body>
<div class="page" hx-ext="sse" sse-connect="{{.Stream}}">
  <header class="top">
    <h1>ssevent demo</h1>
    <span class="kind">htmx 2 · hx-ext="sse" · no script of ours</span>
    <a class="other" href="/datastar.html">Datastar page →</a>
    <a class="other" href="/plain.html">plain page →</a>
  </header>
  <main class="grid">
    <section class="card">
      <h2>Server time</h2>
      <p sse-swap="html:clock"><span id="clock">…</span></p>
    </section>
    <section class="card">
      <h2>Publish to a channel</h2>
      <form id="pub-form" hx-post="/pages/publish" hx-target="#notice" hx-swap="outerHTML">
        <select id="pub-channel" name="channel">{{range .Channels}}<option>{{.}}</option>{{end}}</select>
        <input id="pub-text" name="text" type="text" placeholder="message" autocomplete="off">
        <input id="pub-from" name="from" type="text" placeholder="from (optional)" autocomplete="off">
        <button id="pub-btn" type="submit">Send</button>
      </form>
    </section>
    {{with .Missing}}<p id="missing" class="notice bad">{{.}}</p>{{end}}
    <p id="notice" class="notice empty"></p>
    <section class="card wide" id="feeds">
      <h2>Messages</h2>
      {{range .Channels}}<div class="feed" data-feed="{{.}}"><h3>{{.}}</h3><ul id="feed-{{.}}" sse-swap="html:{{.}}" hx-swap="beforeend"></ul></div>
      {{end}}
    </section>
  </main>
</div>
</body>
</html>
`))

var datastarPage = template.Must(template.New("datastar").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssevent demo (Datastar)</title>
<link rel="icon" href="/web/icon.svg">
<link rel="stylesheet" href="/web/demo.css">
{{if not .Missing}}<script type="module" src="` + datastarPath + `"></script>{{end}}
</head>
<body>
<div class="page" data-init="@get('{{.Stream}}', {openWhenHidden: true, retry: 'always'})">
  <header class="top">
    <h1>ssevent demo</h1>
    <span class="kind">Datastar v1 · no script of ours</span>
    <a class="other" href="/htmx.html">htmx page →</a>
    <a class="other" href="/plain.html">plain page →</a>
  </header>
  <main class="grid">
    <section class="card">
      <h2>Server time</h2>
      <p><span id="clock">…</span></p>
    </section>
    <section class="card">
      <h2>Publish to a channel</h2>
      <form id="pub-form" data-on:submit__prevent="@post('/pages/publish', {contentType: 'form'})">
        <select id="pub-channel" name="channel">{{range .Channels}}<option>{{.}}</option>{{end}}</select>
        <input id="pub-text" name="text" type="text" placeholder="message" autocomplete="off">
        <input id="pub-from" name="from" type="text" placeholder="from (optional)" autocomplete="off">
        <button id="pub-btn" type="submit">Send</button>
      </form>
    </section>
    {{with .Missing}}<p id="missing" class="notice bad">{{.}}</p>{{end}}
    <p id="notice" class="notice empty"></p>
    <section class="card wide" id="feeds">
      <h2>Messages</h2>
      {{range .Channels}}<div class="feed" data-feed="{{.}}"><h3>{{.}}</h3><ul id="feed-{{.}}"></ul></div>
      {{end}}
    </section>
  </main>
</div>
</body>
</html>
`))
