// Package static serves the browser half of ssevent: the script-tag shim
// (ssevent.js), the SharedWorker through which the tabs of a browser share
// one stream (ssevent-worker.js), the ES module (ssevent.mjs), its TypeScript typings
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
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed ssevent.js ssevent-worker.js ssevent.mjs ssevent.d.ts package.json wasm_exec.js ssevent.wasm ssevent.wasm.gz ssevent.wasm.br
var files embed.FS

// FS returns the embedded assets, for applications that serve them their
// own way.
func FS() fs.FS { return files }

// CacheControl is the Cache-Control of the files under their plain names
// (ssevent.js, ssevent.wasm…): browsers keep them but revalidate them (a
// cheap 304 thanks to the ETag), so a new release of the server never
// pairs an old wasm with a new shim.
const CacheControl = "no-cache"

// CacheControlImmutable is the Cache-Control of the files under their
// content-hashed names (see Name): their content never changes, so a
// browser keeps them a year without asking again.
const CacheControlImmutable = "public, max-age=31536000, immutable"

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
	loadOnce  sync.Once
	assets    map[string]*asset
	hashed    map[string]string // plain name -> content-hashed name
	immutable map[string]bool   // content-hashed names
)

func newAsset(name string, b []byte) *asset {
	sum := sha256.Sum256(b)
	return &asset{body: b, typ: typeOf(name), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
}

// hashName puts a digest of the content before the name's extension:
// ssevent.wasm -> ssevent.0123456789.wasm.
func hashName(name string, b []byte) string {
	sum := sha256.Sum256(b)
	dot := strings.Index(name, ".")
	return name[:dot] + "." + hex.EncodeToString(sum[:5]) + name[dot:]
}

func load() {
	assets = make(map[string]*asset)
	hashed = make(map[string]string)
	immutable = make(map[string]bool)
	entries, _ := files.ReadDir(".")
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			continue
		}
		assets[e.Name()] = newAsset(e.Name(), b)
	}
	alias := func(name, as string) {
		if a, ok := assets[name]; ok {
			assets[as] = a
			immutable[as] = true
		}
	}
	for _, name := range []string{"ssevent.wasm", "wasm_exec.js", "ssevent-worker.js"} {
		a, ok := assets[name]
		if !ok {
			continue
		}
		h := hashName(name, a.body)
		hashed[name] = h
		alias(name, h)
	}
	alias("ssevent.wasm.gz", hashed["ssevent.wasm"]+".gz")
	alias("ssevent.wasm.br", hashed["ssevent.wasm"]+".br")
	// The shim and the module name the other files by their hashed names,
	// and are served under hashed names of their own.
	if a, ok := assets["ssevent.js"]; ok {
		names := fmt.Sprintf(`/*ssevent:names*/{"wasm":%q,"exec":%q,"worker":%q}/*end*/`,
			hashed["ssevent.wasm"], hashed["wasm_exec.js"], hashed["ssevent-worker.js"])
		b := namesRE.ReplaceAllLiteral(a.body, []byte(names))
		assets["ssevent.js"] = newAsset("ssevent.js", b)
		hashed["ssevent.js"] = hashName("ssevent.js", b)
		alias("ssevent.js", hashed["ssevent.js"])
	}
	if a, ok := assets["ssevent.mjs"]; ok {
		b := a.body
		for _, name := range []string{"ssevent.js", "ssevent.wasm", "wasm_exec.js", "ssevent-worker.js"} {
			b = bytes.ReplaceAll(b, []byte("'./"+name+"'"), []byte("'./"+hashed[name]+"'"))
		}
		assets["ssevent.mjs"] = newAsset("ssevent.mjs", b)
		hashed["ssevent.mjs"] = hashName("ssevent.mjs", b)
		alias("ssevent.mjs", hashed["ssevent.mjs"])
	}
}

var namesRE = regexp.MustCompile(`/\*ssevent:names\*/[^\n]*?/\*end\*/`)

// Name returns the content-hashed name under which Handler also serves a
// file of the client, e.g. "ssevent.js" -> "ssevent.1a2b3c4d5e.js", or ""
// for a file that has none. The files that have one are ssevent.js,
// ssevent.mjs, ssevent-worker.js, ssevent.wasm and wasm_exec.js. Under
// these names the files are served with CacheControlImmutable: a page that
// loads the shim as Name("ssevent.js") makes no request at all for the
// client's files on a warm visit. The hashed shim and module load the
// other files by their hashed names too; so do ssevent.js and ssevent.mjs
// under their plain names, which are revalidated.
func Name(file string) string {
	loadOnce.Do(load)
	return hashed[file]
}

// ScriptTag returns the <script> element that loads the shim from the
// Handler mounted at prefix (e.g. "/ssevent"), by its content-hashed name,
// for pages rendered by Go templates (as template.HTML) or by hand.
func ScriptTag(prefix string) string {
	return `<script src="` + html.EscapeString(strings.TrimSuffix(prefix, "/")+"/"+Name("ssevent.js")) + `"></script>`
}

// PreloadTag returns a <link rel="preload"> for ssevent.wasm by its
// content-hashed name, to put in a page's <head> before the script: the
// browser starts the download while it parses the page. It helps pages
// whose client runs in the page (shared: false, or a headers function);
// see docs/CLIENT.md for what it gives with a shared worker.
func PreloadTag(prefix string) string {
	return `<link rel="preload" href="` + html.EscapeString(strings.TrimSuffix(prefix, "/")+"/"+Name("ssevent.wasm")) +
		`" as="fetch" type="application/wasm" crossorigin>`
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
	} else if strings.HasSuffix(name, ".wasm") {
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
	if immutable[name] {
		h.Set("Cache-Control", CacheControlImmutable)
	} else {
		h.Set("Cache-Control", CacheControl)
	}
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
