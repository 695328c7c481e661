package wasmclient

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// Event names a handler can be registered for with Client.On. Any other name
// is a custom event the server sends with SendTo or Broadcast.
const (
	// EventOpen is emitted when a stream opens, before "connected".
	EventOpen = shared.EventOpen
	// EventConnected is emitted when the hub has accepted the stream;
	// Event.Connected and Event.ClientID are set.
	EventConnected = shared.EventConnected
	// EventMessage is a channel message (or a SendTo/Broadcast without an
	// event name); Event.Channel and Event.Payload are set.
	EventMessage = shared.EventMessage
	// EventError reports a failure; Event.Err is set. It is followed by
	// EventReconnecting unless the client stops for good.
	EventError = shared.EventError
	// EventReconnecting is emitted before the client waits to reconnect;
	// Event.Attempt and Event.Delay are set. Attempt is 0 when the server
	// asked for the reconnection with EventReconnect.
	EventReconnecting = shared.EventReconnecting
	// EventGap says that events missed while disconnected are no longer
	// held by the hub; Event.Gap is set. Reload the application's state.
	EventGap = shared.EventGap
	// EventHeartbeat is the hub's keep-alive; Event.Data is its time in Unix
	// milliseconds.
	EventHeartbeat = shared.EventHeartbeat
	// EventReconnect is the last event of a stream the server ends because
	// it shuts down or restarts; Event.Reconnect is set. The client then
	// reconnects by itself after the delay the server named (see
	// MaxServerRetry), keeping its id, channels and last event id: handle
	// it only to tell the user.
	EventReconnect = shared.EventReconnect
	// EventChannels says that the server changed the client's channel set
	// (a server-side Subscribe or Unsubscribe, or channels dropped when
	// the server checked its permissions again); Event.Channels is set.
	// The client has already made it its own: Channels returns it and the
	// next reconnection asks for exactly these.
	EventChannels = shared.EventChannels
	// EventClosed is the last event of a session the server ended for
	// good; Event.Closed is set. The client does not reconnect: it stops
	// with ErrSessionEnded (an "error" event follows).
	EventClosed = shared.EventClosed
)

// Ready states, as EventSource.readyState reports them.
const (
	// StateConnecting: opening a stream or waiting to reconnect.
	StateConnecting = 0
	// StateOpen: a stream is open.
	StateOpen = 1
	// StateClosed: the client stopped for good.
	StateClosed = 2
)

// Defaults of Options.
const (
	DefaultReconnectDelay    = 3 * time.Second
	DefaultMaxReconnectDelay = 30 * time.Second
	DefaultConnectTimeout    = 10 * time.Second
	DefaultRequestTimeout    = 10 * time.Second
)

// quickRetryBase is the backoff base of the attempts after the first with a
// negative Options.ReconnectDelay (no delay): the first attempt after a
// loss is immediate, and a server that stays down is not asked again and
// again in a tight loop.
const quickRetryBase = 100 * time.Millisecond

// MaxServerRetry bounds the delay a "reconnect" event can ask for: a longer
// one is cut to it. It is not tied to Options.MaxReconnectDelay, which caps
// the client's own backoff after failures: the server spreads its clients'
// returns over its ReconnectJitter, and a client setting should not undo
// that spread.
const MaxServerRetry = 5 * time.Minute

// Options configure a Client. The zero value is ready to use: automatic
// reconnection on, unlimited attempts, a 3 s base delay, 10 s connect and
// request timeouts.
type Options struct {
	// Channels are joined when the stream opens, besides the hub's default
	// channel.
	Channels []string
	// DisableAutoReconnect stops the client at the first dropped or refused
	// stream instead of reconnecting, and also when the server ends the
	// stream with a "reconnect" event (Err then wraps ErrStreamEnded).
	DisableAutoReconnect bool
	// MaxReconnectAttempts is how many consecutive reconnection attempts
	// may fail before the client gives up with ErrMaxReconnectAttempts.
	// Zero means unlimited; a negative value means none: the client gives
	// up at the first failure (the JavaScript client's
	// maxReconnectAttempts: 0). A stream the server ends with a
	// "reconnect" event is not a failure.
	MaxReconnectAttempts int
	// ReconnectDelay is the base of the exponential backoff. Defaults to
	// 3s. Negative means no delay (the JavaScript client's
	// reconnectDelay: 0): the first attempt after a stream was lost or
	// refused is made at once, and the consecutive failed attempts after
	// it back off from 100 ms, so that a client never spins.
	ReconnectDelay time.Duration
	// MaxReconnectDelay caps the backoff. Defaults to 30s, and is never
	// below ReconnectDelay. It does not bound the delay a "reconnect"
	// event asks for (see MaxServerRetry).
	MaxReconnectDelay time.Duration
	// ConnectTimeout bounds the wait for the response headers of a stream
	// request: a request still unanswered after it is abandoned, reported
	// as an "error" event with ErrConnectTimeout and retried like any
	// failed attempt. Defaults to 10s; negative disables.
	ConnectTimeout time.Duration
	// RequestTimeout bounds each Subscribe and Unsubscribe, from the call
	// (including the wait for a connection) to the server's answer: after
	// it the call returns an error wrapping ErrTimeout. Defaults to 10s;
	// negative disables. A ctx of SubscribeContext or UnsubscribeContext
	// that carries a deadline replaces it for that call.
	RequestTimeout time.Duration
	// Headers are sent with every request; use it for an Authorization
	// header. The stream request then also carries Last-Event-ID and, on
	// a resumption, the session key (see the package documentation).
	Headers map[string]string
	// HeaderFunc, when set, is called before every request (the stream,
	// each reconnection, each Subscribe and Unsubscribe) for headers to
	// send besides Headers, which it overrides: use it for credentials
	// that expire, such as a bearer token the application refreshes. ctx ends
	// when the request is no longer wanted (Close, or the context of
	// SubscribeContext). It runs on a goroutine of the client, never on a
	// handler's, and may block (to refresh a token), though the request
	// waits meanwhile. An error fails that request: the stream backs off
	// and tries again as after a network error, and Subscribe returns it;
	// both wrap ErrHeaders.
	//
	// When the server refuses a stream with 401 or 403, the client calls
	// HeaderFunc once more and tries again at once before it gives up
	// (ErrUnauthorized, ErrForbidden); Subscribe and Unsubscribe do the
	// same.
	HeaderFunc func(ctx context.Context) (map[string]string, error)
	// WithCredentials sends cookies and HTTP authentication with
	// cross-origin requests (fetch credentials "include").
	WithCredentials bool
}

// Event is what a handler receives. Type says which fields are set.
type Event struct {
	// Type is the event name: one of the Event constants or a custom name.
	Type string
	// ID is the event id the server gave, if any.
	ID string
	// Data is the event's data as it arrived (JSON for server events).
	Data string
	// Channel is the channel of a "message" event; empty for SendTo and
	// Broadcast without an event name.
	Channel string
	// Payload is the application's JSON: the envelope's payload for a
	// "message" event, the whole data for a custom event.
	Payload shared.RawMessage
	// ClientID is the client's id, set on "connected".
	ClientID string
	// Connected is the data of a "connected" event, without its
	// SessionKey: the client keeps the key to itself (Data lacks it too).
	Connected *shared.Connected
	// Gap is the data of a "gap" event.
	Gap *shared.Gap
	// Reconnect is the data of a "reconnect" event. Retry, in
	// milliseconds, is the delay the client waits: the server's, bounded
	// to [0, MaxServerRetry].
	Reconnect *shared.Reconnect
	// Channels is the client's channel set a "channels" event announces.
	Channels []string
	// Closed is the data of a "closed" event.
	Closed *shared.Closed
	// Err is the failure of an "error" event.
	Err error
	// Attempt is the attempt number (from 1) of a "reconnecting" event
	// after a failure, or 0 when the server asked for the reconnection:
	// that one is not a failure and does not count toward
	// Options.MaxReconnectAttempts.
	Attempt int
	// Delay is how long the client waits before that attempt.
	Delay time.Duration
}

// Handler handles one event. See the package's concurrency contract.
type Handler func(Event)

// Errors of the client. Use errors.Is: returned errors wrap them.
var (
	// ErrUnsupported is returned on platforms other than js/wasm.
	ErrUnsupported = errors.New("ssevent: the client runs only in a browser (GOOS=js GOARCH=wasm)")
	// ErrClosed is returned after Close, or after the client stopped.
	ErrClosed = errors.New("ssevent: client closed")
	// ErrRejected is wrapped by *RejectedError when the server refused
	// some channels of a Subscribe.
	ErrRejected = errors.New("ssevent: channels rejected")
	// ErrUnauthorized is wrapped by a *StatusError for a 401 answer.
	ErrUnauthorized = errors.New("ssevent: unauthorized")
	// ErrForbidden is wrapped by a *StatusError for a 403 answer.
	ErrForbidden = errors.New("ssevent: forbidden")
	// ErrMaxReconnectAttempts is the final error once
	// Options.MaxReconnectAttempts attempts have failed.
	ErrMaxReconnectAttempts = errors.New("ssevent: too many failed reconnection attempts")
	// ErrStreamEnded reports a stream that ended or broke.
	ErrStreamEnded = errors.New("ssevent: stream ended")
	// ErrStale reports a stream silent for three heartbeat intervals.
	ErrStale = errors.New("ssevent: no event for three heartbeat intervals")
	// ErrProtocol reports an answer that does not follow the protocol.
	ErrProtocol = errors.New("ssevent: protocol error")
	// ErrSessionEnded is the final error once the server ended the
	// session for good with a "closed" event.
	ErrSessionEnded = errors.New("ssevent: the server ended the session")
	// ErrHeaders is wrapped with the error of Options.HeaderFunc.
	ErrHeaders = errors.New("ssevent: the headers function failed")
	// ErrConnectTimeout reports a stream request whose response headers
	// did not arrive within Options.ConnectTimeout. The client retries.
	ErrConnectTimeout = errors.New("ssevent: no answer to the stream request within the connect timeout")
	// ErrTimeout is wrapped, with context.DeadlineExceeded, by the error
	// of a Subscribe or Unsubscribe that took longer than
	// Options.RequestTimeout or its ctx's deadline.
	ErrTimeout = errors.New("ssevent: request timed out")
	// ErrAborted is wrapped, with context.Canceled, by the error of a
	// SubscribeContext or UnsubscribeContext whose ctx was canceled.
	ErrAborted = errors.New("ssevent: request aborted")
	// ErrStopped is the final error once the server answered the stream
	// request with 204 No Content, the event-stream way of saying "do not
	// reconnect".
	ErrStopped = errors.New("ssevent: the server asked the client to stop (204 No Content)")
)

// callError is the error of a call its context ended: the client's
// sentinel (ErrTimeout, ErrAborted) joined with the context's error.
type callError struct {
	sentinel, cause error
}

func (e *callError) Error() string { return e.sentinel.Error() }

func (e *callError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// contextError turns a context's error into one that also wraps ErrTimeout
// (for a deadline) or ErrAborted (for a cancellation).
func contextError(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &callError{ErrTimeout, err}
	case errors.Is(err, context.Canceled):
		return &callError{ErrAborted, err}
	}
	return err
}

// StatusError is a refusal from the server: an HTTP status and, when the
// body followed the protocol, its code and message (shared.ErrorResponse).
type StatusError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter is the delay a 503 or 429 answer asked for in its
	// Retry-After header (seconds or an HTTP date), 0 when it named none.
	// The client waits that long before its next attempt (see
	// Options.MaxReconnectDelay).
	RetryAfter time.Duration
}

// Error describes the refusal: status, code and message.
func (e *StatusError) Error() string {
	s := "ssevent: server answered " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is makes errors.Is(err, ErrUnauthorized) and errors.Is(err, ErrForbidden)
// true for 401 and 403.
func (e *StatusError) Is(target error) bool {
	return (target == ErrUnauthorized && e.Status == 401) ||
		(target == ErrForbidden && e.Status == 403)
}

// fatal reports whether a refusal must stop reconnection.
func (e *StatusError) fatal() bool { return e.Status == 401 || e.Status == 403 }

// RejectedError lists the channels the server refused in a Subscribe. The
// other channels were applied.
type RejectedError struct {
	Rejected []shared.Rejection
}

// Error lists the rejected channels with their reasons.
func (e *RejectedError) Error() string {
	s := "ssevent: channels rejected:"
	for i, r := range e.Rejected {
		if i > 0 {
			s += ","
		}
		s += " " + r.Channel + " (" + r.Reason + ")"
	}
	return s
}

// Unwrap returns ErrRejected.
func (e *RejectedError) Unwrap() error { return ErrRejected }

// JSError is a JavaScript exception or rejection turned into a Go error.
type JSError struct {
	Name    string
	Message string
}

// Error gives the exception's name and message.
func (e *JSError) Error() string {
	if e.Name == "" {
		return "ssevent: javascript: " + e.Message
	}
	return "ssevent: javascript " + e.Name + ": " + e.Message
}

// Backoff computes reconnection delays: full jitter over an exponentially
// growing ceiling, with a floor so that a client never spins.
type Backoff struct {
	// Base is the first ceiling; zero means DefaultReconnectDelay.
	Base time.Duration
	// Max caps the ceiling; zero means DefaultMaxReconnectDelay.
	Max time.Duration
}

// Ceiling is min(Max, Base·2^(attempt-1)) for attempt ≥ 1.
func (b Backoff) Ceiling(attempt int) time.Duration {
	base, max := b.limits()
	if attempt < 1 {
		attempt = 1
	}
	c := float64(base) * math.Pow(2, float64(attempt-1))
	if c >= float64(max) {
		return max
	}
	return time.Duration(c)
}

// Delay is the wait before the given attempt (from 1) for a uniform random
// r in [0, 1): Base/10 + r·(Ceiling(attempt) − Base/10).
func (b Backoff) Delay(attempt int, r float64) time.Duration {
	base, _ := b.limits()
	floor := base / 10
	c := b.Ceiling(attempt)
	if r < 0 {
		r = 0
	}
	if r >= 1 {
		r = math.Nextafter(1, 0)
	}
	return floor + time.Duration(r*float64(c-floor))
}

// retryAfterSeconds reads a Retry-After header in seconds (an HTTP date is read by
// the caller, with the browser's Date.parse). ok is false when v is not a
// number of seconds.
func retryAfterSeconds(v string) (d time.Duration, ok bool) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// retryAfterBound bounds a Retry-After delay: to [0, MaxReconnectDelay]
// when that is set, else to [0, MaxServerRetry].
func (o *Options) retryAfterBound(d time.Duration) time.Duration {
	max := MaxServerRetry
	if o.MaxReconnectDelay > 0 {
		max = o.MaxReconnectDelay
	}
	switch {
	case d < 0:
		return 0
	case d > max:
		return max
	}
	return d
}

// reconnectWait is the delay before the failed attempt number attempt
// (from 1), for a uniform random r in [0, 1).
func (o *Options) reconnectWait(attempt int, r float64) time.Duration {
	if o.ReconnectDelay >= 0 {
		return o.backoff().Delay(attempt, r)
	}
	if attempt <= 1 {
		return 0
	}
	return Backoff{Base: quickRetryBase, Max: o.MaxReconnectDelay}.Delay(attempt-1, r)
}

// connectTimeout is Options.ConnectTimeout with its default; 0 disables.
func (o *Options) connectTimeout() time.Duration {
	switch {
	case o.ConnectTimeout < 0:
		return 0
	case o.ConnectTimeout == 0:
		return DefaultConnectTimeout
	}
	return o.ConnectTimeout
}

// requestTimeout is Options.RequestTimeout with its default; 0 disables.
func (o *Options) requestTimeout() time.Duration {
	switch {
	case o.RequestTimeout < 0:
		return 0
	case o.RequestTimeout == 0:
		return DefaultRequestTimeout
	}
	return o.RequestTimeout
}

func (b Backoff) limits() (base, max time.Duration) {
	base, max = b.Base, b.Max
	if base <= 0 {
		base = DefaultReconnectDelay
	}
	if max <= 0 {
		max = DefaultMaxReconnectDelay
	}
	if max < base {
		max = base
	}
	return base, max
}

// serverRetry turns the retry of a "reconnect" event, in milliseconds, into
// the delay the client waits: negative counts as 0, and anything above
// MaxServerRetry (or not a number) as MaxServerRetry.
func serverRetry(ms float64) time.Duration {
	switch {
	case ms < 0:
		return 0
	case !(ms <= float64(MaxServerRetry/time.Millisecond)): // NaN too
		return MaxServerRetry
	}
	return time.Duration(ms * float64(time.Millisecond))
}

// backoff returns the Backoff of the options.
func (o *Options) backoff() Backoff {
	return Backoff{Base: o.ReconnectDelay, Max: o.MaxReconnectDelay}
}

// validChannels checks channel names with shared.ValidChannel and drops
// duplicates, keeping order.
func validChannels(chs []string) ([]string, error) {
	out := make([]string, 0, len(chs))
	seen := make(map[string]bool, len(chs))
	for _, ch := range chs {
		if err := shared.ValidChannel(ch); err != nil {
			return nil, err
		}
		if !seen[ch] {
			seen[ch] = true
			out = append(out, ch)
		}
	}
	return out, nil
}

// joinChannels formats channels for ?channels=.
func joinChannels(chs []string) string {
	s := ""
	for i, ch := range chs {
		if i > 0 {
			s += ","
		}
		s += ch
	}
	return s
}
