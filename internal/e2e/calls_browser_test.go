//go:build !(js && wasm)

package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ssevent/ssevent/server"
)

// eachSharing runs f with the client in the page and shared through the
// worker.
func eachSharing(t *testing.T, f func(t *testing.T, shared bool)) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) { f(t, shared) })
	}
}

// The options of connect and of subscribe/unsubscribe calls are checked
// like the others; an AbortSignal stops a call, also one made before the
// wasm is running, and the server never hears of it.
func TestBrowserShimCallOptions(t *testing.T) {
	eachSharing(t, func(t *testing.T, shared bool) {
		p := open(t, "shim", server.Config{}, map[string]any{"shared": shared, "channels": []string{"news"}})
		p.connected(0, 1)
		eval[bool](p, `
window.settle = (p) => p.then((r) => 'resolved ' + JSON.stringify(r.channels.sort()), (e) => (e.code ? 'code ' + e.code : e.name + ': ' + e.message));
window.throws = (f) => { try { const c = f(); if (c && c.close) c.close(); return 'returned'; } catch (e) { return e.name + ': ' + e.message; } };
true`)
		tests := []struct{ name, expr, want string }{
			{"connectTimeout string", `throws(() => SSEvent.connect('/events', { connectTimeout: '5' }))`, "TypeError: ssevent: option connectTimeout must be a number, got a string"},
			{"requestTimeout negative", `throws(() => SSEvent.connect('/events', { requestTimeout: -1 }))`, "RangeError: ssevent: option requestTimeout must be a finite number of milliseconds"},
			{"shared string", `throws(() => SSEvent.connect('/events', { shared: 'yes' }))`, "TypeError: ssevent: option shared must be a boolean, got a string"},
			{"workerURL number", `throws(() => SSEvent.connect('/events', { workerURL: 1 }))`, "TypeError: ssevent: option workerURL must be a string"},
			{"timeouts valid", `throws(() => SSEvent.connect('/events', { connectTimeout: 0, requestTimeout: 2500, shared: ` + fmt.Sprint(shared) + ` }))`, "returned"},
			{"unknown call option", `settle(clients[0].subscribe('a', { sigal: null }))`, "TypeError: ssevent: subscribe: unknown option sigal (signal, timeout)"},
			{"signal not a signal", `settle(clients[0].subscribe('a', { signal: {} }))`, "TypeError: ssevent: subscribe: option signal must be an AbortSignal, got an object"},
			{"timeout string", `settle(clients[0].unsubscribe('a', { timeout: '1' }))`, "TypeError: ssevent: unsubscribe: option timeout must be a number, got a string"},
			{"timeout negative", `settle(clients[0].subscribe('a', { timeout: -5 }))`, "RangeError: ssevent: subscribe: option timeout must be a finite number"},
			{"no channel", `settle(clients[0].subscribe({ timeout: 10 }))`, "TypeError: ssevent: subscribe: no channel name given"},
			{"comma in a name", `settle(clients[0].subscribe('a,b'))`, "code invalid_channel"},
			{"empty name", `settle(clients[0].unsubscribe('news', ''))`, "code invalid_channel"},
			{"control character", `settle(clients[0].subscribe('a\u0007'))`, "code invalid_channel"},
			{"aborted signal", `settle(clients[0].subscribe('gone', { signal: AbortSignal.abort() }))`, "code aborted"},
			{"aborted before ready", `(() => { const c = SSEvent.connect('/events', { shared: ` + fmt.Sprint(shared) + ` }); const ac = new AbortController(); const r = settle(c.subscribe('early', { signal: ac.signal })); ac.abort(); return r.finally(() => c.close()); })()`, "code aborted"},
			{"with options", `settle(clients[0].subscribe('sports', { signal: new AbortController().signal, timeout: 5000 }))`, `resolved ["default","news","sports"]`},
			{"unsubscribe with options", `settle(clients[0].unsubscribe('sports', { timeout: 5000 }))`, `resolved ["default","news"]`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := eval[string](p, tt.expr); !strings.HasPrefix(got, tt.want) {
					t.Errorf("%s\n got %q\nwant %q…", tt.expr, got, tt.want)
				}
			})
		}
		for _, ch := range []string{"a", "gone", "early"} {
			if ids := p.hub.ClientsByChannel(ch); len(ids) != 0 {
				t.Errorf("refused or aborted calls reached the server: %s has %v", ch, ids)
			}
		}
	})
}

// A wasm that fails to load gives an error with code "wasm_load", and a
// later connect loads it again.
func TestBrowserShimWasmLoadRetried(t *testing.T) {
	eachSharing(t, func(t *testing.T, shared bool) {
		p := open(t, "shim", server.Config{}, map[string]any{"shared": shared, "wasmURL": "/ssevent/missing.wasm"})
		p.wait(`window.events && events.some((e) => e.type === 'error')`)
		errs := p.events(`e.type === 'error'`)
		if errs[0].Code != "wasm_load" || !strings.Contains(errs[0].Message, "missing.wasm") {
			t.Fatalf("error %+v, want code wasm_load naming the file", errs[0])
		}
		if st := eval[int](p, "app.state(0)"); st != 2 {
			t.Errorf("readyState %d after the load failed, want 2", st)
		}
		got := eval[string](p, fmt.Sprintf(`new Promise((resolve) => {
  const c = SSEvent.connect('/events', { shared: %v });
  c.on('connected', (ev) => resolve('connected ' + !!ev.data.clientId));
  c.on('error', (ev) => resolve('error ' + ev.error.code));
})`, shared))
		if got != "connected true" {
			t.Fatalf("connect after a failed load: %s", got)
		}
	})
}
