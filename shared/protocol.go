package shared

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Event names the server sends. Any other name comes from an application's
// SendTo or Broadcast call.
const (
	// EventConnected is the first event of every stream. Its data is a
	// Connected object.
	EventConnected = "connected"
	// EventMessage carries an Envelope: a channel message, or a SendTo or
	// Broadcast call made without an event name.
	EventMessage = "message"
	// EventHeartbeat is sent every heartbeat interval so that a client can
	// tell a quiet stream from a dead one. Its data is the server's time in
	// Unix milliseconds.
	EventHeartbeat = "heartbeat"
	// EventGap says that events the client asked to replay (with
	// Last-Event-ID) are no longer held by the server. Its data is a Gap
	// object. The application should reload its state.
	EventGap = "gap"
	// EventReconnect is the last event of a stream the server ends because
	// it is shutting down or restarting. Its data is a Reconnect object:
	// the client should reconnect, keeping its id and last event id, after
	// the delay it names, which the server spreads out so that its clients
	// do not all come back at once.
	EventReconnect = "reconnect"
	// EventClosed is the last event of a session the server ended for
	// good (Unsubscribe with no channels, ClearClients). Its data is a
	// Closed object. The client must not reconnect with the same id.
	EventClosed = "closed"
	// EventChannels tells the client that the server changed its channel
	// set (Hub.Subscribe or Hub.Unsubscribe, or a permission re-checked on
	// resume). Its data is a Channels object.
	EventChannels = "channels"
)

// Client-side event names of the browser client. The server never sends an
// event under these names, so a handler for them cannot be confused with a
// server event.
const (
	EventOpen         = "open"
	EventError        = "error"
	EventReconnecting = "reconnecting"
)

// Request parameters of the GET that opens a stream.
const (
	// QueryChannels lists channels to subscribe at connect time,
	// comma-separated: ?channels=news,sport.
	QueryChannels = "channels"
	// QueryClientID asks to resume the session of an earlier stream.
	QueryClientID = "clientId"
	// QueryLastEventID stands in for the Last-Event-ID header for clients
	// that cannot set headers.
	QueryLastEventID = "lastEventId"
	// HeaderLastEventID is the header a browser EventSource sends when it
	// reconnects.
	HeaderLastEventID = "Last-Event-ID"
	// HeaderSessionKey carries a session's key (Connected.SessionKey) on
	// the requests that resume or change the session: a client that can
	// set headers sends it on its stream requests and POSTs.
	HeaderSessionKey = "SSEvent-Key"
	// CookieSessionKey prefixes the name of the cookie, one per session
	// ("ssevent-<clientId>"), in which the hub also hands the session key
	// to the browser, for transports that cannot set headers (a native
	// EventSource). It is HttpOnly, SameSite=Lax and scoped to the
	// events route.
	CookieSessionKey = "ssevent-"
)

// DefaultChannel is the channel every client joins at connect time unless the
// server disables it.
const DefaultChannel = "default"

// Actions of a SubscribeRequest.
const (
	ActionSubscribe   = "subscribe"
	ActionUnsubscribe = "unsubscribe"
)

// Limits on names.
const (
	// MaxChannelLen is the longest channel name, in bytes.
	MaxChannelLen = 128
	// MaxEventNameLen is the longest custom event name, in bytes.
	MaxEventNameLen = 64
)

// Errors returned by the validators.
var (
	ErrInvalidChannel   = errors.New("ssevent: invalid channel name")
	ErrInvalidEventName = errors.New("ssevent: invalid event name")
	ErrInvalidEventID   = errors.New("ssevent: invalid event id")
)

// RawMessage is a raw encoded JSON value. It behaves like
// encoding/json.RawMessage without importing that package.
type RawMessage []byte

// MarshalJSON returns m, or null when m is nil.
func (m RawMessage) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	return m, nil
}

// UnmarshalJSON stores a copy of data in *m.
func (m *RawMessage) UnmarshalJSON(data []byte) error {
	if m == nil {
		return errors.New("ssevent: RawMessage: UnmarshalJSON on nil pointer")
	}
	*m = append((*m)[:0], data...)
	return nil
}

// Envelope is the data of a "message" event: {"channel": ..., "payload": ...}.
// Channel is empty for messages sent with SendTo or Broadcast.
type Envelope struct {
	Channel string     `json:"channel"`
	Payload RawMessage `json:"payload"`
}

// AppendEnvelope appends the JSON form of an envelope to dst. channelJSON
// must be the channel already encoded as a JSON string and payload a valid
// JSON value; the server encodes each message once and shares the bytes
// among all recipients.
func AppendEnvelope(dst, channelJSON, payload []byte) []byte {
	dst = append(dst, `{"channel":`...)
	dst = append(dst, channelJSON...)
	dst = append(dst, `,"payload":`...)
	dst = append(dst, payload...)
	return append(dst, '}')
}

// AppendChannelJSON appends a valid channel name (ValidChannel) as a JSON
// string. Valid names hold no control characters, so only the quote and
// the backslash need escaping.
func AppendChannelJSON(dst []byte, channel string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(channel); i++ {
		if c := channel[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, channel[i])
	}
	return append(dst, '"')
}

// AppendMessageEvent appends a "message" event with the given id whose
// data is the envelope of payload, a valid JSON value on one line (as
// json.Marshal writes it), and channelJSON, the channel as a JSON string
// (AppendChannelJSON; `""` for a message to one client or to all). It is
// AppendEvent without the checks, for the server's hot path.
func AppendMessageEvent(dst []byte, id EventID, channelJSON, payload []byte) []byte {
	dst = append(dst, "id: "...)
	dst = id.Append(dst)
	dst = append(dst, "\nevent: "+EventMessage+"\ndata: "...)
	dst = AppendEnvelope(dst, channelJSON, payload)
	return append(dst, '\n', '\n')
}

// AppendJSONEvent appends an event with the given id and name whose data is
// a JSON value on one line (as json.Marshal writes it). The name must be
// valid (ValidEventName). It is AppendEvent without the checks, for the
// server's hot path.
func AppendJSONEvent(dst []byte, id EventID, name string, data []byte) []byte {
	dst = append(dst, "id: "...)
	dst = id.Append(dst)
	dst = append(dst, "\nevent: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// Connected is the data of the "connected" event.
type Connected struct {
	// ClientID identifies this client in POST requests and SendTo. It is
	// not a secret: resuming or changing the session also takes the
	// SessionKey, or the same user (Config.Identify on the server).
	ClientID string `json:"clientId"`
	// Channels is the client's channel set after connecting.
	Channels []string `json:"channels"`
	// Rejected lists channels asked for with ?channels= that were refused,
	// and on a resume the channels the session held that OnSubscribe now
	// refuses (they were dropped).
	Rejected []Rejection `json:"rejected,omitempty"`
	// Resumed is true when an earlier session was resumed: same id, same
	// channels, and missed events replayed.
	Resumed bool `json:"resumed"`
	// Heartbeat is the server's heartbeat interval in milliseconds, or 0
	// when heartbeats are off. A client that hears nothing for a few
	// intervals may treat the stream as dead.
	Heartbeat int64 `json:"heartbeat"`
	// SessionKey, when set, is the secret that binds the session to this
	// client: resuming it or changing its channels takes the key as well
	// as the ClientID (in the HeaderSessionKey header, or the cookie the
	// hub sets). It is absent when the server binds sessions to the
	// identity of the user instead (Config.Identify). Keep it out of URLs
	// and logs.
	SessionKey string `json:"sessionKey,omitempty"`
}

// Gap is the data of the "gap" event.
type Gap struct {
	// LastEventID is the id the client presented.
	LastEventID string `json:"lastEventId"`
	// Channels are the client's channels, some of whose events after
	// LastEventID are no longer held.
	Channels []string `json:"channels"`
}

// Reconnect is the data of the "reconnect" event.
type Reconnect struct {
	// Reason says why the stream ends: ReasonShutdown.
	Reason string `json:"reason"`
	// Retry is the delay, in milliseconds, after which to reconnect.
	Retry int64 `json:"retry"`
}

// Closed is the data of the "closed" event.
type Closed struct {
	// Reason says why the session ended: ReasonEnded.
	Reason string `json:"reason"`
}

// ReasonEnded: the application ended the session.
const ReasonEnded = "ended"

// Channels is the data of the "channels" event.
type Channels struct {
	// Channels is the client's channel set now, sorted.
	Channels []string `json:"channels"`
}

// Reasons of a Reconnect event.
const (
	// ReasonShutdown: the server is shutting down or restarting.
	ReasonShutdown = "shutdown"
)

// SubscribeRequest is the JSON body of a POST to the events endpoint.
type SubscribeRequest struct {
	Action   string   `json:"action"`
	ClientID string   `json:"clientId"`
	Channels []string `json:"channels"`
}

// Rejection names a channel that was not subscribed and why.
type Rejection struct {
	Channel string `json:"channel"`
	Reason  string `json:"reason"`
}

// SubscribeResponse is the JSON body of a successful POST.
type SubscribeResponse struct {
	ClientID string `json:"clientId"`
	Action   string `json:"action"`
	// Accepted are the channels the action was applied to.
	Accepted []string `json:"accepted"`
	// Rejected are the channels the server's OnSubscribe hook refused.
	Rejected []Rejection `json:"rejected"`
	// Channels is the client's channel set afterwards.
	Channels []string `json:"channels"`
}

// ErrorResponse is the JSON body of every refused request.
type ErrorResponse struct {
	// Error is a stable machine-readable code, one of the Code constants.
	Error string `json:"error"`
	// Message is a human-readable explanation.
	Message string `json:"message"`
}

// Codes of ErrorResponse.Error.
const (
	CodeBadRequest       = "bad_request"
	CodeInvalidJSON      = "invalid_json"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeUnknownClient    = "unknown_client"
	CodePayloadTooLarge  = "payload_too_large"
	CodeInvalidChannel   = "invalid_channel"
	CodeTooManyChannels  = "too_many_channels"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeOriginRefused    = "origin_not_allowed"
	CodeTooManyClients   = "too_many_connections"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeHubClosed        = "hub_closed"
	CodeStreamingBroken  = "streaming_unsupported"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal_error"
)

// ValidChannel reports whether name can be used as a channel: 1 to
// MaxChannelLen bytes of valid UTF-8, with no control characters and no
// comma (commas separate channels in ?channels=). The error wraps
// ErrInvalidChannel.
func ValidChannel(name string) error {
	switch {
	case name == "":
		return detail(ErrInvalidChannel, "empty")
	case len(name) > MaxChannelLen:
		return detail(ErrInvalidChannel, "longer than "+strconv.Itoa(MaxChannelLen)+" bytes")
	case !utf8.ValidString(name):
		return detail(ErrInvalidChannel, "not valid UTF-8")
	case strings.ContainsRune(name, ','):
		return detail(ErrInvalidChannel, "contains a comma")
	case hasControl(name):
		return detail(ErrInvalidChannel, "contains a control character")
	}
	return nil
}

// reservedEvents are names a custom event may not take.
var reservedEvents = map[string]bool{
	EventConnected: true, EventHeartbeat: true, EventGap: true, EventReconnect: true,
	EventClosed: true, EventChannels: true,
	EventOpen: true, EventError: true, EventReconnecting: true,
}

// ValidEventName reports whether name can be used as a custom event name:
// 1 to MaxEventNameLen bytes of valid UTF-8 with no control characters, and
// not one of the names the protocol or the browser client reserve
// (connected, heartbeat, gap, reconnect, closed, channels, open, error,
// reconnecting). "message" is
// allowed. The error wraps ErrInvalidEventName.
func ValidEventName(name string) error {
	switch {
	case name == "":
		return detail(ErrInvalidEventName, "empty")
	case len(name) > MaxEventNameLen:
		return detail(ErrInvalidEventName, "longer than "+strconv.Itoa(MaxEventNameLen)+" bytes")
	case !utf8.ValidString(name):
		return detail(ErrInvalidEventName, "not valid UTF-8")
	case hasControl(name):
		return detail(ErrInvalidEventName, "contains a control character")
	case reservedEvents[name]:
		return detail(ErrInvalidEventName, strconv.Quote(name)+" is reserved")
	}
	return nil
}

// detailError wraps a sentinel with a detail: "ssevent: invalid channel
// name: empty".
type detailError struct {
	base   error
	detail string
}

func (e *detailError) Error() string { return e.base.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.base }

func detail(base error, d string) error { return &detailError{base, d} }

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// ParseChannels parses the value of ?channels=: channel names separated by
// commas, with spaces and tabs around each trimmed and empty entries
// skipped. Other white space, such as a line break, is not trimmed: it
// makes the name invalid, as it would in a POST.
// Duplicates are dropped; order is kept. The first invalid name gives an
// error wrapping ErrInvalidChannel.
func ParseChannels(s string) ([]string, error) {
	if strings.Trim(s, " \t") == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]string, 0, len(parts))
	seen := make(map[string]bool, len(parts))
	for _, p := range parts {
		p = strings.Trim(p, " \t")
		if p == "" || seen[p] {
			continue
		}
		if err := ValidChannel(p); err != nil {
			return nil, err
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

// EventID is a position in a hub's sequence of events: the id field of the
// events it sends, and the Last-Event-ID a client presents to resume.
//
// Epoch names the sequence: a hub whose history starts over (an in-memory
// hub restarted, a Redis whose data was lost) starts a new epoch, so that
// an id from before, or from another hub, is never taken for a position in
// the current sequence. Seq grows with every event of the epoch.
type EventID struct {
	Epoch string
	Seq   uint64
}

// MaxEpochLen is the longest epoch, in bytes.
const MaxEpochLen = 16

// String returns the wire form: "<epoch>-<seq>", or the decimal seq alone
// when the epoch is empty.
func (id EventID) String() string {
	return string(id.Append(nil))
}

// Append appends the wire form of id to dst.
func (id EventID) Append(dst []byte) []byte {
	if id.Epoch != "" {
		dst = append(dst, id.Epoch...)
		dst = append(dst, '-')
	}
	return strconv.AppendUint(dst, id.Seq, 10)
}

// ValidEpoch reports whether e can be an epoch: 1 to MaxEpochLen lowercase
// letters and digits.
func ValidEpoch(e string) bool {
	if e == "" || len(e) > MaxEpochLen {
		return false
	}
	for i := 0; i < len(e); i++ {
		if c := e[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// ParseEventID parses an id a server gave: an optional epoch and a dash,
// then decimal digits (no sign, at most 20). An empty string is the zero
// EventID: no event seen. Anything else gives an error wrapping
// ErrInvalidEventID.
func ParseEventID(s string) (EventID, error) {
	if s == "" {
		return EventID{}, nil
	}
	var id EventID
	if i := strings.IndexByte(s, '-'); i >= 0 {
		id.Epoch, s = s[:i], s[i+1:]
		if !ValidEpoch(id.Epoch) {
			return EventID{}, ErrInvalidEventID
		}
	}
	if s == "" || len(s) > 20 || s[0] == '+' || s[0] == '-' {
		return EventID{}, ErrInvalidEventID
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return EventID{}, ErrInvalidEventID
	}
	id.Seq = n
	return id, nil
}
