//go:build !wasm

package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
)

// The plain page runs under its strict Content-Security-Policy (no inline
// script, no eval; wasm through 'wasm-unsafe-eval', the shared worker
// through worker-src 'self'): two tabs connect through one shared stream,
// and the browser reports no violation.
func TestBrowserPlainPageUnderStrictCSP(t *testing.T) {
	d := start(t, "127.0.0.1:0", config{})
	resp, err := http.Get(d.url + "/plain.html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "worker-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Fatalf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
		t.Fatalf("Content-Security-Policy %q is not strict", csp)
	}
	// Injected by the browser's protocol, not by the page: the CSP does
	// not apply to it.
	const record = `window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective + ' ' + e.blockedURI));`
	var tabs []*tab
	for _, name := range []string{"first", "second"} {
		p := &tab{t: t, name: name, tab: browsertest.NewTab(t, 2*time.Minute)}
		if err := chromedp.Do(p.tab, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			_, err := cdp.Call(ctx, tt, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: record})
			return err
		}), chromedp.Navigate(d.url+"/plain.html")); err != nil {
			t.Fatal(err)
		}
		p.wait(`document.getElementById('state').textContent === 'open' && clientId`)
		tabs = append(tabs, p)
	}
	first, _ := chromedp.Run(tabs[0].tab, chromedp.Evaluate[string](`clientId`))
	second, _ := chromedp.Run(tabs[1].tab, chromedp.Evaluate[string](`clientId`))
	if first == "" || first != second {
		t.Errorf("client ids %q and %q: the tabs do not share the worker's stream", first, second)
	}
	if n := getStats(t, d.url).Clients; n != 1 {
		t.Errorf("the hub has %d clients for two tabs, want 1 (shared through the worker)", n)
	}
	for _, p := range tabs {
		v, err := chromedp.Run(p.tab, chromedp.Evaluate[[]string](`violations`))
		if err != nil || len(v) != 0 {
			t.Errorf("%s tab: CSP violations %v (%v)", p.name, v, err)
		}
		for _, line := range p.tab.Log().Console() {
			if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "Content-Security-Policy") {
				t.Errorf("%s tab: %s", p.name, line)
			}
		}
	}
}
