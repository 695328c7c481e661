// Package static serves the browser half of ssevent: the script-tag shim
// (ssevent.js), the ES module (ssevent.mjs), its TypeScript typings
// (ssevent.d.ts), the WebAssembly client (ssevent.wasm, with precompressed
// .gz and .br copies) and the wasm_exec.js that matches the compiler that
// built it. The files are embedded, so an application needs nothing beside
// its binary:
//
//	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
//
// and in the page:
//
//	<script src="/ssevent/ssevent.js"></script>
//	<script>
//	  const client = SSEvent.connect('/events');
//	  client.on('message', ({ data }) => console.log(data.channel, data.payload));
//	</script>
//
// # Under compressing middleware
//
// A middleware that compresses responses (Echo's Gzip, klauspost's gzhttp,
// gorilla's CompressHandler) runs before Handler and would compress a
// precompressed copy of the wasm once more (Echo's does not check
// Content-Encoding), which no browser decodes. Such middleware announces
// itself before the handler writes: it adds Vary: Accept-Encoding to the
// response, or sets Content-Encoding. When Handler finds either on the
// response it was given, it leaves the encoding to the middleware: it
// serves the identity bytes of ssevent.wasm, sets no Content-Encoding,
// gives weak ETags (the middleware changes the bytes) and ignores Range
// (a range of the identity bytes is not a range of what the middleware
// sends). The middleware's own compression then applies, once. To have
// the smaller brotli copy served, and spare the server compressing 2.7 MB
// per load, skip Handler's route in the middleware, e.g. with Echo:
//
//	e.Use(middleware.GzipWithConfig(middleware.GzipConfig{
//		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Path(), "/ssevent/") },
//	}))
//
// Middleware that neither announces itself so nor leaves responses that
// carry a Content-Encoding alone cannot be detected: skip Handler's route
// in it.
//
// `make wasm` rebuilds the assets from ./cmd/ssevent-wasm; they are committed
// so that `go get` users have them. Handler is safe for concurrent use.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed ssevent.js ssevent.mjs ssevent.d.ts package.json wasm_exec.js ssevent.wasm ssevent.wasm.gz ssevent.wasm.br
var files embed.FS

// FS returns the embedded assets, for applications that serve them their
// own way.
func FS() fs.FS { return files }

// CacheControl is the Cache-Control of every answer: browsers keep the
// files but revalidate them (a cheap 304 thanks to the ETag), so a new
// release of the server never pairs an old wasm with a new shim.
const CacheControl = "no-cache"

var types = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".mjs":  "text/javascript; charset=utf-8",
	".ts":   "application/typescript; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".wasm": "application/wasm",
}

// asset is one file ready to serve: content, type and strong ETag.
type asset struct {
	body []byte
	typ  string
	etag string
}

var (
	loadOnce sync.Once
	assets   map[string]*asset
)

func load() {
	assets = make(map[string]*asset)
	entries, _ := files.ReadDir(".")
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		assets[e.Name()] = &asset{body: b, typ: typeOf(e.Name()), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
}

func typeOf(name string) string {
	switch {
	case strings.HasSuffix(name, ".d.ts"):
		return types[".ts"]
	case strings.HasSuffix(name, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".br"):
		return "application/x-brotli"
	}
	if t, ok := types[path.Ext(name)]; ok {
		return t
	}
	return "application/octet-stream"
}

// Handler serves the assets by name (strip any mount prefix first, as in
// the package example): GET and HEAD only, with Content-Type (application/wasm
// for the client), a strong ETag answered with 304 on If-None-Match,
// Cache-Control, and for ssevent.wasm the brotli or gzip copy when the
// request's Accept-Encoding allows it, with Content-Encoding and Vary.
// Under a compressing middleware it serves the identity bytes instead, for
// the middleware to compress (see the package documentation).
func Handler() http.Handler {
	loadOnce.Do(load)
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	a, ok := assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	etag := a.etag
	if upstreamEncodes(h) {
		// A middleware before this handler compresses the response:
		// give it the identity bytes, whole, and say that the bytes
		// the client gets are not these.
		etag = "W/" + etag
		if r.Header.Get("Range") != "" {
			r = r.Clone(r.Context())
			r.Header.Del("Range")
		}
	} else if name == "ssevent.wasm" {
		h.Add("Vary", "Accept-Encoding")
		for _, enc := range []struct{ token, suffix string }{{"br", ".br"}, {"gzip", ".gz"}} {
			if z, ok := assets[name+enc.suffix]; ok && accepts(r.Header.Get("Accept-Encoding"), enc.token) {
				h.Set("Content-Encoding", enc.token)
				a, etag = &asset{body: z.body, typ: types[".wasm"]}, z.etag
				break
			}
		}
	}
	h.Set("Content-Type", a.typ)
	h.Set("ETag", etag)
	h.Set("Cache-Control", CacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// upstreamEncodes reports whether a middleware before the handler has taken
// charge of the response's content coding: the response already varies
// on Accept-Encoding, or already has a Content-Encoding.
func upstreamEncodes(h http.Header) bool {
	if h.Get("Content-Encoding") != "" {
		return true
	}
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Encoding") {
				return true
			}
		}
	}
	return false
}

// accepts reports whether an Accept-Encoding header allows the coding
// (listed, or "*", without q=0).
func accepts(header, coding string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && name != "*" {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q <= 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}
