//go:build !(js && wasm)

package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ssevent/ssevent/server"
)

// The shim refuses what it cannot use as asked, never coercing it: channel
// names that are not strings (a rejected Promise from subscribe and
// unsubscribe), and options of the wrong type or out of range (thrown by
// connect, and by connectSSE of the ES module), each error naming what is
// wrong.
func TestBrowserShimRefusesWrongTypes(t *testing.T) {
	p := open(t, "shim", server.Config{}, nil)
	p.connected(0, 1)
	// settle turns a Promise into "resolved" or the name and message of its
	// rejection; throws turns a call into "returned" or what it threw.
	const helpers = `
window.settle = (f) => { try { return f().then(() => 'resolved', (e) => e.name + ': ' + e.message); } catch (e) { return 'threw ' + e.name; } };
window.throws = (f) => { try { const c = f(); if (c && c.close) c.close(); return 'returned'; } catch (e) { return e.name + ': ' + e.message; } };
true`
	eval[bool](p, helpers)
	tests := []struct {
		name string
		expr string
		want string // a prefix of the result
	}{
		{"subscribe number", `settle(() => clients[0].subscribe(42))`, "TypeError: ssevent: subscribe: a channel name must be a string, got a number at index 0"},
		{"subscribe array", `settle(() => clients[0].subscribe(['a', 'b']))`, "TypeError: ssevent: subscribe: a channel name must be a string, got an array"},
		{"subscribe object", `settle(() => clients[0].subscribe({}))`, "TypeError: ssevent: subscribe: no channel name given"},
		{"subscribe second name", `settle(() => clients[0].subscribe('ok', null))`, "TypeError: ssevent: subscribe: a channel name must be a string, got null at index 1"},
		{"unsubscribe number", `settle(() => clients[0].unsubscribe(42))`, "TypeError: ssevent: unsubscribe: a channel name must be a string"},
		{"subscribe strings", `settle(() => clients[0].subscribe('news'))`, "resolved"},
		{"channels option string", `throws(() => SSEvent.connect('/events', { channels: 'a' }))`, "TypeError: ssevent: option channels must be an array of strings, got a string"},
		{"channels option number", `throws(() => SSEvent.connect('/events', { channels: ['a', 42] }))`, "TypeError: ssevent: option channels: a channel name must be a string, got a number at index 1"},
		{"channels option object", `throws(() => SSEvent.connect('/events', { channels: [{}] }))`, "TypeError: ssevent: option channels: a channel name must be a string"},
		{"reconnectDelay string", `throws(() => SSEvent.connect('/events', { reconnectDelay: '2' }))`, "TypeError: ssevent: option reconnectDelay must be a number, got a string"},
		{"reconnectDelay negative", `throws(() => SSEvent.connect('/events', { reconnectDelay: -1 }))`, "RangeError: ssevent: option reconnectDelay must be a finite number"},
		{"reconnectDelay NaN", `throws(() => SSEvent.connect('/events', { reconnectDelay: NaN }))`, "RangeError: ssevent: option reconnectDelay"},
		{"maxReconnectDelay Infinity", `throws(() => SSEvent.connect('/events', { maxReconnectDelay: Infinity }))`, "RangeError: ssevent: option maxReconnectDelay"},
		{"maxReconnectAttempts string", `throws(() => SSEvent.connect('/events', { maxReconnectAttempts: 'x' }))`, "TypeError: ssevent: option maxReconnectAttempts must be a number, got a string"},
		{"maxReconnectAttempts negative", `throws(() => SSEvent.connect('/events', { maxReconnectAttempts: -1 }))`, "RangeError: ssevent: option maxReconnectAttempts must be 0 or more"},
		{"autoReconnect string", `throws(() => SSEvent.connect('/events', { autoReconnect: 'false' }))`, "TypeError: ssevent: option autoReconnect must be a boolean, got a string"},
		{"withCredentials number", `throws(() => SSEvent.connect('/events', { withCredentials: 1 }))`, "TypeError: ssevent: option withCredentials must be a boolean"},
		{"headers string", `throws(() => SSEvent.connect('/events', { headers: 'Authorization: x' }))`, "TypeError: ssevent: option headers must be an object or a function, got a string"},
		{"baseURL number", `throws(() => SSEvent.connect('/events', { baseURL: 1 }))`, "TypeError: ssevent: option baseURL must be a string"},
		{"options string", `throws(() => SSEvent.connect('/events', 'news'))`, "TypeError: ssevent: options must be an object, got a string"},
		{"valid options", `throws(() => SSEvent.connect('/events', { reconnectDelay: 0, maxReconnectAttempts: Infinity, maxReconnectDelay: 500, autoReconnect: null, channels: ['a'], headers: { A: 'b' } }))`, "returned"},
		{"no options", `throws(() => SSEvent.connect('/events'))`, "returned"},
		{"module reconnectDelay string", `import('/ssevent/ssevent.mjs').then((m) => throws(() => m.connectSSE('/events', { reconnectDelay: '2' })))`, "TypeError: ssevent: option reconnectDelay must be a number"},
		{"module options string", `import('/ssevent/ssevent.mjs').then((m) => throws(() => m.connectSSE('/events', 'news')))`, "TypeError: ssevent: options must be an object, got a string"},
		{"module valid options", `import('/ssevent/ssevent.mjs').then((m) => throws(() => m.connectSSE('/events', { channels: ['a'] })))`, "returned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := eval[string](p, tt.expr)
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("%s\n got %q\nwant %q…", tt.expr, got, tt.want)
			}
		})
	}
	// The refused calls sent nothing: the client holds what it asked for.
	if got := fmt.Sprint(eval[[]string](p, "clients[0].getChannels()")); !strings.Contains(got, "news") {
		t.Errorf("channels %s, want news among them", got)
	}
}
