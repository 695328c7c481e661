package server

import (
	"errors"

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
