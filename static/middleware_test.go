package static_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ssevent/ssevent/static"
)

// TestUnderCompressingMiddleware: when the response Handler is given
// already varies on Accept-Encoding or has a Content-Encoding, a
// middleware before it compresses responses, so Handler serves the
// identity bytes of the wasm whole, with a weak ETag, and leaves the
// encoding headers as the middleware set them. The middleware here only
// sets the headers the compressing middleware of Echo, gzhttp and gorilla
// set before calling the handler; the real Echo Gzip is in
// server/middleware_test.go and in a browser in internal/e2e.
func TestUnderCompressingMiddleware(t *testing.T) {
	identity, _ := io.ReadAll(get(t, "GET", "/ssevent.wasm", nil).Body)
	identityETag := get(t, "GET", "/ssevent.wasm", nil).Header.Get("ETag")
	browser := map[string]string{"Accept-Encoding": "gzip, deflate, br, zstd"}
	tests := []struct {
		name     string
		preset   http.Header // what the middleware set before the handler
		hdr      map[string]string
		status   int
		encoding string // Content-Encoding of the answer
		vary     []string
	}{
		{"vary, as Echo's Gzip and gzhttp", http.Header{"Vary": {"Accept-Encoding"}}, browser, 200, "", []string{"Accept-Encoding"}},
		{"vary among others, any case", http.Header{"Vary": {"Origin, accept-encoding"}}, browser, 200, "", []string{"Origin, accept-encoding"}},
		{"vary twice", http.Header{"Vary": {"Origin", "Accept-Encoding"}}, browser, 200, "", []string{"Origin", "Accept-Encoding"}},
		{"content encoding, as gorilla's CompressHandler", http.Header{"Vary": {"Accept-Encoding"}, "Content-Encoding": {"gzip"}}, nil, 200, "gzip", []string{"Accept-Encoding"}},
		{"range ignored", http.Header{"Vary": {"Accept-Encoding"}}, map[string]string{"Accept-Encoding": "br", "Range": "bytes=0-99"}, 200, "", []string{"Accept-Encoding"}},
		{"revalidated with the weak ETag", http.Header{"Vary": {"Accept-Encoding"}}, map[string]string{"Accept-Encoding": "br", "If-None-Match": "W/" + identityETag}, 304, "", []string{"Accept-Encoding"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/ssevent.wasm", nil)
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			for k, v := range tt.preset {
				rec.Header()[k] = append([]string(nil), v...)
			}
			static.Handler().ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if got := res.Header.Values("Vary"); !slices.Equal(got, tt.vary) {
				t.Fatalf("Vary %q, want %q", got, tt.vary)
			}
			if got := res.Header.Get("ETag"); got != "W/"+identityETag {
				t.Fatalf("ETag %q, want the identity's, weak: W/%s", got, identityETag)
			}
			if tt.status != 200 {
				return
			}
			body, _ := io.ReadAll(res.Body)
			if !bytes.Equal(body, identity) {
				t.Fatalf("body of %d bytes starting % x, want the identity wasm (%d bytes)", len(body), body[:min(len(body), 8)], len(identity))
			}
		})
	}
}

// Without such middleware, other assets keep their strong ETags and get no
// Vary.
func TestNoMiddlewareStrongETags(t *testing.T) {
	res := get(t, "GET", "/ssevent.js", map[string]string{"Accept-Encoding": "gzip, br"})
	if etag := res.Header.Get("ETag"); len(etag) < 2 || etag[:2] == "W/" {
		t.Fatalf("ETag %q, want a strong one", etag)
	}
	if v := res.Header.Values("Vary"); len(v) != 0 {
		t.Fatalf("Vary %q on a file with one encoding", v)
	}
}
