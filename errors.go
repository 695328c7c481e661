package ssevent

import (
	"errors"
	"net/http"

	"github.com/ssevent/ssevent/shared"
)

// Errors returned by the Hub. Test for them with errors.Is; returned errors
// may wrap them with detail.
var (
	// ErrClosed is returned by every method once Close has been called.
	ErrClosed = errors.New("ssevent: hub closed")
	// ErrUnknownClient means no session has the given client id.
	ErrUnknownClient = errors.New("ssevent: unknown client")
	// ErrPayloadTooLarge means the encoded payload exceeds
	// Config.MaxPayloadSize.
	ErrPayloadTooLarge = errors.New("ssevent: payload too large")
	// ErrTooManyChannels means the client would hold more than
	// Config.MaxChannelsPerClient channels.
	ErrTooManyChannels = errors.New("ssevent: too many channels")
	// ErrInvalidChannel means a channel name is empty, too long, not
	// UTF-8, or holds a comma or a control character. It is
	// shared.ErrInvalidChannel.
	ErrInvalidChannel = shared.ErrInvalidChannel
	// ErrInvalidEvent means a custom event name is not allowed. It is
	// shared.ErrInvalidEventName.
	ErrInvalidEvent = shared.ErrInvalidEventName
	// ErrTooManyConnections means the hub holds Config.MaxTotalConnections
	// streams already.
	ErrTooManyConnections = errors.New("ssevent: too many connections")
	// ErrUnavailable is wrapped by the errors of calls that could not
	// reach the broker's shared store in time (Redis down or hanging).
	// Nothing was done; the call may be retried.
	ErrUnavailable = errors.New("ssevent: broker unavailable")
	// ErrInvalidConfig is wrapped by the error of Config.Validate.
	ErrInvalidConfig = errors.New("ssevent: invalid config")
)

// HTTPError is the error a hook (Config.OnConnect, Identify, OnSubscribe)
// returns to refuse a request with a 4xx status: the client gets Code and
// a JSON body whose message is Message (or the status text). Hooks may
// wrap it; any other error is a 500.
type HTTPError struct {
	// Code is the HTTP status, 400 to 499.
	Code int
	// Message is told to the client. Empty means the status text.
	Message string
}

// Error returns the status and the message.
func (e *HTTPError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return "ssevent: " + http.StatusText(e.Code) + ": " + msg
}
