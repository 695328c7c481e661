//go:build !(js && wasm)

package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/static"
)

// benchPage drives the bridge with a handler that only counts messages
// and notes the times of the first and the last.
const benchPage = `<!doctype html><html><head><meta charset="utf-8">
<script src="/ssevent/wasm_exec.js"></script></head><body><script>
window.n = 0;
globalThis.__sseventReady = () => {
  globalThis.__ssevent.connect('/events', { channels: ['bench'] }, (type) => {
    if (type === 'connected') window.connected = true;
    if (type === 'message') { if (n === 0) window.tFirst = performance.now(); n++; window.tLast = performance.now(); }
  }, ['connected', 'message']);
};
const go = new Go();
WebAssembly.instantiateStreaming(fetch('/ssevent/ssevent.wasm'), go.importObject).then((r) => go.run(r.instance));
</script></body></html>`

// TestBrowserDeliveryCost measures how the client hands a burst of
// messages to a page: the time from the first message's handler to the
// last one's, and the page's main-thread task time meanwhile
// (Performance.getMetrics), medians of rounds in fresh tabs. It is a
// measurement, not a check:
//
//	SSEVENT_MEASURE_DELIVERY=1 go test -count=1 -run TestBrowserDeliveryCost -v ./internal/e2e
//
// SSEVENT_BRIDGE_WASM=<file> serves that build of static/cmd/ssevent-wasm
// instead of the embedded one, to compare two builds of the client.
func TestBrowserDeliveryCost(t *testing.T) {
	if os.Getenv("SSEVENT_MEASURE_DELIVERY") == "" {
		t.Skip("a measurement: SSEVENT_MEASURE_DELIVERY=1 go test -count=1 -run TestBrowserDeliveryCost -v ./internal/e2e")
	}
	const (
		rounds = 5
		n      = 10000
	)
	wasm := os.Getenv("SSEVENT_BRIDGE_WASM")
	payload := map[string]string{"text": strings.Repeat("x", 200)}
	var spans, tasks []float64
	for range rounds {
		hub := server.New(server.Config{QueueSize: 4 * n, QueueMaxBytes: 64 << 20})
		mux := http.NewServeMux()
		mux.Handle("/events", hub.Core())
		mux.HandleFunc("/ssevent/ssevent.wasm", func(w http.ResponseWriter, r *http.Request) {
			if wasm == "" {
				http.StripPrefix("/ssevent/", static.Handler()).ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/wasm")
			http.ServeFile(w, r, wasm)
		})
		mux.Handle("/ssevent/", http.StripPrefix("/ssevent/", static.Handler()))
		mux.HandleFunc("/bench.html", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(benchPage))
		})
		srv := httptest.NewServer(mux)
		tab := browsertest.NewTab(t, 5*time.Minute)
		taskTime := func() float64 {
			m, err := chromedp.Run(tab, func(ctx context.Context, tt *chromedp.Target) (performance.GetMetricsResult, error) {
				return cdp.Call(ctx, tt, performance.GetMetrics, cdp.Empty{})
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range m.Metrics {
				if v.Name == "TaskDuration" {
					return v.Value * 1000
				}
			}
			return 0
		}
		if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			_, err := cdp.Call(ctx, tt, performance.Enable, performance.EnableParams{})
			return err
		}), chromedp.Navigate(srv.URL+"/bench.html")); err != nil {
			t.Fatal(err)
		}
		poll := func(expr string) {
			if _, err := chromedp.Run(tab, chromedp.Poll[chromedp.Void](expr,
				chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(2*time.Minute))); err != nil {
				t.Fatalf("waiting for %s: %v", expr, err)
			}
		}
		poll(`window.connected === true`)
		before := taskTime()
		for range n {
			if err := hub.Send("bench", payload); err != nil {
				t.Fatal(err)
			}
		}
		poll(fmt.Sprintf(`window.n >= %d`, n))
		tasks = append(tasks, taskTime()-before)
		span, err := chromedp.Run(tab, chromedp.Evaluate[float64](`tLast - tFirst`))
		if err != nil {
			t.Fatal(err)
		}
		spans = append(spans, span)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		hub.Close(ctx)
		cancel()
		srv.Close()
	}
	sort.Float64s(spans)
	sort.Float64s(tasks)
	name := "embedded ssevent.wasm"
	if wasm != "" {
		name = wasm
	}
	t.Logf("%s: %d messages of %d bytes: first to last handler median %.0f ms (%.1f µs each; runs %.0f), main-thread task time median %.0f ms (runs %.0f)",
		name, n, len(`{"channel":"bench","payload":{"text":""}}`)+200, spans[rounds/2], spans[rounds/2]*1000/n, spans, tasks[rounds/2], tasks)
}
