//go:build js && wasm

package wasmclient

import (
	"errors"
	"io"
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// A transport is one stream, read with fetch and a ReadableStream. It
// reports to the client with signals; the client calls close with c.mu
// held.
type transport interface {
	// close ends the stream; idempotent.
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
	gen  uint64
	kind signalKind
	ev   shared.Event
	err  error
}

// fetchStream is the stream transport: one fetch per attempt, which gives
// the status and headers of a refusal (an EventSource hides them, so
// learning them took a second request) and is bounded by the connect
// timeout until its headers arrive. The stream is parsed by
// shared.Decoder.
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
	go c.readFetch(gen, url, init, t.ctrl)
	return t
}

// readFetch runs on its own goroutine until the stream ends or is aborted.
// A request without response headers within the connect timeout is
// aborted and fails with ErrConnectTimeout.
func (c *Client) readFetch(gen uint64, url string, init map[string]any, ctrl js.Value) {
	fail := func(err error) { c.push(signal{gen: gen, kind: sigFail, err: err}) }
	var p js.Value
	if err := try(func() { p = js.Global().Call("fetch", url, js.ValueOf(init)) }); err != nil {
		fail(err)
		return
	}
	var timedOut atomic.Bool
	stopTimer := func() {}
	if d := c.opts.connectTimeout(); d > 0 {
		timer := time.AfterFunc(d, func() {
			timedOut.Store(true)
			ctrl.Call("abort")
		})
		stopTimer = func() { timer.Stop() }
	}
	resp, err := await(p)
	if err != nil {
		stopTimer()
		if timedOut.Load() {
			err = ErrConnectTimeout
		}
		fail(err)
		return
	}
	status := resp.Get("status").Int()
	if status != 200 {
		// The connect timeout bounds the body of a refusal too: a
		// body cut short leaves the status alone.
		body := js.Undefined()
		if status != 204 {
			if text, err := await(resp.Call("text")); err == nil {
				body, _ = parseJSON(text.String())
			}
		}
		stopTimer()
		if status == 204 {
			fail(ErrStopped)
			return
		}
		se := statusError(status, body)
		if status == 503 || status == 429 {
			se.RetryAfter = c.opts.retryAfterBound(retryAfter(resp))
		}
		fail(se)
		return
	}
	stopTimer()
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
