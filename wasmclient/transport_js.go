//go:build js && wasm

package wasmclient

import (
	"errors"
	"io"
	"syscall/js"

	"github.com/ssevent/ssevent/shared"
)

// A transport is one stream: an EventSource or a fetch. It reports to the
// client with signals; the client calls its methods with c.mu held.
type transport interface {
	// listen adds a listener for a custom event name (EventSource only).
	listen(name string)
	// unlisten removes it and releases its js.Func.
	unlisten(name string)
	// close ends the stream and releases every js.Func; idempotent.
	close()
}

type signalKind int

const (
	sigOpen signalKind = iota
	sigEvent
	sigFail
)

// signal is what a transport tells the connection loop. gen tells which
// stream it comes from, so that late signals of a closed one are dropped.
type signal struct {
	gen   uint64
	kind  signalKind
	ev    shared.Event
	err   error
	probe bool // an EventSource failed before it opened: ask for the status
}

// Names an EventSource always listens to.
var fixedNames = []string{
	shared.EventConnected, shared.EventMessage, shared.EventHeartbeat, shared.EventGap,
	shared.EventReconnect, shared.EventChannels, shared.EventClosed,
}

// eventSource is the EventSource transport.
type eventSource struct {
	c      *Client
	gen    uint64
	es     js.Value
	funcs  map[string]js.Func
	opened bool
	failed bool
	closed bool
}

// startEventSource opens an EventSource. c.mu is held.
func (c *Client) startEventSource(gen uint64, url string, custom []string) (*eventSource, error) {
	t := &eventSource{c: c, gen: gen, funcs: make(map[string]js.Func)}
	err := try(func() {
		init := js.Global().Get("Object").New()
		if c.opts.WithCredentials {
			init.Set("withCredentials", true)
		}
		t.es = js.Global().Get("EventSource").New(url, init)
	})
	if err != nil {
		return nil, err
	}
	t.add("open", func(js.Value) {
		t.opened = true
		c.push(signal{gen: gen, kind: sigOpen})
	})
	t.add("error", func(js.Value) {
		if t.failed {
			return
		}
		t.failed = true
		c.push(signal{gen: gen, kind: sigFail, err: ErrStreamEnded, probe: !t.opened})
	})
	for _, name := range fixedNames {
		t.listen(name)
	}
	for _, name := range custom {
		t.listen(name)
	}
	return t, nil
}

// add registers fn as the listener of name.
func (t *eventSource) add(name string, fn func(js.Value)) {
	if t.closed {
		return
	}
	if _, ok := t.funcs[name]; ok {
		return
	}
	f := funcOf(func(_ js.Value, args []js.Value) any {
		fn(arg0(args))
		return nil
	})
	t.funcs[name] = f
	t.es.Call("addEventListener", name, f)
}

func (t *eventSource) listen(name string) {
	t.add(name, func(e js.Value) {
		ev := shared.Event{Name: name, ID: str(e, "lastEventId"), Data: []byte(str(e, "data"))}
		t.c.push(signal{gen: t.gen, kind: sigEvent, ev: ev})
	})
}

func (t *eventSource) unlisten(name string) {
	f, ok := t.funcs[name]
	if !ok || t.closed {
		return
	}
	t.es.Call("removeEventListener", name, f)
	delete(t.funcs, name)
	release(f)
}

func (t *eventSource) close() {
	if t.closed {
		return
	}
	t.closed = true
	t.es.Call("close")
	for name, f := range t.funcs {
		t.es.Call("removeEventListener", name, f)
		release(f)
	}
	t.funcs = nil
}

// fetchStream is the fetch + ReadableStream transport, used when headers
// must be sent. The stream is parsed by shared.Decoder.
type fetchStream struct {
	ctrl   js.Value
	closed bool
}

// startFetch starts the request. c.mu is held.
func (c *Client) startFetch(gen uint64, url string, hdr map[string]any) *fetchStream {
	t := &fetchStream{ctrl: js.Global().Get("AbortController").New()}
	init := map[string]any{
		"headers":     hdr,
		"credentials": c.credentials(),
		"cache":       "no-store",
		"signal":      t.ctrl.Get("signal"),
	}
	go c.readFetch(gen, url, init)
	return t
}

// readFetch runs on its own goroutine until the stream ends or is aborted.
func (c *Client) readFetch(gen uint64, url string, init map[string]any) {
	fail := func(err error) { c.push(signal{gen: gen, kind: sigFail, err: err}) }
	var p js.Value
	if err := try(func() { p = js.Global().Call("fetch", url, js.ValueOf(init)) }); err != nil {
		fail(err)
		return
	}
	resp, err := await(p)
	if err != nil {
		fail(err)
		return
	}
	if status := resp.Get("status").Int(); status != 200 {
		text, err := await(resp.Call("text"))
		body := js.Undefined()
		if err == nil {
			body, _ = parseJSON(text.String())
		}
		fail(statusError(status, body))
		return
	}
	c.push(signal{gen: gen, kind: sigOpen})
	var reader js.Value
	if err := try(func() { reader = resp.Get("body").Call("getReader") }); err != nil {
		fail(err)
		return
	}
	dec := shared.NewDecoder(&streamReader{reader: reader}, 0)
	for {
		ev, err := dec.Next()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = ErrStreamEnded
			} else {
				err = errors.Join(ErrStreamEnded, err)
			}
			fail(err)
			return
		}
		c.push(signal{gen: gen, kind: sigEvent, ev: ev})
	}
}

func (t *fetchStream) listen(string)   {}
func (t *fetchStream) unlisten(string) {}

func (t *fetchStream) close() {
	if t.closed {
		return
	}
	t.closed = true
	t.ctrl.Call("abort")
}

// streamReader is an io.Reader over a ReadableStreamDefaultReader. Read
// blocks its goroutine on the reader's promise.
type streamReader struct {
	reader js.Value
	buf    []byte
	done   bool
}

func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		v, err := await(r.reader.Call("read"))
		if err != nil {
			return 0, err
		}
		if v.Get("done").Bool() {
			r.done = true
			continue
		}
		chunk := v.Get("value")
		b := make([]byte, chunk.Get("length").Int())
		js.CopyBytesToGo(b, chunk)
		r.buf = b
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}
