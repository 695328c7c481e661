//go:build js && wasm

// Command ssevent-wasm is the WebAssembly program behind the script-tag
// shim (static/ssevent.js) and the ES module (static/ssevent.mjs). It puts
// one object, globalThis.__ssevent, in the page: a thin bridge from the
// shim's JavaScript clients to wasmclient, shared by every client on the
// page. `make wasm` builds it into static/ssevent.wasm.
//
// The bridge's functions are created once and live as long as the page;
// each client's Go handlers are removed when the shim stops listening to
// an event name or closes the client.
package main

import (
	"context"
	"errors"
	"math"
	"sync"
	"syscall/js"
	"time"

	"github.com/ssevent/ssevent/wasmclient"
)

// entry is one shim client.
type entry struct {
	c       *wasmclient.Client
	emit    js.Value
	removes map[string]func()
}

var (
	mu      sync.Mutex
	clients = map[int]*entry{}
	nextID  = 1
)

func main() {
	bridge := map[string]any{}
	funcs := map[string]func(args []js.Value) any{
		"connect":     connect,
		"listen":      listen,
		"unlisten":    unlisten,
		"subscribe":   func(a []js.Value) any { return change(a, true) },
		"unsubscribe": func(a []js.Value) any { return change(a, false) },
		"clientId": func(a []js.Value) any {
			if e := get(a); e != nil && e.c.ClientID() != "" {
				return e.c.ClientID()
			}
			return nil
		},
		"channels": func(a []js.Value) any {
			if e := get(a); e != nil {
				return anySlice(e.c.Channels())
			}
			return []any{}
		},
		"isConnected": func(a []js.Value) any { e := get(a); return e != nil && e.c.IsConnected() },
		"readyState": func(a []js.Value) any {
			if e := get(a); e != nil {
				return e.c.ReadyState()
			}
			return wasmclient.StateClosed
		},
		"close": closeClient,
	}
	for name, f := range funcs {
		f := f
		bridge[name] = js.FuncOf(func(_ js.Value, args []js.Value) any { return f(args) })
	}
	js.Global().Set("__ssevent", js.ValueOf(bridge))
	if ready := js.Global().Get("__sseventReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

func get(args []js.Value) *entry {
	if len(args) == 0 || args[0].Type() != js.TypeNumber {
		return nil
	}
	mu.Lock()
	defer mu.Unlock()
	return clients[args[0].Int()]
}

// connect(url, options, emit, names) returns the client's handle.
func connect(args []js.Value) any {
	if len(args) < 3 {
		return nil
	}
	url, o, emit := args[0].String(), args[1], args[2]
	opts := wasmclient.Options{
		DisableAutoReconnect: o.Get("autoReconnect").Type() == js.TypeBoolean && !o.Get("autoReconnect").Bool(),
		MaxReconnectAttempts: count(o.Get("maxReconnectAttempts")),
		ReconnectDelay:       zeroIsNone(o.Get("reconnectDelay")),
		MaxReconnectDelay:    millis(o.Get("maxReconnectDelay")),
		ConnectTimeout:       zeroIsNone(o.Get("connectTimeout")),
		RequestTimeout:       zeroIsNone(o.Get("requestTimeout")),
		WithCredentials:      o.Get("withCredentials").Truthy(),
		Channels:             stringList(o.Get("channels")),
	}
	switch h := o.Get("headers"); h.Type() {
	case js.TypeObject:
		opts.Headers = headerMap(h)
	case js.TypeFunction:
		opts.HeaderFunc = func(ctx context.Context) (map[string]string, error) { return callHeaders(ctx, h) }
	}
	e := &entry{emit: emit, removes: map[string]func(){}}
	mu.Lock()
	id := nextID
	nextID++
	clients[id] = e
	mu.Unlock()
	// Events arrive through browser callbacks, which cannot run before
	// this call returns: handlers registered now miss nothing.
	e.c = wasmclient.Connect(url, opts)
	if len(args) > 3 {
		for _, name := range stringList(args[3]) {
			e.listen(name)
		}
	}
	return id
}

// headerMap copies the own properties of a headers object; null and
// undefined give none.
func headerMap(h js.Value) map[string]string {
	if h.Type() != js.TypeObject {
		return nil
	}
	keys := js.Global().Get("Object").Call("keys", h)
	m := make(map[string]string, keys.Length())
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		m[k] = js.Global().Get("String").Invoke(h.Get(k)).String()
	}
	return m
}

// callHeaders calls the headers option when it is a function. The shim
// wraps the application's function so that it returns a Promise (of an
// object, or rejected with what the function threw) and never throws.
func callHeaders(ctx context.Context, fn js.Value) (map[string]string, error) {
	v, err := await(ctx, fn.Invoke())
	if err != nil {
		return nil, err
	}
	return headerMap(v), nil
}

// await waits for a Promise to settle, or for ctx to end. Its callbacks
// are released once it settles, even after ctx ended.
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New(js.Global().Get("String").Invoke(arg0(args)).String())}
		return nil
	})
	release := func() { ok.Release(); fail.Release() }
	p.Call("then", ok, fail)
	select {
	case r := <-ch:
		release()
		return r.v, r.err
	case <-ctx.Done():
		go func() { <-ch; release() }()
		return js.Undefined(), ctx.Err()
	}
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// count reads maxReconnectAttempts as the seed means it: absent or
// Infinity is unlimited (0 in Go), 0 is no attempt (negative in Go), n is
// n.
func count(v js.Value) int {
	if v.Type() != js.TypeNumber || math.IsInf(v.Float(), 0) || math.IsNaN(v.Float()) {
		return 0
	}
	if v.Float() < 1 {
		return -1
	}
	return int(math.Min(v.Float(), math.MaxInt32))
}

// millis reads a number of milliseconds; absent, 0 or out of range give
// 0, the Go default.
func millis(v js.Value) time.Duration {
	if v.Type() != js.TypeNumber || !(v.Float() > 0) || v.Float() > float64(math.MaxInt64/int64(time.Millisecond)) {
		return 0
	}
	return time.Duration(v.Float() * float64(time.Millisecond))
}

// zeroIsNone reads a number of milliseconds whose 0 means "none" (no
// delay, no timeout): negative in Go, whose zero is the default. Absent
// gives the default.
func zeroIsNone(v js.Value) time.Duration {
	if v.Type() == js.TypeNumber && v.Float() == 0 {
		return -1
	}
	return millis(v)
}

func stringList(v js.Value) []string {
	if v.Type() == js.TypeString {
		return []string{v.String()}
	}
	if v.Type() != js.TypeObject {
		return nil
	}
	out := make([]string, 0, v.Length())
	for i := 0; i < v.Length(); i++ {
		out = append(out, v.Index(i).String())
	}
	return out
}

// listen(id, name) makes the client deliver events of that name.
func listen(args []js.Value) any {
	if e := get(args); e != nil && len(args) > 1 {
		e.listen(args[1].String())
	}
	return nil
}

func (e *entry) listen(name string) {
	mu.Lock()
	_, ok := e.removes[name]
	mu.Unlock()
	if ok {
		return
	}
	remove := e.c.On(name, func(ev wasmclient.Event) { e.deliver(ev) })
	mu.Lock()
	e.removes[name] = remove
	mu.Unlock()
}

// unlisten(id, name) stops it.
func unlisten(args []js.Value) any {
	e := get(args)
	if e == nil || len(args) < 2 {
		return nil
	}
	name := args[1].String()
	mu.Lock()
	remove := e.removes[name]
	delete(e.removes, name)
	mu.Unlock()
	if remove != nil {
		remove()
	}
	return nil
}

func closeClient(args []js.Value) any {
	e := get(args)
	if e == nil {
		return nil
	}
	mu.Lock()
	delete(clients, args[0].Int())
	mu.Unlock()
	e.c.Close()
	return nil
}

// deliver hands an event to the shim's emit function, shaped as the seed's
// API: message events carry {data: {channel, payload}, raw}, custom events
// {data: payload, raw}, server events (connected, gap, reconnect…) their
// parsed data and raw.
func (e *entry) deliver(ev wasmclient.Event) {
	obj := js.Global().Get("Object").New()
	obj.Set("type", ev.Type)
	if ev.ID != "" {
		obj.Set("id", ev.ID)
		obj.Set("lastEventId", ev.ID)
	}
	switch ev.Type {
	case wasmclient.EventOpen:
	case wasmclient.EventError:
		obj.Set("error", jsError(ev.Err))
	case wasmclient.EventReconnecting:
		obj.Set("attempt", ev.Attempt)
		obj.Set("delay", float64(ev.Delay)/float64(time.Millisecond))
	default:
		obj.Set("raw", ev.Data)
		if data, err := parse(ev.Data); err == nil {
			if ev.Reconnect != nil {
				// The delay the client waits: the server's, bounded.
				data.Set("retry", ev.Reconnect.Retry)
			}
			obj.Set("data", data)
		} else {
			obj.Set("data", ev.Data)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			js.Global().Get("console").Call("error", "ssevent: emit failed", js.ValueOf(toString(r)))
		}
	}()
	e.emit.Invoke(ev.Type, obj)
}

func toString(r any) string {
	if err, ok := r.(error); ok {
		return err.Error()
	}
	if s, ok := r.(string); ok {
		return s
	}
	return "panic"
}

func parse(s string) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("bad JSON")
		}
	}()
	return js.Global().Get("JSON").Call("parse", s), nil
}

// change(id, channels, {signal, timeout}) → Promise for subscribe or
// unsubscribe. signal, an AbortSignal, aborts the call (code "aborted");
// timeout, in milliseconds, replaces the client's requestTimeout for it
// (0: none).
func change(args []js.Value, subscribe bool) any {
	e := get(args)
	var chs []string
	if len(args) > 1 {
		chs = stringList(args[1])
	}
	o := js.Undefined()
	if len(args) > 2 && args[2].Type() == js.TypeObject {
		o = args[2]
	}
	ctx, release, err := callContext(o)
	if err != nil {
		release()
		return rejected(err)
	}
	return promise(func() (any, error) {
		defer release()
		if e == nil {
			return nil, wasmclient.ErrClosed
		}
		var err error
		if subscribe {
			err = e.c.SubscribeContext(ctx, chs...)
		} else {
			err = e.c.UnsubscribeContext(ctx, chs...)
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"clientId": e.c.ClientID(), "channels": anySlice(e.c.Channels())}, nil
	})
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// callContext makes the context of a subscribe or unsubscribe from its
// options: canceled when the signal aborts, with a deadline when a
// timeout is given. An already aborted signal gives an error. release
// removes the signal's listener.
func callContext(o js.Value) (context.Context, func(), error) {
	ctx := &callCtx{done: make(chan struct{})}
	if o.Type() != js.TypeObject {
		return context.Background(), func() {}, nil
	}
	if t := o.Get("timeout"); t.Type() == js.TypeNumber && t.Float() >= 0 {
		if t.Float() == 0 {
			ctx.deadline = time.Now().Add(100 * 365 * 24 * time.Hour) // none
		} else {
			ctx.deadline = time.Now().Add(time.Duration(t.Float() * float64(time.Millisecond)))
			ctx.timer = time.AfterFunc(time.Until(ctx.deadline), func() { ctx.end(context.DeadlineExceeded) })
		}
		ctx.hasDeadline = true
	}
	release := func() {
		if ctx.timer != nil {
			ctx.timer.Stop()
		}
	}
	sig := o.Get("signal")
	if sig.Type() != js.TypeObject {
		return ctx, release, nil
	}
	if sig.Get("aborted").Truthy() {
		return nil, release, &abortError{}
	}
	onAbort := js.FuncOf(func(js.Value, []js.Value) any {
		ctx.end(context.Canceled)
		return nil
	})
	sig.Call("addEventListener", "abort", onAbort)
	return ctx, func() {
		release()
		sig.Call("removeEventListener", "abort", onAbort)
		onAbort.Release()
	}, nil
}

// abortError is the error of a call whose signal had aborted before it
// started: it wraps wasmclient.ErrAborted and context.Canceled.
type abortError struct{}

func (abortError) Error() string   { return wasmclient.ErrAborted.Error() }
func (abortError) Unwrap() []error { return []error{wasmclient.ErrAborted, context.Canceled} }

// callCtx is the context of one bridge call, made by hand as wasmclient
// does (context.WithCancel weighs kilobytes of wasm).
type callCtx struct {
	done        chan struct{}
	deadline    time.Time
	hasDeadline bool
	timer       *time.Timer
	mu          sync.Mutex
	err         error
}

func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, c.hasDeadline }
func (c *callCtx) Done() <-chan struct{}       { return c.done }
func (c *callCtx) Value(any) any               { return nil }

func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// end ends the context with err, once.
func (c *callCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// rejected is a Promise rejected with err.
func rejected(err error) js.Value {
	return js.Global().Get("Promise").Call("reject", jsError(err))
}

// promise runs fn on a goroutine and settles a JavaScript Promise with its
// result: the executor returns at once.
func promise(fn func() (any, error)) js.Value {
	exec := js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			v, err := fn()
			if err != nil {
				reject.Invoke(jsError(err))
				return
			}
			resolve.Invoke(js.ValueOf(v))
		}()
		return nil
	})
	p := js.Global().Get("Promise").New(exec)
	exec.Release()
	return p
}

// jsError makes a JavaScript Error with name "SSEventError", a code
// (closed, rejected, unauthorized, forbidden, max_reconnect_attempts,
// session_ended, headers, stale, stream_ended, connect_timeout, timeout,
// aborted, stopped, a server's code, error), the HTTP status and
// rejected channels when known.
func jsError(err error) js.Value {
	if err == nil {
		return js.Null()
	}
	e := js.Global().Get("Error").New(err.Error())
	e.Set("name", "SSEventError")
	code := "error"
	var se *wasmclient.StatusError
	var re *wasmclient.RejectedError
	switch {
	case errors.Is(err, wasmclient.ErrClosed):
		code = "closed"
	case errors.Is(err, wasmclient.ErrMaxReconnectAttempts):
		code = "max_reconnect_attempts"
	case errors.Is(err, wasmclient.ErrStopped):
		code = "stopped"
	case errors.Is(err, wasmclient.ErrConnectTimeout):
		code = "connect_timeout"
	case errors.Is(err, wasmclient.ErrTimeout):
		code = "timeout"
	case errors.Is(err, wasmclient.ErrAborted):
		code = "aborted"
	case errors.Is(err, wasmclient.ErrSessionEnded):
		code = "session_ended"
	case errors.Is(err, wasmclient.ErrHeaders):
		code = "headers"
	case errors.As(err, &re):
		code = "rejected"
		rs := make([]any, len(re.Rejected))
		for i, r := range re.Rejected {
			rs[i] = map[string]any{"channel": r.Channel, "reason": r.Reason}
		}
		e.Set("rejected", js.ValueOf(rs))
	case errors.Is(err, wasmclient.ErrUnauthorized):
		code = "unauthorized"
	case errors.Is(err, wasmclient.ErrForbidden):
		code = "forbidden"
	case errors.Is(err, wasmclient.ErrStale):
		code = "stale"
	case errors.Is(err, wasmclient.ErrStreamEnded):
		code = "stream_ended"
	}
	if errors.As(err, &se) {
		e.Set("status", se.Status)
		if se.RetryAfter > 0 {
			e.Set("retryAfter", se.RetryAfter.Milliseconds())
		}
		if se.Code != "" && code == "error" {
			code = se.Code
		}
	}
	e.Set("code", code)
	return e
}
