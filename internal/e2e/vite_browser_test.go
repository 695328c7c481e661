//go:build !(js && wasm)

package e2e_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/server"
)

// viteDir is a page that imports the npm package (static/, linked by
// its package.json) as `import connectSSE from 'ssevent'`, with Vite
// pinned by its lock file.
const viteDir = "../../static/testdata/vite"

// bundlerDeps installs the pinned bundlers of viteDir with npm ci when
// one is missing, and returns node's path.
func bundlerDeps(t *testing.T, ctx context.Context) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20.19 or later (Debian: apt-get install nodejs npm)")
	}
	for _, bin := range []string{"vite/bin/vite.js", "esbuild/bin/esbuild"} {
		if _, err := os.Stat(filepath.Join(viteDir, "node_modules", bin)); err == nil {
			continue
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("npm not found: install Node.js and npm (Debian: apt-get install nodejs npm)")
		}
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = viteDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", viteDir, err, out)
		}
		break
	}
	return node
}

// openBuild serves a built page from dist beside a hub at /events, opens
// it, and checks that it connects, subscribes and receives an event.
func openBuild(t *testing.T, dist string) {
	t.Helper()
	hub := server.New(server.Config{})
	e := echo.New()
	e.HideBanner = true
	e.Any("/events", hub.Handler)
	e.GET("/*", echo.WrapHandler(http.FileServer(http.Dir(dist))))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Close(ctx)
	})
	p := &page{t: t, tab: browsertest.NewTab(t, 60*time.Second), hub: hub, srv: srv}
	if err := chromedp.Do(p.tab, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	p.wait(`(window.events || []).some((e) => e.type === 'subscribed' || e.type === 'error' || e.type === 'failed')`)
	if errs := p.events(`e.type === 'error' || e.type === 'failed'`); len(errs) > 0 {
		t.Fatalf("the built page failed: %s", p.dump())
	}
	if err := hub.Send("news", map[string]int{"n": 8}); err != nil {
		t.Fatal(err)
	}
	p.wait(`events.some((e) => e.type === 'message' && e.channel === 'news' && e.payload.n === 8)`)
}

// A real Vite 8 build of the npm package, with no options beyond the URL
// and no plugin: the build holds the wasm, wasm_exec.js and the worker,
// and the built page connects and receives events in Chromium.
func TestBrowserViteBuild(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	node := bundlerDeps(t, ctx)
	dist := t.TempDir()
	cmd := exec.CommandContext(ctx, node, filepath.Join("node_modules", "vite", "bin", "vite.js"), "build", "--outDir", dist, "--emptyOutDir", "--logLevel", "warn")
	cmd.Dir = viteDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("vite build: %v\n%s", err, out)
	}
	built := map[string]bool{}
	assets, _ := os.ReadDir(filepath.Join(dist, "assets"))
	for _, a := range assets {
		for _, prefix := range []string{"ssevent-worker-", "wasm_exec-", "ssevent-"} {
			if strings.HasPrefix(a.Name(), prefix) {
				built[prefix+"*"+filepath.Ext(a.Name())] = true
				break
			}
		}
	}
	for _, want := range []string{"ssevent-*.wasm", "wasm_exec-*.js", "ssevent-worker-*.js"} {
		if !built[want] {
			t.Errorf("the build has no %s: %v", want, built)
		}
	}

	openBuild(t, dist)
}

// esbuild keeps new URL('./…', import.meta.url) as it is, relative to the
// bundle: with the package's three files copied beside the bundle, the
// page needs no option either.
func TestBrowserEsbuildBundle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bundlerDeps(t, ctx)
	dist := t.TempDir()
	cmd := exec.CommandContext(ctx, filepath.Join("node_modules", "esbuild", "bin", "esbuild"), "src/main.js",
		"--bundle", "--format=esm", "--log-level=warning", "--outfile="+filepath.Join(dist, "main.js"))
	cmd.Dir = viteDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("esbuild: %v\n%s", err, out)
	}
	for _, f := range []string{"ssevent.wasm", "wasm_exec.js", "ssevent-worker.js"} {
		b, err := os.ReadFile(filepath.Join(viteDir, "node_modules", "ssevent", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dist, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	page := `<!doctype html><html><head><meta charset="utf-8"></head><body><script type="module" src="/main.js"></script></body></html>`
	if err := os.WriteFile(filepath.Join(dist, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	openBuild(t, dist)
}
