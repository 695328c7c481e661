// Package wasmclient is the browser client of ssevent, written in Go and
// compiled with GOOS=js GOARCH=wasm. It reads the hub's event stream with
// fetch and a ReadableStream (one request per attempt, which tells the
// status and headers of a refusal, and can carry an Authorization header
// from Options.Headers or Options.HeaderFunc), follows the channel
// protocol of package shared, subscribes and unsubscribes with POST requests
// through fetch, and reconnects by itself without losing events. It needs
// fetch, AbortController, URL and timers, nothing of window or document: it
// runs in a page, a Worker or a SharedWorker.
//
// The same client backs the script-tag shim and ES module in package static
// (SSEvent.connect and connectSSE), and Go-WASM applications use it directly:
//
//	c := wasmclient.Connect("/events", wasmclient.Options{Channels: []string{"news"}})
//	defer c.Close()
//	c.On(wasmclient.EventMessage, func(ev wasmclient.Event) {
//		println(ev.Channel, string(ev.Payload))
//	})
//
// On every other platform the package builds (so that go build, go vet and
// go doc work on the host) but Connect returns a client whose methods report
// ErrUnsupported.
//
// # Size
//
// The package imports neither net/http, encoding/json nor fmt: JSON is parsed
// by the browser's JSON.parse through syscall/js and the stream by
// shared.Decoder. docs/CLIENT.md records what the client adds to the Go
// runtime's floor.
//
// # Reconnection
//
// When the stream drops, the client closes it, emits an "error" event and a
// "reconnecting" event, waits, and opens a new stream with
// ?channels=<its channels>&clientId=<its id>&lastEventId=<last id>, so the hub
// resumes the session and replays what was missed, in order and without
// duplicates. The wait before the n-th consecutive attempt is drawn at random
// (full jitter) between a tenth of ReconnectDelay and
// min(MaxReconnectDelay, ReconnectDelay·2^(n-1)); the count starts again after
// each successful "connected". The client stops for good on Close, after
// MaxReconnectAttempts failed attempts (ErrMaxReconnectAttempts), on a
// "closed" event (ErrSessionEnded), when the server answers the stream
// request with 204 No Content (ErrStopped), and when it answers 401 or 403
// (ErrUnauthorized, ErrForbidden; with a HeaderFunc, after one more try
// with fresh headers); any other
// refusal (404, 500, 503…) backs off like a network error, so the client never
// spins, except that a 503 or 429 naming a Retry-After is retried after
// that delay (bounded by MaxReconnectDelay when set, else MaxServerRetry).
// A stream request whose response headers do not come within
// ConnectTimeout is abandoned and retried (ErrConnectTimeout). Each
// Subscribe and Unsubscribe is bounded by RequestTimeout (ErrTimeout) or
// its ctx (ErrAborted when canceled).
//
// A server that shuts down or restarts ends each stream with a "reconnect"
// event naming a delay, which it spreads out among its clients. The client
// delivers that event to its handlers, closes the stream, emits
// "reconnecting" with Attempt 0 and the server's delay, and reconnects after
// exactly that delay, as above: same id, channels and last event id, so
// nothing is lost. No "error" is emitted, the wait is not the backoff, and it
// is not a failed attempt toward MaxReconnectAttempts. The delay is bounded
// to [0, MaxServerRetry] (5 minutes), not by MaxReconnectDelay, which caps
// only the backoff. A "reconnect" event without a numeric retry is a
// protocol error, handled as a dropped stream; a stream that ends without a
// "reconnect" event is a dropped stream.
//
// A stream that stays silent for three heartbeat intervals (the interval the
// hub announces in "connected") is taken as dead and reconnected.
//
// A "closed" event says that the server ended the session for good: the
// client delivers it, closes the stream and stops with ErrSessionEnded (an
// "error" event, then StateClosed) without reconnecting. A "channels" event
// replaces the client's channel set (Channels, and the next reconnection's
// ?channels=); so does every "connected", which on a resumption may have
// dropped channels the server no longer allows (listed in its Rejected).
//
// # Session keys and credentials
//
// When the hub binds a session to the client with a secret key (the
// "sessionKey" of "connected"), the client sends it back in the SSEvent-Key
// header (shared.HeaderSessionKey) on every request that names the session:
// each Subscribe and Unsubscribe, and each resuming stream request when the
// application sends headers of its own. Without them the stream request
// carries no header but Accept, so that a cross-origin one needs no CORS
// preflight: the hub hands the key to it in a cookie, which the browser
// sends by itself (cross-origin only with Options.WithCredentials). The key never appears in a URL, nor in the
// Event handlers receive (it is removed from the "connected" data). The
// client id is not a secret and is still sent in URLs and bodies. A
// "connected" without a key (a hub that binds sessions to the logged-in
// user) means nothing is sent; a resumption that does not repeat the key
// keeps the one the client has, and a new session replaces it.
//
// Options.HeaderFunc supplies credentials that expire: it is called before
// every request, and after a 401 or 403 once more for an immediate second
// try (reported as an "error" and a "reconnecting" with Delay 0) before the
// client gives up.
//
// Event ids are opaque strings (the hub's are "<epoch>-<seq>"): the client
// keeps the last one it received and presents it, never compares them.
//
// # Concurrency
//
// Every method of Client is safe for concurrent use from any goroutine.
// Handlers run one at a time, in the order the events arrived, on a goroutine
// of the client's own: they may block (a handler may call Subscribe) but then
// delay the handlers after them, never the stream. The browser's callbacks
// never block: they copy what they need into a queue, signal, and return.
// Every js.Func the client creates is released when its listener is removed or
// the client closes; JavaScript exceptions become errors (*JSError).
package wasmclient
