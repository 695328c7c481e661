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
	if name == "ssevent.wasm" {
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
