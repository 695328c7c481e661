//go:build !(js && wasm)

package wasmclient

import "context"

// Client is a connection to an ssevent hub. Create it with Connect; it is
// safe for concurrent use. Outside a browser (GOOS=js GOARCH=wasm) every
// method reports ErrUnsupported or a closed state.
type Client struct {
	done chan struct{}
}

// Connect starts a client for the hub's endpoint at url (absolute, or
// relative to the page's location) and returns at once: the stream opens in
// the background and events reach the handlers registered with On. Invalid
// Options.Channels stop the client at once with an "error" event.
//
// Outside a browser the client is closed from the start and Err returns
// ErrUnsupported.
func Connect(url string, opts Options) *Client {
	c := &Client{done: make(chan struct{})}
	close(c.done)
	return c
}

// On registers h for the event name and returns a function that removes
// this registration (safe to call more than once). Handlers of one name run
// in the order they were registered.
func (c *Client) On(event string, h Handler) (remove func()) { return func() {} }

// Off removes every handler of the event name.
func (c *Client) Off(event string) {}

// ClientID is the id the hub gave, or "" before the first "connected".
func (c *Client) ClientID() string { return "" }

// Channels is the client's channel set as the hub last reported it.
func (c *Client) Channels() []string { return nil }

// IsConnected reports whether a stream is open and the hub has sent
// "connected" on it.
func (c *Client) IsConnected() bool { return false }

// ReadyState is StateConnecting (0), StateOpen (1) or StateClosed (2).
func (c *Client) ReadyState() int { return StateClosed }

// Err is why the client stopped for good, or nil while it runs or after
// Close.
func (c *Client) Err() error { return ErrUnsupported }

// Done is closed when the client has stopped, by Close or for good.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close stops the client: the stream and any request in flight are
// aborted, no further request is made, and no handler is called after the
// one running, if any, returns. It is idempotent and returns nil.
func (c *Client) Close() error { return nil }

// Subscribe asks the hub to add channels to the client's set and waits for
// its answer (first for a connection, if there is none). Channels the hub
// refused are reported by a *RejectedError (errors.Is(err, ErrRejected));
// the others were added. A refused request gives a *StatusError.
func (c *Client) Subscribe(channels ...string) error { return ErrUnsupported }

// Unsubscribe asks the hub to remove channels from the client's set and
// waits for its answer. See Subscribe.
func (c *Client) Unsubscribe(channels ...string) error { return ErrUnsupported }

// SubscribeContext is Subscribe with a context bounding the call: when ctx
// is canceled the call returns an error wrapping ErrAborted and
// context.Canceled; when its deadline passes, or Options.RequestTimeout
// when ctx has no deadline, one wrapping ErrTimeout and
// context.DeadlineExceeded. The request in flight is then aborted; the
// server may have applied it.
func (c *Client) SubscribeContext(ctx context.Context, channels ...string) error {
	return ErrUnsupported
}

// UnsubscribeContext is Unsubscribe with a context bounding the call. See
// SubscribeContext.
func (c *Client) UnsubscribeContext(ctx context.Context, channels ...string) error {
	return ErrUnsupported
}
