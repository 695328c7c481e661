//go:build !(js && wasm)

package e2e_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/static"
)

// The pages whose navigation -> "connected" is measured: a native
// EventSource, and the shim loaded by its hashed name (shared through the
// worker; in the page; in the page with the wasm preloaded) or by its
// plain, revalidated name.
func loadPages() map[string]string {
	const record = `.on('connected', () => { window.tConnected = performance.now(); });`
	shim := static.ScriptTag("/ssevent")
	head := func(extra string) string {
		return `<!doctype html><html><head><meta charset="utf-8">` + extra + `</head><body><script>`
	}
	return map[string]string{
		"native": head("") + `new EventSource('/events?channels=news').addEventListener('connected', () => { window.tConnected = performance.now(); });</script></body></html>`,
		"shared": head(shim) + `SSEvent.connect('/events', { channels: ['news'] })` + record + `</script></body></html>`,
		"page":   head(shim) + `SSEvent.connect('/events', { channels: ['news'], shared: false })` + record + `</script></body></html>`,
		"page+preload": head(static.PreloadTag("/ssevent")+shim) +
			`SSEvent.connect('/events', { channels: ['news'], shared: false })` + record + `</script></body></html>`,
		"shared, plain name": head(`<script src="/ssevent/ssevent.js"></script>`) +
			`SSEvent.connect('/events', { channels: ['news'] })` + record + `</script></body></html>`,
	}
}

// link shapes every connection of a listener like a slow network: a
// round trip before each connection and before each response, and one
// downlink of limited rate shared by all connections.
type link struct {
	rtt  time.Duration
	rate float64 // bytes per second
	mu   sync.Mutex
	free time.Time // when the downlink is next idle
}

type shapedListener struct {
	net.Listener
	l *link
}

func (s shapedListener) Accept() (net.Conn, error) {
	c, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &shapedConn{Conn: c, l: s.l, fresh: true}, nil
}

type shapedConn struct {
	net.Conn
	l     *link
	fresh bool // no byte written since the last read: a response begins
}

func (c *shapedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.fresh = true
	}
	return n, err
}

func (c *shapedConn) Write(b []byte) (int, error) {
	if c.fresh {
		c.fresh = false
		time.Sleep(c.l.rtt)
	}
	written := 0
	for len(b) > 0 {
		chunk := b
		if len(chunk) > 16<<10 {
			chunk = chunk[:16<<10]
		}
		c.l.mu.Lock()
		start := time.Now()
		if c.l.free.After(start) {
			start = c.l.free
		}
		c.l.free = start.Add(time.Duration(float64(len(chunk)) / c.l.rate * float64(time.Second)))
		done := c.l.free
		c.l.mu.Unlock()
		time.Sleep(time.Until(done))
		n, err := c.Conn.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		b = b[len(chunk):]
	}
	return written, nil
}

// loadRun is one page measured once fresh and once warm.
type loadRun struct {
	fresh, warm float64 // ms from navigation to "connected"
	freshTask   float64 // ms of main-thread tasks until "connected", fresh
	freshFiles  int     // requests for /ssevent/ files that reached the server on the fresh visit
	warmFiles   int     // the same on the warm visit
}

func measureLoad(t *testing.T, tab *browsertest.Tab, html string, shaped *link) loadRun {
	t.Helper()
	hub := server.New(server.Config{})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Close(ctx)
	}()
	var files atomic.Int32
	e := echo.New()
	e.HideBanner = true
	e.Any("/events", hub.Handler)
	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { files.Add(1); return next(c) }
	})
	e.GET("/", func(c echo.Context) error { return c.HTML(200, html) })
	// A new server each time: a new origin, so a cold cache and no worker.
	srv := httptest.NewUnstartedServer(e)
	if shaped != nil {
		srv.Listener = shapedListener{Listener: srv.Listener, l: shaped}
	}
	srv.Start()
	defer srv.Close()
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
	var task float64
	visit := func() float64 {
		before := taskTime()
		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		var v float64
		var err error
		for try := 0; try < 5; try++ {
			// The page's context may be replaced while the poll starts.
			v, err = chromedp.Run(tab, chromedp.Poll[float64](`window.tConnected`,
				chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
			if err == nil || !strings.Contains(err.Error(), "Cannot find context") {
				break
			}
		}
		if err != nil {
			t.Fatalf("waiting for connected: %v", err)
		}
		// The page's main thread: its renderer's task time since the
		// navigation (the counter restarts when the navigation changes
		// renderer).
		if after := taskTime(); after >= before {
			task = after - before
		} else {
			task = after
		}
		if err := chromedp.Do(tab, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
		return v
	}
	var r loadRun
	r.fresh = visit()
	r.freshTask = task
	r.freshFiles = int(files.Swap(0))
	r.warm = visit()
	r.warmFiles = int(files.Load())
	return r
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// TestBrowserLoadTimes measures navigation -> "connected" for a native
// EventSource page and the shim's pages, fresh and warm, on localhost and
// on a shaped link; it runs only when asked:
//
//	SSEVENT_MEASURE_LOAD=1 go test -run TestBrowserLoadTimes -v ./internal/e2e
func TestBrowserLoadTimes(t *testing.T) {
	if os.Getenv("SSEVENT_MEASURE_LOAD") == "" {
		t.Skip("a measurement: SSEVENT_MEASURE_LOAD=1 go test -run TestBrowserLoadTimes -v ./internal/e2e")
	}
	const runs = 5
	pages := loadPages()
	order := []string{"native", "shared", "shared, plain name", "page", "page+preload"}
	if only := os.Getenv("SSEVENT_MEASURE_LOAD_PAGES"); only != "" {
		order = strings.Split(only, ",")
	}
	for _, cond := range []struct {
		name      string
		link      *link
		cpuFactor float64
	}{
		{"localhost", nil, 1},
		{"4G-like link (9 Mbit/s down, +60 ms per connection and per response), CPU 4x slower", &link{rtt: 60 * time.Millisecond, rate: 9e6 / 8}, 4},
	} {
		var report []string
		for _, kind := range order {
			tab := browsertest.NewTab(t, 10*time.Minute)
			if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
				_, err := cdp.Call(ctx, tt, performance.Enable, performance.EnableParams{})
				return err
			})); err != nil {
				t.Fatal(err)
			}
			if cond.cpuFactor > 1 {
				if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
					_, err := cdp.Call(ctx, tt, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: cond.cpuFactor})
					return err
				})); err != nil {
					t.Fatal(err)
				}
			}
			var fresh, warm, tasks []float64
			var freshFiles, warmFiles []int
			for i := 0; i < runs; i++ {
				r := measureLoad(t, tab, pages[kind], cond.link)
				fresh = append(fresh, r.fresh)
				tasks = append(tasks, r.freshTask)
				warm = append(warm, r.warm)
				freshFiles = append(freshFiles, r.freshFiles)
				warmFiles = append(warmFiles, r.warmFiles)
			}
			report = append(report, fmt.Sprintf("| %s | %.0f | %.0f | %.0f | %v | %v |", kind, median(fresh), median(warm), median(tasks), freshFiles, warmFiles))
		}
		t.Logf("%s, medians of %d runs:\n| page | fresh ms | warm ms | main-thread task ms, fresh | requests for the client's files reaching the server: fresh | warm |\n|---|---:|---:|---:|---|---|\n%s",
			cond.name, runs, strings.Join(report, "\n"))
	}
}
