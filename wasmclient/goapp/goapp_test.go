//go:build !wasm

// go-app's test engine runs on the host; under wasm it needs a DOM.

package goapp_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/wasmclient"
	"github.com/ssevent/ssevent/wasmclient/goapp"
)

// fakeSource emits events from the test, as a wasmclient.Client does from
// its own goroutine.
type fakeSource struct {
	mu       sync.Mutex
	handlers map[string][]*wasmclient.Handler
	done     chan struct{}
}

func newFakeSource() *fakeSource {
	return &fakeSource{handlers: map[string][]*wasmclient.Handler{}, done: make(chan struct{})}
}

func (s *fakeSource) On(event string, h wasmclient.Handler) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &h
	s.handlers[event] = append(s.handlers[event], p)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		hs := s.handlers[event]
		for i, q := range hs {
			if q == p {
				s.handlers[event] = append(hs[:i:i], hs[i+1:]...)
				return
			}
		}
	}
}

func (s *fakeSource) Done() <-chan struct{} { return s.done }

func (s *fakeSource) emit(ev wasmclient.Event) {
	s.mu.Lock()
	hs := append([]*wasmclient.Handler(nil), s.handlers[ev.Type]...)
	s.mu.Unlock()
	for _, h := range hs {
		(*h)(ev)
	}
}

func (s *fakeSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, hs := range s.handlers {
		n += len(hs)
	}
	return n
}

// feed is a component that lists the payloads of the messages it got. On
// the host go-app prerenders, so OnPreRender hands the test the component's
// context (in a browser, Listen belongs in OnMount).
type feed struct {
	app.Compo
	Items []string

	ctx     app.Context
	hasCtx  bool
	uiCalls int
}

func (f *feed) OnPreRender(ctx app.Context) { f.ctx, f.hasCtx = ctx, true }

func (f *feed) Render() app.UI {
	return app.Ul().Body(app.Range(f.Items).Slice(func(i int) app.UI {
		return app.Li().Text(f.Items[i])
	}))
}

func (f *feed) onEvent(ctx app.Context, ev wasmclient.Event) {
	f.uiCalls++
	f.Items = append(f.Items, string(ev.Payload))
}

func load(t *testing.T) (app.TestEngine, *feed) {
	t.Helper()
	e := app.NewTestEngine()
	f := &feed{}
	require.NoError(t, e.Load(f))
	e.ConsumeAll()
	require.True(t, f.hasCtx, "OnPreRender did not run")
	return e, f
}

func TestListenDeliversInOrderOnTheUIGoroutine(t *testing.T) {
	e, f := load(t)
	src := newFakeSource()
	stop := goapp.Listen(f.ctx, src, f.onEvent, wasmclient.EventMessage)
	defer stop()

	const n = 100
	go func() {
		for i := range n {
			src.emit(wasmclient.Event{Type: wasmclient.EventMessage, Payload: []byte(strconv.Itoa(i))})
		}
		src.emit(wasmclient.Event{Type: "ignored", Payload: []byte("x")})
		close(src.done) // the client stopped: what is queued is still delivered
	}()
	// The test engine runs dispatched functions once every ctx.Async
	// goroutine has ended: here, once the reader has forwarded everything.
	e.ConsumeAll()

	require.Len(t, f.Items, n)
	for i, s := range f.Items {
		require.Equal(t, strconv.Itoa(i), s)
	}
	require.Equal(t, n, f.uiCalls)
	require.NoError(t, app.Match(app.Li().Text("99"), f, 0, n-1), "the component was not re-rendered")
}

func TestListenStop(t *testing.T) {
	e, f := load(t)
	src := newFakeSource()
	stop := goapp.Listen(f.ctx, src, f.onEvent, wasmclient.EventMessage, wasmclient.EventConnected)
	require.Equal(t, 2, src.count())

	stop()
	stop() // idempotent
	require.Equal(t, 0, src.count(), "handlers not removed")

	finished := make(chan struct{})
	go func() { e.ConsumeAll(); close(finished) }()
	select {
	case <-finished: // the reader goroutine ended
	case <-time.After(10 * time.Second):
		t.Fatal("reader goroutine still running after stop")
	}
	src.emit(wasmclient.Event{Type: wasmclient.EventMessage, Payload: []byte("late")})
	e.ConsumeAll()
	require.Empty(t, f.Items)
}

// An emitter never waits for the UI: whatever it emits before or after
// stop, it returns at once.
func TestListenNeverBlocksTheClient(t *testing.T) {
	e, f := load(t)
	src := newFakeSource()
	gate := make(chan struct{})
	defer goapp.SetFrame(func(stop <-chan struct{}) bool {
		select {
		case <-gate:
			return true
		case <-stop:
			return false
		}
	})()
	stop := goapp.Listen(f.ctx, src, f.onEvent, wasmclient.EventMessage)

	// Nothing is consumed (no frame comes) while it emits far more than
	// the engine's dispatch buffer holds.
	emitted := make(chan struct{})
	go func() {
		for range 10000 {
			src.emit(wasmclient.Event{Type: wasmclient.EventMessage, Payload: []byte("x")})
		}
		close(emitted)
	}()
	select {
	case <-emitted:
	case <-time.After(10 * time.Second):
		t.Fatal("emitter blocked")
	}
	stop()
	src.emit(wasmclient.Event{Type: wasmclient.EventMessage, Payload: []byte("late")})
	e.ConsumeAll()
	require.Empty(t, f.Items, "events handled after stop")
}

// batches records the batches it is handed.
type batches struct {
	feed
	sizes []int
}

func (b *batches) onBatch(ctx app.Context, evs []wasmclient.Event) {
	b.sizes = append(b.sizes, len(evs))
	for _, ev := range evs {
		b.onEvent(ctx, ev)
	}
}

// The events of a frame are handed over in one ctx.Dispatch, in order: the
// component re-renders once per frame, however many events arrived.
func TestListenBatchesPerFrame(t *testing.T) {
	e := app.NewTestEngine()
	b := &batches{}
	require.NoError(t, e.Load(b))
	e.ConsumeAll()
	require.True(t, b.hasCtx)

	// The test plays the browser: entered says the reader waits for a
	// frame, frames runs one.
	entered, frames := make(chan struct{}), make(chan struct{})
	defer goapp.SetFrame(func(stop <-chan struct{}) bool {
		select {
		case entered <- struct{}{}:
		case <-stop:
			return false
		}
		select {
		case <-frames:
			return true
		case <-stop:
			return false
		}
	})()
	src := newFakeSource()
	stop := goapp.ListenBatch(b.ctx, src, b.onBatch, wasmclient.EventMessage)
	defer stop()

	// 100 events, then the reader waits for a frame; 50 more meanwhile;
	// then the frame: one batch of 150, one Dispatch.
	for i := range 100 {
		src.emit(wasmclient.Event{Type: wasmclient.EventMessage, Payload: []byte(strconv.Itoa(i))})
	}
	<-entered
	for i := range 50 {
		src.emit(wasmclient.Event{Type: wasmclient.EventMessage, Payload: []byte(strconv.Itoa(100 + i))})
	}
	frames <- struct{}{}
	// Any later frame comes at once; the source stops.
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			select {
			case <-entered:
				frames <- struct{}{}
			case <-quit:
				return
			}
		}
	}()
	close(src.done)
	e.ConsumeAll()
	require.Equal(t, []int{150}, b.sizes, "one batch per frame")
	require.Len(t, b.Items, 150)
	for i, s := range b.Items {
		require.Equal(t, strconv.Itoa(i), s)
	}
}
