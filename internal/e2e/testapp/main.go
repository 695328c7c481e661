//go:build js && wasm

// Command testapp is the page program of the browser tests: it drives
// wasmclient from Go and shows the test what happened through globals,
// with the same shape as the shim's test page (see browser_test.go):
//
//	window.appOptions  {headers, headersFn, tokens, channels, maxReconnectAttempts, reconnectDelay (ms)}, read at start
//	window.events      [{client, type, channel, channels, reason, payload, raw, id, clientId, resumed, attempt, delay (ms), retry (ms), code, status}]
//	window.app         {clientId(i), channels(i), state(i), connected(i), subscribe(i, ...chs), unsubscribe(i, ...chs), close(i)}
//	window.tConnected  performance.now() at the first "connected"
//
// With headersFn, Options.HeaderFunc hands out "Authorization: Bearer <t>"
// for t taken from window.tokens (initially appOptions.tokens; the last one
// again and again) and counts its calls in window.headerCalls.
//
// Subscribe and unsubscribe return Promises resolving to "" or an error code.
package main

import (
	"context"
	"errors"
	"syscall/js"
	"time"

	"github.com/ssevent/ssevent/wasmclient"
)

func main() {
	g := js.Global()
	o := g.Get("appOptions")
	opts := wasmclient.Options{}
	if o.Type() == js.TypeObject {
		if h := o.Get("headers"); h.Type() == js.TypeObject {
			opts.Headers = map[string]string{}
			keys := g.Get("Object").Call("keys", h)
			for i := 0; i < keys.Length(); i++ {
				opts.Headers[keys.Index(i).String()] = h.Get(keys.Index(i).String()).String()
			}
		}
		if o.Get("headersFn").Truthy() {
			g.Set("tokens", o.Get("tokens"))
			g.Set("headerCalls", 0)
			opts.HeaderFunc = func(context.Context) (map[string]string, error) {
				g.Set("headerCalls", g.Get("headerCalls").Int()+1)
				toks := g.Get("tokens")
				tok := toks.Index(0)
				if toks.Length() > 1 {
					toks.Call("shift")
				}
				return map[string]string{"Authorization": "Bearer " + tok.String()}, nil
			}
		}
		if n := o.Get("maxReconnectAttempts"); n.Type() == js.TypeNumber {
			opts.MaxReconnectAttempts = n.Int()
		}
		if n := o.Get("reconnectDelay"); n.Type() == js.TypeNumber {
			opts.ReconnectDelay = time.Duration(n.Int()) * time.Millisecond
			opts.MaxReconnectDelay = 4 * opts.ReconnectDelay
		}
		if chs := o.Get("channels"); chs.Type() == js.TypeObject {
			for i := 0; i < chs.Length(); i++ {
				opts.Channels = append(opts.Channels, chs.Index(i).String())
			}
		}
	}
	n := 1
	if o.Type() == js.TypeObject && o.Get("clients").Type() == js.TypeNumber {
		n = o.Get("clients").Int()
	}
	events := g.Get("Array").New()
	g.Set("events", events)
	clients := make([]*wasmclient.Client, n)
	for i := range clients {
		c := wasmclient.Connect("/events", opts)
		clients[i] = c
		for _, name := range []string{"open", "connected", "message", "error", "reconnecting", "gap", "reconnect", "channels", "closed", "alert"} {
			c.On(name, func(ev wasmclient.Event) {
				if ev.Type == wasmclient.EventConnected && g.Get("tConnected").IsUndefined() {
					g.Set("tConnected", g.Get("performance").Call("now"))
				}
				events.Call("push", record(i, ev))
			})
		}
	}
	client := func(args []js.Value) *wasmclient.Client {
		if len(args) > 0 && args[0].Type() == js.TypeNumber && args[0].Int() < len(clients) {
			return clients[args[0].Int()]
		}
		return clients[0]
	}
	change := func(sub bool) js.Func {
		return js.FuncOf(func(_ js.Value, args []js.Value) any {
			c := client(args)
			var chs []string
			for _, a := range args[1:] {
				chs = append(chs, a.String())
			}
			exec := js.FuncOf(func(_ js.Value, pa []js.Value) any {
				resolve := pa[0]
				go func() {
					var err error
					if sub {
						err = c.Subscribe(chs...)
					} else {
						err = c.Unsubscribe(chs...)
					}
					resolve.Invoke(code(err))
				}()
				return nil
			})
			defer exec.Release()
			return g.Get("Promise").New(exec)
		})
	}
	g.Set("app", js.ValueOf(map[string]any{
		"clientId":    js.FuncOf(func(_ js.Value, a []js.Value) any { return client(a).ClientID() }),
		"channels":    js.FuncOf(func(_ js.Value, a []js.Value) any { return anyList(client(a).Channels()) }),
		"state":       js.FuncOf(func(_ js.Value, a []js.Value) any { return client(a).ReadyState() }),
		"connected":   js.FuncOf(func(_ js.Value, a []js.Value) any { return client(a).IsConnected() }),
		"close":       js.FuncOf(func(_ js.Value, a []js.Value) any { client(a).Close(); return nil }),
		"subscribe":   change(true),
		"unsubscribe": change(false),
	}))
	select {}
}

func record(i int, ev wasmclient.Event) js.Value {
	r := map[string]any{"client": i, "type": ev.Type, "id": ev.ID, "raw": ev.Data, "attempt": ev.Attempt,
		"delay": float64(ev.Delay) / float64(time.Millisecond)}
	if ev.Reconnect != nil {
		r["retry"] = ev.Reconnect.Retry
	}
	if ev.Type == wasmclient.EventMessage {
		r["channel"] = ev.Channel
	}
	if ev.Channels != nil {
		r["channels"] = anyList(ev.Channels)
	}
	if ev.Closed != nil {
		r["reason"] = ev.Closed.Reason
	}
	if ev.Payload != nil {
		r["payload"] = js.Global().Get("JSON").Call("parse", string(ev.Payload))
	}
	if ev.Connected != nil {
		r["clientId"] = ev.ClientID
		r["resumed"] = ev.Connected.Resumed
	}
	if ev.Err != nil {
		r["code"] = code(ev.Err)
		var se *wasmclient.StatusError
		if errors.As(ev.Err, &se) {
			r["status"] = se.Status
		}
		r["message"] = ev.Err.Error()
	}
	return js.ValueOf(r)
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// code names an error as the shim does.
func code(err error) string {
	var se *wasmclient.StatusError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, wasmclient.ErrClosed):
		return "closed"
	case errors.Is(err, wasmclient.ErrMaxReconnectAttempts):
		return "max_reconnect_attempts"
	case errors.Is(err, wasmclient.ErrSessionEnded):
		return "session_ended"
	case errors.Is(err, wasmclient.ErrHeaders):
		return "headers"
	case errors.Is(err, wasmclient.ErrRejected):
		return "rejected"
	case errors.Is(err, wasmclient.ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, wasmclient.ErrForbidden):
		return "forbidden"
	case errors.Is(err, wasmclient.ErrStreamEnded):
		return "stream_ended"
	case errors.As(err, &se):
		return se.Code
	}
	return "error"
}
