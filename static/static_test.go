package static_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssevent/ssevent/static"
)

func get(t *testing.T, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	static.Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandler(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string
		hdr      map[string]string
		status   int
		typ      string
		encoding string
	}{
		{"shim", "GET", "/ssevent.js", nil, 200, "text/javascript; charset=utf-8", ""},
		{"module", "GET", "/ssevent.mjs", nil, 200, "text/javascript; charset=utf-8", ""},
		{"worker", "GET", "/ssevent-worker.js", nil, 200, "text/javascript; charset=utf-8", ""},
		{"typings", "GET", "/ssevent.d.ts", nil, 200, "application/typescript; charset=utf-8", ""},
		{"wasm_exec", "GET", "/wasm_exec.js", nil, 200, "text/javascript; charset=utf-8", ""},
		{"wasm identity", "GET", "/ssevent.wasm", nil, 200, "application/wasm", ""},
		{"wasm brotli", "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": "gzip, deflate, br"}, 200, "application/wasm", "br"},
		{"wasm gzip", "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": "gzip"}, 200, "application/wasm", "gzip"},
		{"brotli refused with q=0", "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": "br;q=0, gzip;q=0.5"}, 200, "application/wasm", "gzip"},
		{"all refused", "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": "br;q=0, gzip;q=0"}, 200, "application/wasm", ""},
		{"head", "HEAD", "/ssevent.wasm", nil, 200, "application/wasm", ""},
		{"unknown", "GET", "/nope.js", nil, 404, "", ""},
		{"no listing", "GET", "/", nil, 404, "", ""},
		{"post", "POST", "/ssevent.js", nil, 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, tt.method, tt.path, tt.hdr)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.typ {
				t.Fatalf("Content-Type %q, want %q", got, tt.typ)
			}
			if got := res.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != static.CacheControl {
				t.Fatalf("caching headers %v", res.Header)
			}
			if tt.path == "/ssevent.wasm" && res.Header.Get("Vary") != "Accept-Encoding" {
				t.Fatalf("Vary %q", res.Header.Get("Vary"))
			}
		})
	}
}

func TestETagRevalidation(t *testing.T) {
	for _, enc := range []string{"", "br", "gzip"} {
		res := get(t, "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": enc})
		etag := res.Header.Get("ETag")
		res = get(t, "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": enc, "If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified {
			t.Fatalf("%q: revalidation gave %d", enc, res.StatusCode)
		}
	}
	a := get(t, "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": "br"}).Header.Get("ETag")
	b := get(t, "GET", "/ssevent.wasm", nil).Header.Get("ETag")
	if a == b {
		t.Fatal("brotli and identity share an ETag")
	}
}

// The compressed copies hold the same program as ssevent.wasm.
func TestCompressedCopiesMatch(t *testing.T) {
	raw, _ := io.ReadAll(get(t, "GET", "/ssevent.wasm", nil).Body)
	zr, err := gzip.NewReader(get(t, "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": "gzip"}).Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if !bytes.Equal(raw, unz) {
		t.Fatal("ssevent.wasm.gz is stale: run make wasm")
	}
	brotli, err := exec.LookPath("brotli")
	if err != nil {
		t.Skip("brotli not installed: ssevent.wasm.br not checked")
	}
	br, _ := io.ReadAll(get(t, "GET", "/ssevent.wasm", map[string]string{"Accept-Encoding": "br"}).Body)
	cmd := exec.Command(brotli, "-d", "-c")
	cmd.Stdin = bytes.NewReader(br)
	unbr, err := cmd.Output()
	if err != nil || !bytes.Equal(raw, unbr) {
		t.Fatalf("ssevent.wasm.br is stale (%v): run make wasm", err)
	}
}

// The committed assets are what `make wasm` builds from the current
// sources, with the current compiler.
func TestAssetsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the client")
	}
	out := filepath.Join(t.TempDir(), "ssevent.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/ssevent-wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	built, _ := os.ReadFile(out)
	embedded, _ := io.ReadAll(get(t, "GET", "/ssevent.wasm", nil).Body)
	if v, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		if v := bytes.TrimSpace(v); !bytes.Contains(embedded, v) {
			t.Skipf("static/ssevent.wasm was built by another Go than %s: run make wasm and commit it", v)
		}
	}
	if !bytes.Equal(built, embedded) {
		t.Fatal("static/ssevent.wasm is stale: run make wasm and commit it")
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	execJS, _ := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	served, _ := io.ReadAll(get(t, "GET", "/wasm_exec.js", nil).Body)
	if !bytes.Equal(execJS, served) {
		t.Fatal("static/wasm_exec.js does not match this Go: run make wasm and commit it")
	}
}

// The client's files are also served under content-hashed names, which
// never change and are cached for a year; the shim and the module, under
// any name, load the others by their hashed names.
func TestHashedNames(t *testing.T) {
	names := map[string]string{}
	for _, f := range []string{"ssevent.js", "ssevent.mjs", "ssevent-worker.js", "ssevent.wasm", "wasm_exec.js"} {
		h := static.Name(f)
		base, ext, _ := strings.Cut(f, ".")
		if !strings.HasPrefix(h, base+".") || !strings.HasSuffix(h, "."+ext) || len(h) != len(f)+11 {
			t.Fatalf("Name(%q) = %q, want %s.<10 hex digits>.%s", f, h, base, ext)
		}
		names[f] = h
		plain := get(t, "GET", "/"+f, nil)
		res := get(t, "GET", "/"+h, nil)
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != static.CacheControlImmutable {
			t.Fatalf("%s: status %d, Cache-Control %q", h, res.StatusCode, res.Header.Get("Cache-Control"))
		}
		if plain.Header.Get("Cache-Control") != static.CacheControl || plain.Header.Get("Content-Type") != res.Header.Get("Content-Type") {
			t.Fatalf("%s: headers %v, plain %v", h, res.Header, plain.Header)
		}
		a, _ := io.ReadAll(plain.Body)
		b, _ := io.ReadAll(res.Body)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s and %s differ", f, h)
		}
	}
	if static.Name("ssevent.d.ts") != "" || static.Name("nope.js") != "" {
		t.Fatal("a hashed name for a file that has none")
	}
	res := get(t, "GET", "/"+names["ssevent.wasm"], map[string]string{"Accept-Encoding": "br"})
	if res.Header.Get("Content-Encoding") != "br" || res.Header.Get("Content-Type") != "application/wasm" {
		t.Fatalf("hashed wasm: %v", res.Header)
	}
	shim, _ := io.ReadAll(get(t, "GET", "/ssevent.js", nil).Body)
	want := `{"wasm":"` + names["ssevent.wasm"] + `","exec":"` + names["wasm_exec.js"] + `","worker":"` + names["ssevent-worker.js"] + `"}`
	if !bytes.Contains(shim, []byte(want)) {
		t.Fatalf("the served shim does not name the hashed files %s", want)
	}
	module, _ := io.ReadAll(get(t, "GET", "/ssevent.mjs", nil).Body)
	for _, f := range []string{"ssevent.js", "ssevent.wasm", "wasm_exec.js", "ssevent-worker.js"} {
		if !bytes.Contains(module, []byte("'./"+names[f]+"'")) {
			t.Errorf("the served module does not load %s as %s", f, names[f])
		}
	}
	if got, want := static.ScriptTag("/ssevent/"), `<script src="/ssevent/`+names["ssevent.js"]+`"></script>`; got != want {
		t.Errorf("ScriptTag: %s, want %s", got, want)
	}
	if got := static.PreloadTag("/ssevent"); !strings.Contains(got, `href="/ssevent/`+names["ssevent.wasm"]+`"`) || !strings.Contains(got, `rel="preload"`) {
		t.Errorf("PreloadTag: %s", got)
	}
}
