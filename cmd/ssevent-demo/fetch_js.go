//go:build js && wasm

package main

import (
	"errors"
	"syscall/js"
)

// fetchJSON makes a same-origin request with the browser's fetch (net/http
// would add megabytes to the wasm) and returns the status and body. It
// blocks: call it from a goroutine (ctx.Async), never from a JS callback.
func fetchJSON(method, url string, body []byte) (status int, resp []byte, err error) {
	opts := js.Global().Get("Object").New()
	opts.Set("method", method)
	opts.Set("credentials", "same-origin")
	if body != nil {
		h := js.Global().Get("Object").New()
		h.Set("Content-Type", "application/json")
		opts.Set("headers", h)
		opts.Set("body", string(body))
	}
	r, err := await(js.Global().Call("fetch", url, opts))
	if err != nil {
		return 0, nil, err
	}
	text, err := await(r.Call("text"))
	if err != nil {
		return 0, nil, err
	}
	return r.Get("status").Int(), []byte(text.String()), nil
}

// await waits for a Promise.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := "network error"
		if len(args) > 0 && args[0].Type() == js.TypeObject && args[0].Get("message").Type() == js.TypeString {
			msg = args[0].Get("message").String()
		}
		ch <- result{err: errors.New(msg)}
		return nil
	})
	defer ok.Release()
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}
