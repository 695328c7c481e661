package echov5

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/ssevent/ssevent"
)

// Hub is the ssevent hub mounted in Echo v5: the core hub of package
// ssevent with an echo.HandlerFunc, and hooks that see the *echo.Context.
// Create it with New; all methods are safe for concurrent use.
type Hub struct {
	core *ssevent.Hub
}

// New returns a Hub configured by cfg, with zero fields set to their
// defaults. It panics if cfg.Validate reports an error, or if the broker
// fails to start: both are programming errors best found at start-up.
func New(cfg Config) *Hub {
	h, err := NewHub(cfg)
	if err != nil {
		panic(err)
	}
	return h
}

// NewHub is New returning the error instead of panicking.
func NewHub(cfg Config) (*Hub, error) {
	core, err := ssevent.NewHub(cfg.core())
	if err != nil {
		return nil, err
	}
	return &Hub{core: core}, nil
}

// Core returns the framework-free hub underneath, whose methods take a
// context.Context, and which is also an http.Handler.
func (h *Hub) Core() *ssevent.Hub { return h.core }

// contextKey is the request context key of the *echo.Context of a request
// the hub serves.
type contextKey struct{}

// Handler is the hub's echo.HandlerFunc: mount it for GET and POST on one
// route, e.Any("/events", hub.Handler). GET opens an event stream and
// returns when the stream ends, so that Echo's middleware (RequestLogger,
// Recover, tracing) sees the whole stream; POST subscribes and
// unsubscribes; other methods get 405. Refusals are JSON {"error",
// "message"} bodies written here; Handler returns nil for them, so Echo's
// error handler does not rewrite them.
func (h *Hub) Handler(c *echo.Context) error {
	r := c.Request()
	r = r.WithContext(context.WithValue(r.Context(), contextKey{}, c))
	c.SetRequest(r)
	h.core.ServeHTTP(writerFor(c.Response()), r)
	return nil
}

// writerFor returns the writer the hub answers through, given the one Echo
// hands the handler: Echo's Response, or a middleware's writer around it.
// Either way Echo's Response.Flush, which panics when the writer beneath
// cannot flush, is never called: flushes go through
// http.ResponseController to the writers beneath it.
func writerFor(w http.ResponseWriter) http.ResponseWriter {
	if r, ok := w.(*echo.Response); ok {
		return response{r}
	}
	if flusherOf(w) == nil {
		// The hub refuses to stream through a writer that cannot flush
		// (500 streaming_unsupported): it must see none.
		return unflushable{w}
	}
	return wrapped{w}
}

// response is Echo's Response, told the bytes the hub writes beneath it
// so that Echo's RequestLogger counts a stream's bytes. Writes go through
// Echo's Response (its Before and After hooks, status and size); flushes,
// deadlines and the takeover reach the writer beneath it through Unwrap.
type response struct{ r *echo.Response }

func (w response) Header() http.Header         { return w.r.Header() }
func (w response) WriteHeader(code int)        { w.r.WriteHeader(code) }
func (w response) Write(b []byte) (int, error) { return w.r.Write(b) }

// Unwrap returns the writer beneath Echo's Response.
func (w response) Unwrap() http.ResponseWriter { return w.r.ResponseWriter }

// CountBypassed implements ssevent.BypassCounter.
func (w response) CountBypassed(n int64) { w.r.Size += n }

// wrapped is a middleware's writer around Echo's Response (Compress,
// BodyDump): the hub writes and flushes through it, so the stream stays
// on the standard path, where the middleware sees every byte.
type wrapped struct{ http.ResponseWriter }

// FlushError flushes the middleware's writer, or what it wraps.
func (w wrapped) FlushError() error {
	if f := flusherOf(w.ResponseWriter); f != nil {
		return f()
	}
	return http.ErrNotSupported
}

// Unwrap returns the middleware's writer, for deadlines.
func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// unflushable is a writer that cannot flush.
type unflushable struct{ http.ResponseWriter }

// flusherOf returns how to flush w: by the first writer in the chain of
// Unwrap methods from w that flushes, Echo's Response excepted (its Flush
// panics when the writer beneath it cannot flush: the chain goes on
// beneath it). It returns nil when nothing in the chain flushes.
func flusherOf(w http.ResponseWriter) func() error {
	for range 32 { // a chain deeper than this is not worth following
		switch t := w.(type) {
		case *echo.Response:
			w = t.ResponseWriter
		case interface{ FlushError() error }:
			return t.FlushError
		case http.Flusher:
			return func() error { t.Flush(); return nil }
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
		if w == nil {
			return nil
		}
	}
	return nil
}

// contextOf returns the *echo.Context Handler stored in r.
func contextOf(r *http.Request) *echo.Context {
	c, _ := r.Context().Value(contextKey{}).(*echo.Context)
	return c
}

// coreError turns an error with an HTTP status a hook returned (an
// *echo.HTTPError, echo.ErrUnauthorized and the other echo.HTTPStatusCoder
// errors) into the core's *ssevent.HTTPError, with the *echo.HTTPError's
// message or, as Echo's error handler does, the status text. Other errors
// are returned as they are.
func coreError(err error) error {
	var sc echo.HTTPStatusCoder
	if err == nil || !errors.As(err, &sc) || sc.StatusCode() == 0 {
		return err
	}
	var msg string
	if he, ok := sc.(*echo.HTTPError); ok {
		msg = he.Message
	}
	return &ssevent.HTTPError{Code: sc.StatusCode(), Message: msg}
}

// Send publishes data, encoded as JSON, to the subscribers of channel as a
// "message" event with data {"channel": channel, "payload": data}. It
// returns once the event is queued for every subscriber; clients that are
// reconnecting get it by replay. Sending to a channel without subscribers
// is not an error. Core().Send takes a context.
func (h *Hub) Send(channel string, data any) error {
	return h.core.Send(context.Background(), channel, data)
}

// SendTo publishes data to one client. Without an event name it arrives as
// a "message" event with data {"channel": "", "payload": data}; with one,
// as that event with data being the payload JSON. A client that is
// reconnecting within the resume window gets it when it resumes.
func (h *Hub) SendTo(clientID string, data any, event ...string) error {
	return h.core.SendTo(context.Background(), clientID, data, event...)
}

// Broadcast publishes data to every client, as SendTo does for one.
func (h *Hub) Broadcast(data any, event ...string) error {
	return h.core.Broadcast(context.Background(), data, event...)
}

// Subscribe adds channels to a client's set, bypassing OnSubscribe, and
// tells the client its new set (a "channels" event). It is all or nothing:
// an invalid name (ErrInvalidChannel), an unknown client
// (ErrUnknownClient) or a set over the limit (ErrTooManyChannels) changes
// nothing.
func (h *Hub) Subscribe(clientID string, channels ...string) error {
	return h.core.Subscribe(context.Background(), clientID, channels...)
}

// Unsubscribe removes channels from a client's set, and tells the client
// its new set (a "channels" event). With no channels it ends the client's
// session: the stream gets a "closed" event and ends, and the session is
// forgotten (it cannot resume). Unsubscribing a channel not held is not an
// error.
func (h *Hub) Unsubscribe(clientID string, channels ...string) error {
	return h.core.Unsubscribe(context.Background(), clientID, channels...)
}

// ClientCount returns the number of open streams. With a ClusterBroker it
// counts the streams of every live hub, as their presence last told.
func (h *Hub) ClientCount() int { return h.core.ClientCount(context.Background()) }

// ClientsByChannel returns the ids of the clients with an open stream that
// are subscribed to channel, sorted. With a ClusterBroker it lists those
// of every live hub, as their presence last told.
func (h *Hub) ClientsByChannel(channel string) []string {
	return h.core.ClientsByChannel(context.Background(), channel)
}

// ClearClients disconnects every client and forgets every session (of
// every hub, with a ClusterBroker).
func (h *Hub) ClearClients() { h.core.ClearClients(context.Background()) }

// Stats returns a snapshot of the hub's state and counters
// (ssevent.Stats).
func (h *Hub) Stats() Stats { return h.core.Stats() }

// Channels lists, sorted by name, the channels with at least one
// subscriber with an open stream, and how many: at most limit of them
// (MaxChannelsListed when limit is not in 1..MaxChannelsListed), each
// sorting after after ("" for the first page; the last name of a page for
// the next). With Redis it lists the cluster's.
func (h *Hub) Channels(after string, limit int) []ChannelInfo {
	return h.core.Channels(context.Background(), after, limit)
}

// Close shuts the hub down: new streams and calls are refused with
// ErrClosed, open streams write what is queued and end, and Close waits for
// their writers until ctx is done. Sessions are not kept. Calling Close
// again returns ErrClosed.
func (h *Hub) Close(ctx context.Context) error { return h.core.Close(ctx) }
