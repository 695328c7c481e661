// Package goapp connects a wasmclient.Client to go-app v10 components
// (github.com/maxence-charriere/go-app/v10), so that a component can change
// its state from the client's events without a data race.
//
// A go-app component's fields belong to go-app's UI goroutine, while the
// client calls its handlers on a goroutine of its own. Listen bridges the
// two: the client's handler queues each event, a reader goroutine started
// with ctx.Async forwards them, and ctx.Dispatch runs the component's
// function on the UI goroutine and re-renders the component:
//
//	func (d *Demo) OnMount(ctx app.Context) {
//		d.client = wasmclient.Connect("/events", wasmclient.Options{})
//		d.stop = goapp.Listen(ctx, d.client, d.onEvent,
//			wasmclient.EventConnected, wasmclient.EventMessage)
//	}
//
//	func (d *Demo) onEvent(ctx app.Context, ev wasmclient.Event) {
//		d.messages = append(d.messages, string(ev.Payload)) // on the UI goroutine
//	}
//
//	func (d *Demo) OnDismount() {
//		d.stop()
//		d.client.Close()
//	}
//
// Call Listen from OnMount, which go-app runs in the browser only. Not from
// OnInit, OnNav or OnPreRender: those also run while go-app prerenders a page
// on the server, which waits for every ctx.Async goroutine to end, and the
// reader only ends when stopped.
//
// The package lives apart from wasmclient so that wasmclient does not depend
// on go-app. It builds on every platform; outside a browser a
// wasmclient.Client delivers no event, and Listen works with any Source.
//
// # Concurrency
//
// Listen may be called from any goroutine; the function it is given runs on
// go-app's UI goroutine only, one event at a time, in the order the client
// emitted them, and not after the component is dismounted. The stop function
// is safe to call more than once and from any goroutine.
package goapp

import (
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/ssevent/ssevent/wasmclient"
)

// Source is what Listen needs of a client. *wasmclient.Client implements it;
// tests may pass their own.
type Source interface {
	// On registers a handler for an event name and returns its remover.
	On(event string, h wasmclient.Handler) (remove func())
	// Done is closed when the client has stopped for good.
	Done() <-chan struct{}
}

var _ Source = (*wasmclient.Client)(nil)

// Handler handles one event on go-app's UI goroutine. ctx is the context of
// the component Listen was called with; the component is re-rendered after
// the handler returns.
type Handler func(ctx app.Context, ev wasmclient.Event)

// QueueSize bounds the events waiting for the UI goroutine. When the UI falls
// that far behind, the client's handler waits (the client keeps reading its
// stream meanwhile, see the wasmclient concurrency contract).
const QueueSize = 256

// Listen registers handlers for the named events on src and runs h for each
// of them on the UI goroutine of ctx's component, through ctx.Dispatch. The
// forwarding goroutine is started with ctx.Async. It returns a function that
// removes the handlers and ends the goroutine; events queued but not yet
// dispatched are then dropped. When src stops (its Done channel closes), the
// events already queued are still delivered and the goroutine ends.
func Listen(ctx app.Context, src Source, h Handler, events ...string) (stop func()) {
	queue := make(chan wasmclient.Event, QueueSize)
	stopped := make(chan struct{})
	removers := make([]func(), 0, len(events))
	for _, name := range events {
		removers = append(removers, src.On(name, func(ev wasmclient.Event) {
			select {
			case queue <- ev:
			case <-stopped:
			}
		}))
	}
	done := src.Done()
	ctx.Async(func() {
		dispatch := func(ev wasmclient.Event) {
			ctx.Dispatch(func(ctx app.Context) { h(ctx, ev) })
		}
		for {
			select {
			case ev := <-queue:
				dispatch(ev)
			case <-stopped:
				return
			case <-done:
				for {
					select {
					case ev := <-queue:
						dispatch(ev)
					default:
						return
					}
				}
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, remove := range removers {
				remove()
			}
			close(stopped)
		})
	}
}
