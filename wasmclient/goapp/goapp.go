// Package goapp connects a wasmclient.Client to go-app v10 components
// (github.com/maxence-charriere/go-app/v10), so that a component can change
// its state from the client's events without a data race, re-rendering once
// per frame however many events arrive.
//
// # One client for the whole app
//
// Connect once, in the app's entry point (the main of the wasm build, before
// app.RunWhenOnBrowser), and keep the client in a package-level variable:
// the stream then outlives every page, so a route change neither opens a new
// session nor loses what the server sent meanwhile. What the pages show
// across route changes belongs in app-level state fed by a handler
// registered there too, before any component listens; components read it
// when they mount and listen for changes:
//
//	var live *wasmclient.Client // nil in the server build, which prerenders
//
//	func main() { // the wasm build's main
//		app.Route("/", func() app.Composer { return &News{} })
//		live = wasmclient.Connect("/events", wasmclient.Options{Channels: []string{"news"}})
//		live.On(wasmclient.EventMessage, store.add) // app-level state, with its own lock
//		app.RunWhenOnBrowser()
//	}
//
//	func (n *News) OnMount(ctx app.Context) {
//		n.items = store.items()
//		n.stop = goapp.ListenBatch(ctx, live, func(ctx app.Context, evs []wasmclient.Event) {
//			n.items = store.items() // once per frame, on the UI goroutine
//		}, wasmclient.EventMessage)
//	}
//
//	func (n *News) OnDismount() { n.stop() } // stops listening; the connection stays
//
// The client runs its handlers in the order they were registered, so the
// app-level handler has applied an event before a component hears of it.
//
// # Per-frame batching
//
// A go-app component's fields belong to go-app's UI goroutine, while the
// client calls its handlers on a goroutine of its own. Listen and
// ListenBatch bridge the two: the client's handler appends each event to a
// queue and returns at once; a goroutine started with ctx.Async waits for
// the next animation frame (requestAnimationFrame, or 100 ms when the
// browser runs no frames, as in a hidden tab), takes every event queued so
// far, and hands them to the component's function in one ctx.Dispatch, on
// the UI goroutine: the component re-renders once per frame, not once per
// event.
//
// Call them from OnMount, which go-app runs in the browser only. Not from
// OnInit, OnNav or OnPreRender: those also run while go-app prerenders a page
// on the server, which waits for every ctx.Async goroutine to end, and the
// reader only ends when stopped.
//
// The package lives apart from wasmclient so that wasmclient does not depend
// on go-app. It builds on every platform; outside a browser a
// wasmclient.Client delivers no event, and Listen works with any Source
// (frames are then not waited for).
//
// # Concurrency
//
// Listen and ListenBatch may be called from any goroutine; the function
// they are given runs on go-app's UI goroutine only, with the events in
// the order the client emitted them, and not after the stop function was
// called. The stop function is safe to call more than once and from any
// goroutine.
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
// the frame's events were handled.
type Handler func(ctx app.Context, ev wasmclient.Event)

// BatchHandler handles the events of one frame, in order, on go-app's UI
// goroutine; the component is re-rendered once after it returns. evs is
// never empty, and is the handler's to keep.
type BatchHandler func(ctx app.Context, evs []wasmclient.Event)

// Listen registers handlers for the named events on src and runs h for each
// of them on the UI goroutine of ctx's component, a frame's events in one
// ctx.Dispatch (see ListenBatch). It returns a function that removes the
// handlers and ends the goroutine; events queued but not yet handled are
// then dropped. When src stops (its Done channel closes), the events
// already queued are still delivered and the goroutine ends.
func Listen(ctx app.Context, src Source, h Handler, events ...string) (stop func()) {
	return ListenBatch(ctx, src, func(ctx app.Context, evs []wasmclient.Event) {
		for _, ev := range evs {
			h(ctx, ev)
		}
	}, events...)
}

// ListenBatch is Listen with a handler that takes the events of a frame at
// once: the place to do the work of a frame once, such as copying
// app-level state.
func ListenBatch(ctx app.Context, src Source, h BatchHandler, events ...string) (stop func()) {
	l := &listener{notify: make(chan struct{}, 1), stopped: make(chan struct{})}
	removers := make([]func(), 0, len(events))
	for _, name := range events {
		removers = append(removers, src.On(name, l.add))
	}
	done := src.Done()
	frame := frame
	ctx.Async(func() {
		for {
			final := false
			select {
			case <-l.notify:
			case <-l.stopped:
				return
			case <-done:
				final = true // deliver what is queued, then end
			}
			if !final && !frame(l.stopped) {
				return
			}
			if evs := l.take(); len(evs) > 0 {
				ctx.Dispatch(func(ctx app.Context) {
					if !l.isStopped() {
						h(ctx, evs)
					}
				})
			}
			if final {
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, remove := range removers {
				remove()
			}
			l.mu.Lock()
			l.stop = true
			l.queue = nil
			l.mu.Unlock()
			close(l.stopped)
		})
	}
}

// listener is the queue between the client's handler and the UI.
type listener struct {
	notify  chan struct{} // a signal: the queue is no longer empty
	stopped chan struct{}

	mu    sync.Mutex
	queue []wasmclient.Event
	stop  bool
}

// add queues an event; it runs on the client's goroutine and never blocks.
func (l *listener) add(ev wasmclient.Event) {
	l.mu.Lock()
	if l.stop {
		l.mu.Unlock()
		return
	}
	l.queue = append(l.queue, ev)
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

func (l *listener) take() []wasmclient.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := l.queue
	l.queue = nil
	return evs
}

func (l *listener) isStopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stop
}

// frame waits for the next frame; false when stop closed first. Tests
// replace it.
var frame = waitFrame
