// Package e2e holds the end-to-end tests that run in headless Chromium
// against a real hub: the browser client through its Go API (testapp, built
// to wasm) and through the script-tag shim and ES module of package static,
// with and without echo-jwt in front of the hub, and under the global
// middleware of Echo v4 and v5 (Gzip included); htmx 2 and htmx 4 pages
// (npm packages pinned in testdata/hypermedia); and the hub's Datastar
// frames against the Datastar Go SDK's.
//
// It is a module of its own (github.com/ssevent/ssevent/internal/e2e), so
// that chromedp, cdproto, echo-jwt, golang-jwt, Echo v5 and datastar-go are
// requirements of the tests only, never of the modules an application
// imports. Its browsertest package starts the shared browser; the demo's
// tests in the cmd module use it too.
//
//	cd internal/e2e && go test -race ./...
package e2e
