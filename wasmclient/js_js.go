//go:build js && wasm

package wasmclient

import (
	"sync/atomic"
	"syscall/js"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// jsErr turns a thrown or rejected JavaScript value into a *JSError.
func jsErr(v js.Value) error {
	if v.Type() == js.TypeObject {
		name, msg := v.Get("name"), v.Get("message")
		if msg.Type() == js.TypeString {
			e := &JSError{Message: msg.String()}
			if name.Type() == js.TypeString {
				e.Name = name.String()
			}
			return e
		}
	}
	return &JSError{Message: js.Global().Get("String").Invoke(v).String()}
}

// try runs f and turns a JavaScript exception it raises into an error.
func try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = jsErr(je.Value)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// result is a settled promise.
type result struct {
	v   js.Value
	err error
}

// liveFuncs counts the js.Funcs the client holds: made by funcOf and not
// yet given to release. Tests check it returns to zero.
var liveFuncs atomic.Int64

// funcOf is js.FuncOf, counted.
func funcOf(fn func(this js.Value, args []js.Value) any) js.Func {
	liveFuncs.Add(1)
	return js.FuncOf(fn)
}

// release is js.Func.Release, counted.
func release(f js.Func) {
	f.Release()
	liveFuncs.Add(-1)
}

// await blocks the calling goroutine (never a JavaScript callback) until the
// promise settles. Its callbacks are released once it has.
func await(p js.Value) (js.Value, error) {
	ch := make(chan result, 1)
	then := funcOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	catch := funcOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsErr(arg0(args))}
		return nil
	})
	if err := try(func() { p.Call("then", then, catch) }); err != nil {
		release(then)
		release(catch)
		return js.Undefined(), err
	}
	r := <-ch
	release(then)
	release(catch)
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// parseJSON is JSON.parse.
func parseJSON(s string) (v js.Value, err error) {
	err = try(func() { v = js.Global().Get("JSON").Call("parse", s) })
	return v, err
}

// stringify is JSON.stringify.
func stringify(v js.Value) (s string, err error) {
	err = try(func() {
		r := js.Global().Get("JSON").Call("stringify", v)
		if r.Type() == js.TypeString {
			s = r.String()
		} else {
			s = "null"
		}
	})
	return s, err
}

// str reads a string property, "" when absent or of another type.
func str(v js.Value, key string) string {
	if v.Type() != js.TypeObject {
		return ""
	}
	p := v.Get(key)
	if p.Type() != js.TypeString {
		return ""
	}
	return p.String()
}

// strings reads an array of strings.
func stringsOf(v js.Value) []string {
	if v.Type() != js.TypeObject || !js.Global().Get("Array").Call("isArray", v).Bool() {
		return nil
	}
	n := v.Length()
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if e := v.Index(i); e.Type() == js.TypeString {
			out = append(out, e.String())
		}
	}
	return out
}

// rejections reads an array of {channel, reason}.
func rejections(v js.Value) []shared.Rejection {
	if v.Type() != js.TypeObject || !js.Global().Get("Array").Call("isArray", v).Bool() {
		return nil
	}
	n := v.Length()
	out := make([]shared.Rejection, 0, n)
	for i := 0; i < n; i++ {
		e := v.Index(i)
		out = append(out, shared.Rejection{Channel: str(e, "channel"), Reason: str(e, "reason")})
	}
	return out
}

// stringArray makes a JavaScript array of strings.
func stringArray(ss []string) js.Value {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return js.ValueOf(a)
}

// parseConnected reads the data of a "connected" event. The session key
// is returned apart, and left out of c and of redacted (data without it),
// so that handlers, and the logs they write, never see it.
func parseConnected(data string) (c *shared.Connected, key, redacted string, err error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, "", "", err
	}
	if v.Type() != js.TypeObject {
		return nil, "", "", ErrProtocol
	}
	c = &shared.Connected{
		ClientID: str(v, "clientId"),
		Channels: stringsOf(v.Get("channels")),
		Rejected: rejections(v.Get("rejected")),
	}
	if c.ClientID == "" {
		return nil, "", "", ErrProtocol
	}
	if r := v.Get("resumed"); r.Type() == js.TypeBoolean {
		c.Resumed = r.Bool()
	}
	if h := v.Get("heartbeat"); h.Type() == js.TypeNumber {
		c.Heartbeat = int64(h.Float())
	}
	redacted = data
	if k := v.Get("sessionKey"); !k.IsUndefined() {
		key = str(v, "sessionKey")
		v.Delete("sessionKey")
		if redacted, err = stringify(v); err != nil {
			return nil, "", "", err
		}
	}
	return c, key, redacted, nil
}

// parseChannels reads the data of a "channels" event: an object whose
// channels is an array.
func parseChannels(data string) ([]string, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	if v.Type() != js.TypeObject || !js.Global().Get("Array").Call("isArray", v.Get("channels")).Bool() {
		return nil, ErrProtocol
	}
	return stringsOf(v.Get("channels")), nil
}

// parseClosed reads the data of a "closed" event; data that is not an
// object gives an empty reason.
func parseClosed(data string) *shared.Closed {
	v, err := parseJSON(data)
	if err != nil {
		return &shared.Closed{}
	}
	return &shared.Closed{Reason: str(v, "reason")}
}

// parseEnvelope reads the data of a "message" event.
func parseEnvelope(data string) (channel string, payload shared.RawMessage, err error) {
	v, err := parseJSON(data)
	if err != nil {
		return "", nil, err
	}
	if v.Type() != js.TypeObject {
		return "", nil, ErrProtocol
	}
	p, err := stringify(v.Get("payload"))
	if err != nil {
		return "", nil, err
	}
	return str(v, "channel"), shared.RawMessage(p), nil
}

// parseGap reads the data of a "gap" event.
func parseGap(data string) (*shared.Gap, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	if v.Type() != js.TypeObject {
		return nil, ErrProtocol
	}
	return &shared.Gap{LastEventID: str(v, "lastEventId"), Channels: stringsOf(v.Get("channels"))}, nil
}

// parseReconnect reads the data of a "reconnect" event. Retry must be a
// number; it is bounded as serverRetry says, so that it fits and matches the
// delay the client waits.
func parseReconnect(data string) (*shared.Reconnect, error) {
	v, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	if v.Type() != js.TypeObject || v.Get("retry").Type() != js.TypeNumber {
		return nil, ErrProtocol
	}
	d := serverRetry(v.Get("retry").Float())
	return &shared.Reconnect{Reason: str(v, "reason"), Retry: d.Milliseconds()}, nil
}

// retryAfter reads the Retry-After header of a Response: seconds, or an
// HTTP date read by Date.parse. It is 0 when absent or unreadable (a
// cross-origin answer shows it only if the server lists it in
// Access-Control-Expose-Headers).
func retryAfter(resp js.Value) time.Duration {
	var v js.Value
	if err := try(func() { v = resp.Get("headers").Call("get", "Retry-After") }); err != nil || v.Type() != js.TypeString {
		return 0
	}
	s := v.String()
	if d, ok := retryAfterSeconds(s); ok {
		return d
	}
	date := js.Global().Get("Date")
	at := date.Call("parse", s).Float()
	if at != at { // NaN
		return 0
	}
	return time.Duration((at - date.Call("now").Float()) * float64(time.Millisecond))
}
