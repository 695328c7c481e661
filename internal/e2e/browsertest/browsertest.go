// Package browsertest runs tests in a real headless Chromium (Debian's
// chromium package) through chromedp: one browser per test package, one tab
// per test.
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }
//
//	func TestPage(t *testing.T) {
//		tab := browsertest.NewTab(t, 30*time.Second)
//		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL)); err != nil {
//			t.Fatal(err)
//		}
//		...
//	}
//
// The browser starts at the first NewTab, with a temporary profile, and
// stops when Main returns, before its profile is removed. When Chromium is
// not installed the test fails and says how to install it. Await signals
// with chromedp.Poll or channels rather than sleeping.
//
// NewTab may be called from parallel tests; each tab is used by one test.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian installs Chromium.
const ChromiumPath = "/usr/bin/chromium"

// Flags are the command-line switches of the browser besides chromedp's
// headless defaults: root needs --no-sandbox, and the rest keep Chromium
// from reaching the internet.
var Flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
}

var (
	mu       sync.Mutex
	inMain   bool
	started  bool
	startErr error
	browser  context.Context
	stop     func()
	dir      string
)

// Main runs the package's tests and then stops the browser, if one was
// started, and removes its profile. Call it from TestMain.
func Main(m *testing.M) int {
	mu.Lock()
	inMain = true
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if stop != nil {
		stop() // waits for the browser to exit
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
	return code
}

// start starts the shared browser. mu is held.
func start() error {
	path := ChromiumPath
	if _, err := os.Stat(path); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			return errMissing
		}
		path = p
	}
	d, err := os.MkdirTemp("", "browsertest-")
	if err != nil {
		return err
	}
	dir = d
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
	)
	for _, f := range Flags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	stop = func() {
		chromedp.Cancel(bctx)
		bcancel()
		acancel()
	}
	// Start the browser with a context that has no deadline: it lives as
	// long as bctx.
	if err := chromedp.Do(bctx); err != nil {
		return err
	}
	browser = bctx
	return nil
}

type missingError struct{}

func (missingError) Error() string {
	return "chromium not found at " + ChromiumPath + ": install it: apt-get install chromium"
}

var errMissing error = missingError{}

// Tab is a chromedp context for one tab of the shared browser, with the
// page's console and network requests recorded.
type Tab struct {
	context.Context
	log *Log
}

// NewTab opens a tab in the package's browser, starting the browser if
// needed, and closes it when the test ends or the timeout passes. The test
// fails at once if Chromium cannot be started. On failure the page's
// console output is logged.
func NewTab(t testing.TB, timeout time.Duration) *Tab {
	t.Helper()
	mu.Lock()
	if !inMain {
		mu.Unlock()
		t.Fatal("browsertest: call browsertest.Main from the package's TestMain")
	}
	if !started {
		started = true
		startErr = start()
	}
	err, bctx := startErr, browser
	mu.Unlock()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	tctx, cancel := context.WithTimeout(bctx, timeout)
	ctx, cancelTab := chromedp.NewContext(tctx)
	tab := &Tab{Context: ctx, log: &Log{}}
	t.Cleanup(func() {
		cancelTab()
		cancel()
		if t.Failed() {
			for _, line := range tab.log.Console() {
				t.Log("console:", line)
			}
		}
	})
	if err := chromedp.Listen(ctx, tab.log.listen); err != nil {
		t.Fatalf("browsertest: open tab: %v", err)
	}
	return tab
}

// Log is what a tab recorded.
func (t *Tab) Log() *Log { return t.log }

// Log records a tab's console messages, uncaught exceptions and network
// requests. Its methods are safe for concurrent use.
type Log struct {
	mu       sync.Mutex
	console  []string
	requests []Request
}

// Request is one network request the page made.
type Request struct {
	Method string
	URL    string
}

// listen runs on chromedp's read loop: it only appends.
func (l *Log) listen(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		l.mu.Lock()
		l.requests = append(l.requests, Request{Method: ev.Request.Method, URL: ev.Request.URL})
		l.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		var b strings.Builder
		b.WriteString(string(ev.Type))
		for _, a := range ev.Args {
			b.WriteByte(' ')
			if a.Value != nil {
				b.Write(a.Value)
			} else {
				b.WriteString(a.Description)
			}
		}
		l.mu.Lock()
		l.console = append(l.console, b.String())
		l.mu.Unlock()
	case *runtime.EventExceptionThrown:
		msg := ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
		l.mu.Lock()
		l.console = append(l.console, "exception "+msg)
		l.mu.Unlock()
	}
}

// Console returns the console lines so far.
func (l *Log) Console() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.console...)
}

// Requests returns the requests so far whose URL starts with prefix.
func (l *Log) Requests(prefix string) []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Request
	for _, r := range l.requests {
		if strings.HasPrefix(r.URL, prefix) {
			out = append(out, r)
		}
	}
	return out
}
