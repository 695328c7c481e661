package goapp_test

import (
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/ssevent/ssevent/wasmclient"
	"github.com/ssevent/ssevent/wasmclient/goapp"
)

// live is the app's one client, connected in main: every page shares its
// stream, which a route change leaves alone.
var live *wasmclient.Client

// headlines is app-level state: what the stream brought, kept across
// pages. The client's goroutine writes it, components read it.
var headlines struct {
	mu    sync.Mutex
	items []string
}

func addHeadline(ev wasmclient.Event) {
	headlines.mu.Lock()
	headlines.items = append(headlines.items, string(ev.Payload))
	headlines.mu.Unlock()
}

func allHeadlines() []string {
	headlines.mu.Lock()
	defer headlines.mu.Unlock()
	return append([]string(nil), headlines.items...)
}

// news is a go-app component that shows the headlines.
type news struct {
	app.Compo
	stop  func()
	items []string
}

// OnMount runs in the browser only: the place to listen. The component
// starts from the app-level state, so it misses nothing sent while
// another page was shown.
func (n *news) OnMount(ctx app.Context) {
	n.items = allHeadlines()
	n.stop = goapp.ListenBatch(ctx, live, func(ctx app.Context, evs []wasmclient.Event) {
		n.items = allHeadlines() // on the UI goroutine, once per frame
	}, wasmclient.EventMessage)
}

// OnDismount stops listening; the connection stays for the other pages.
func (n *news) OnDismount() { n.stop() }

func (n *news) Render() app.UI {
	return app.Ul().Body(app.Range(n.items).Slice(func(i int) app.UI {
		return app.Li().Text(n.items[i]) // a text node: never parsed as HTML
	}))
}

// One client for the whole app, connected in the entry point before go-app
// starts; its app-level handler is registered first, so the state is up
// to date when a component hears of an event.
func ExampleListenBatch() {
	app.Route("/", func() app.Composer { return &news{} })
	if app.IsClient {
		live = wasmclient.Connect("/events", wasmclient.Options{Channels: []string{"news"}})
		live.On(wasmclient.EventMessage, addHeadline)
	}
	app.RunWhenOnBrowser()
}

// status is a component that shows the connection's state, event by event.
type status struct {
	app.Compo
	stop  func()
	state string
}

func (s *status) OnMount(ctx app.Context) {
	s.stop = goapp.Listen(ctx, live, func(ctx app.Context, ev wasmclient.Event) {
		s.state = ev.Type // connected, reconnecting…
	}, wasmclient.EventConnected, wasmclient.EventReconnecting)
}

func (s *status) OnDismount() { s.stop() }

func (s *status) Render() app.UI { return app.Span().Text(s.state) }

// Listen runs a function per event, on the UI goroutine; the component
// re-renders once per frame.
func ExampleListen() {
	app.Route("/status", func() app.Composer { return &status{} })
	app.RunWhenOnBrowser()
}
