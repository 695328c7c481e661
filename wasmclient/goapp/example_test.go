package goapp_test

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/ssevent/ssevent/wasmclient"
	"github.com/ssevent/ssevent/wasmclient/goapp"
)

// news is a go-app component that shows the messages of one channel.
type news struct {
	app.Compo
	client *wasmclient.Client
	stop   func()
	items  []string
	state  string
}

// OnMount runs in the browser only: the place to connect and listen.
func (n *news) OnMount(ctx app.Context) {
	n.state = "connecting"
	n.client = wasmclient.Connect("/events", wasmclient.Options{Channels: []string{"news"}})
	n.stop = goapp.Listen(ctx, n.client, n.onEvent,
		wasmclient.EventConnected, wasmclient.EventReconnecting, wasmclient.EventMessage)
}

// onEvent runs on the UI goroutine: it may change the component's fields.
func (n *news) onEvent(ctx app.Context, ev wasmclient.Event) {
	switch ev.Type {
	case wasmclient.EventConnected:
		n.state = "open"
	case wasmclient.EventReconnecting:
		n.state = "reconnecting"
	case wasmclient.EventMessage:
		n.items = append(n.items, string(ev.Payload))
	}
}

func (n *news) OnDismount() {
	n.stop()
	n.client.Close()
}

func (n *news) Render() app.UI {
	return app.Div().Body(
		app.P().Text(n.state),
		app.Ul().Body(app.Range(n.items).Slice(func(i int) app.UI {
			return app.Li().Text(n.items[i]) // a text node: never parsed as HTML
		})),
	)
}

// A component connects in OnMount, listens with Listen, and updates its
// fields in the handler, which runs on go-app's UI goroutine.
func ExampleListen() {
	app.Route("/", func() app.Composer { return &news{} })
	app.RunWhenOnBrowser()
}
