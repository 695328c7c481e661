//go:build !wasm

package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/shared"
)

func TestPublishPrivateBroadcast(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{})
	news := openStream(t, d.url, "news")
	other := openStream(t, d.url)

	status, out := postJSON(t, d.url+"/api/publish", request{Channel: "news", Text: "  hello <b>world</b>  ", From: "test"})
	require.Equal(t, http.StatusOK, status, out)
	ch, m := news.message(shared.EventMessage)
	assert.Equal(t, "news", ch)
	assert.Equal(t, "hello <b>world</b>", m.Text, "text is trimmed, and passed on as it is")
	assert.Equal(t, "test", m.From)
	_, err := time.Parse(time.RFC3339Nano, m.Time)
	assert.NoError(t, err)

	status, out = postJSON(t, d.url+"/api/private", request{ClientID: news.id, Text: "just you"})
	require.Equal(t, http.StatusOK, status, out)
	_, m = news.message(privateEvent)
	assert.Equal(t, "just you", m.Text)

	status, out = postJSON(t, d.url+"/api/broadcast", request{Text: "everyone"})
	require.Equal(t, http.StatusOK, status, out)
	for _, s := range []*stream{news, other} {
		_, m = s.message(broadcastEvent)
		assert.Equal(t, "everyone", m.Text)
	}
	// other saw neither the channel message nor the private one: its next
	// event is the broadcast, checked above.
}

func TestStats(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{})
	a := openStream(t, d.url, "news", "room-1")
	openStream(t, d.url, "news")

	s := getStats(t, d.url)
	assert.Equal(t, 2, s.Clients)
	assert.Equal(t, 2, s.subscribers("news"))
	assert.Equal(t, 0, s.subscribers("chat"))
	assert.Equal(t, 1, s.subscribers("room-1"), "channels with subscribers are listed")
	assert.Equal(t, strings.TrimPrefix(d.url, "http://"), s.Instance)

	a.Close()
	require.Eventually(t, func() bool {
		s := getStats(t, d.url)
		return s.Clients == 1 && s.subscribers("room-1") == -1 && s.subscribers("news") == 1
	}, waitTimeout, 10*time.Millisecond, "a channel left without subscribers is no longer listed")
}

func TestBadInput(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{})
	news := openStream(t, d.url, "news")

	long := strings.Repeat("é", maxTextRunes+1)
	for _, tc := range []struct {
		name, path, ctype, body string
		status                  int
		code, message           string
	}{
		{"empty text", "/api/publish", "application/json", `{"channel":"news","text":""}`, 400, shared.CodeBadRequest, "empty"},
		{"blank text", "/api/publish", "application/json", `{"channel":"news","text":" \n\t "}`, 400, shared.CodeBadRequest, "empty"},
		{"no text", "/api/broadcast", "application/json", `{}`, 400, shared.CodeBadRequest, "empty"},
		{"text too long", "/api/publish", "application/json", `{"channel":"news","text":"` + long + `"}`, 413, shared.CodePayloadTooLarge, "too long"},
		{"body too large", "/api/broadcast", "application/json", `{"text":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, shared.CodePayloadTooLarge, "KiB"},
		{"not JSON", "/api/publish", "application/json", `channel=news&text=hi`, 400, shared.CodeInvalidJSON, "JSON"},
		{"text not a string", "/api/publish", "application/json", `{"channel":"news","text":{"x":1}}`, 400, shared.CodeInvalidJSON, "JSON"},
		{"form encoded", "/api/publish", "application/x-www-form-urlencoded", `channel=news&text=hi`, 415, shared.CodeUnsupportedMedia, "application/json"},
		{"no content type", "/api/broadcast", "", `{"text":"hi"}`, 415, shared.CodeUnsupportedMedia, "application/json"},
		{"channel with comma", "/api/publish", "application/json", `{"channel":"news,chat","text":"hi"}`, 400, shared.CodeInvalidChannel, "channel"},
		{"empty channel", "/api/publish", "application/json", `{"channel":"","text":"hi"}`, 400, shared.CodeInvalidChannel, "channel"},
		{"control character in channel", "/api/publish", "application/json", `{"channel":"ne\u0000ws","text":"hi"}`, 400, shared.CodeInvalidChannel, "channel"},
		{"channel too long", "/api/publish", "application/json", `{"channel":"` + strings.Repeat("c", shared.MaxChannelLen+1) + `","text":"hi"}`, 400, shared.CodeInvalidChannel, "channel"},
		{"private without id", "/api/private", "application/json", `{"text":"hi"}`, 400, shared.CodeBadRequest, "client id"},
		{"private to unknown id", "/api/private", "application/json", `{"clientId":"nobody","text":"hi"}`, 404, shared.CodeUnknownClient, "client"},
		{"sender too long", "/api/broadcast", "application/json", `{"text":"hi","from":"` + strings.Repeat("f", maxFromRunes+1) + `"}`, 400, shared.CodeBadRequest, "sender"},
		{"unknown endpoint", "/api/delete", "application/json", `{}`, 404, "not_found", "No such endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out, h := post(t, d.url+tc.path, tc.ctype, tc.body)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, "application/json", strings.Split(h.Get("Content-Type"), ";")[0])
			assert.Equal(t, tc.code, out["error"])
			assert.Contains(t, out["message"], tc.message)
		})
	}
	require.Equal(t, 405, func() int {
		resp, err := http.Get(d.url + "/api/publish")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}())

	// Nothing was published: the next message is this one.
	status, _ := postJSON(t, d.url+"/api/publish", request{Channel: "news", Text: "after"})
	require.Equal(t, http.StatusOK, status)
	_, m := news.message(shared.EventMessage)
	assert.Equal(t, "after", m.Text)
}

func TestClockChannel(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{ClockInterval: 20 * time.Millisecond})
	s := openStream(t, d.url, clockChannel)
	for {
		select {
		case ev := <-s.Events:
			if ev.Name != shared.EventMessage {
				continue
			}
			assert.Contains(t, string(ev.Data), `"channel":"clock"`)
			assert.Contains(t, string(ev.Data), `"instance":"`+strings.TrimPrefix(d.url, "http://")+`"`)
			return
		case <-time.After(waitTimeout):
			t.Fatal("no clock tick")
		}
	}
}

func TestPages(t *testing.T) {
	wasm, _ := built(t)
	d := start(t, "127.0.0.1:0", config{WasmPath: wasm})

	get := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, d.url+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}

	resp, body := get("/")
	require.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, `id="pub-form"`, "the go-app page is prerendered")
	assert.Contains(t, body, "/app.js")

	resp, body = get("/plain.html")
	require.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, `<script src="/ssevent/ssevent.js"></script>`)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self' 'wasm-unsafe-eval'")
	assert.NotContains(t, body, "<script>", "no inline script: the CSP forbids it")

	resp, body = get("/ssevent/ssevent.js")
	require.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, "connect")

	resp, _ = get("/web/app.wasm")
	require.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "application/wasm", resp.Header.Get("Content-Type"))
	assert.Equal(t, "", resp.Header.Get("Content-Encoding"))
	etag := resp.Header.Get("ETag")
	resp, _ = get("/web/app.wasm", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)

	resp, body = get("/web/app.wasm", "Accept-Encoding", "br, gzip")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(strings.NewReader(body))
	require.NoError(t, err)
	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, []byte("\x00asm"), raw[:4])

	for _, p := range []string{"/web/demo.css", "/web/plain.js", "/web/icon.png", "/web/icon.svg"} {
		resp, _ = get(p)
		assert.Equal(t, 200, resp.StatusCode, p)
	}
	resp, _ = get("/web/nothing.js")
	assert.Equal(t, 404, resp.StatusCode)
}

func TestShutdownEndsStreams(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{})
	s := openStream(t, d.url, "news")
	stopped := make(chan struct{})
	go func() { d.stop(); close(stopped) }()
	s.ended()
	select {
	case <-stopped:
	case <-time.After(waitTimeout):
		t.Fatal("serve did not return")
	}
}
