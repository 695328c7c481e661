package echov5

import (
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/ssevent/ssevent"
)

// Config configures a Hub: the fields of ssevent.Config, with hooks that
// take Echo v5's *echo.Context. The zero value is ready to use: every zero
// field takes the default named in its comment. Durations documented as
// "negative disables" turn the feature off with any negative value.
type Config struct {
	// Timeout ends a stream this long after it opened; clients reconnect
	// and resume. Defaults to 5m. Negative disables.
	Timeout time.Duration
	// HeartbeatInterval is the time between heartbeat events. Defaults to
	// 30s. Negative disables, as does DisableHeartbeat.
	HeartbeatInterval time.Duration
	// DisableHeartbeat turns heartbeats off (express4-ssevent's
	// heartbeat: false).
	DisableHeartbeat bool
	// MaxPayloadSize bounds, in bytes, the JSON of one published payload
	// and the body of one POST. Defaults to 64 KiB.
	MaxPayloadSize int
	// MaxChannelsPerClient bounds one client's channel set, the default
	// channel included. Defaults to 20.
	MaxChannelsPerClient int
	// MaxTotalConnections bounds the open streams of this hub; past it a
	// GET gets 503 with Retry-After. Defaults to 1000. Negative means no
	// limit.
	MaxTotalConnections int
	// DisableDefaultChannel stops clients from joining the "default"
	// channel at connect time (express4-ssevent's allowDefaultChannel:
	// false).
	DisableDefaultChannel bool
	// CleanupInterval, when positive, sweeps streams that made no write
	// progress for that long while events were waiting, and ends them.
	// Defaults to 0: off (write deadlines catch most dead peers).
	CleanupInterval time.Duration
	// TrustOrigins, when it or TrustOriginPatterns is set, lists the
	// origins ("https://app.example.com") allowed to open streams and
	// POST; the request's Origin header, or the origin of its Referer,
	// must match one exactly (case-insensitively). Requests with neither
	// header are then refused.
	TrustOrigins []string
	// TrustOriginPatterns are regular expressions matched against the
	// request's whole origin (scheme://host[:port]), in addition to
	// TrustOrigins. They are anchored at both ends for you:
	// https://[a-z]+\.example\.com never matches
	// https://app.example.com.attacker.net.
	TrustOriginPatterns []*regexp.Regexp

	// OnConnect, when set, runs before a stream opens (also on every
	// reconnection) with the GET's *echo.Context, so it can read what the
	// application's auth middleware stored. Returning nil accepts.
	// Returning an error with a 4xx status (echo.ErrUnauthorized,
	// echo.ErrForbidden, an *echo.HTTPError: any echo.HTTPStatusCoder)
	// refuses with that status and the *echo.HTTPError's message; any
	// other error, or a panic, is a 500.
	OnConnect func(c *echo.Context) error
	// Identify, when set, tells who a request is: the user the
	// application's auth middleware stored in the *echo.Context (for
	// echo-jwt, c.Get("user")). A
	// session is bound to the identity of the request that opened it:
	// resuming it, or changing its channels with POST, is refused (403
	// forbidden, nothing changed) for a request that identifies as
	// someone else. Without Identify, sessions are bound to a random key
	// the client holds instead (docs/SECURITY.md). It runs before
	// OnConnect and the POST's checks; errors refuse as OnConnect's do.
	// An empty identity is a valid one (anonymous users share it), so
	// return an error for requests that must not be served.
	Identify func(c *echo.Context) (string, error)
	// OnSubscribe, when set, runs for each channel a client asks to join
	// through ?channels= or POST, and again for each channel a session
	// holds when it resumes, with the request's *echo.Context. nil
	// accepts; an error with a 4xx status, as for OnConnect, rejects that
	// channel (the response lists it with the *echo.HTTPError's message,
	// or the status text, as reason); any other error, or a panic, fails
	// the whole request with 500 and changes nothing. On resume, refused
	// channels are dropped from the session and listed in the connected
	// event. Hub.Subscribe bypasses it.
	OnSubscribe func(clientID, channel string, c *echo.Context) error

	// OnDisconnect, when set, is called once for every stream that ends,
	// with its client's id and the reason (the session itself may live
	// on, to be resumed). It runs on the goroutine that ended the stream:
	// keep it short and never block in it.
	OnDisconnect func(clientID string, reason DisconnectReason)

	// Retry is the reconnection delay sent to browsers in the retry
	// field. Defaults to 3s.
	Retry time.Duration
	// HistorySize is how many events the hub keeps per channel (and per
	// client for SendTo, and for Broadcast) to replay to reconnecting
	// clients. Defaults to 1000. Negative disables history.
	HistorySize int
	// HistoryTTL is how long an event is kept for replay. Defaults to 5m.
	HistoryTTL time.Duration
	// HistoryMaxBytes bounds the payload bytes held for replay across all
	// channels; the oldest events go first. Defaults to 64 MiB.
	HistoryMaxBytes int64
	// ResumeWindow is how long a client's session (id, channels, private
	// messages) outlives its stream, so that a reconnect with ?clientId=
	// resumes it. Defaults to 2m. Negative disables resumption.
	ResumeWindow time.Duration
	// QueueSize bounds the events waiting to be written to one stream; a
	// client that falls that far behind is disconnected and recovers by
	// replay. A stream the hub took over reads its channels' events from
	// lists shared by their subscribers: there the bound is on how far
	// behind the stream is, checked every half bound's worth of events
	// (docs/PERFORMANCE.md). Defaults to 1024.
	QueueSize int
	// QueueMaxBytes bounds the bytes waiting to be written to one stream:
	// a client whose unwritten events pass it is disconnected and
	// recovers by replay. Events are shared by the streams they are
	// queued on, so this bounds what one stream holds back from being
	// freed. A replay is not bound by it: it is read from the history at
	// the client's pace. Defaults to 1 MiB.
	QueueMaxBytes int
	// WriteTimeout bounds how long a write to a stream may make no
	// progress; a client that reads nothing for that long is
	// disconnected. A client that reads slowly but steadily is not,
	// however long its backlog takes. Defaults to 15s. Negative disables.
	WriteTimeout time.Duration
	// ReconnectJitter spreads out the reconnections of the clients of a
	// server that shuts down: each stream ends with a "reconnect" event
	// asking its client to come back after Retry plus a random delay of
	// up to ReconnectJitter. Defaults to 5s. Negative means no jitter.
	ReconnectJitter time.Duration

	// DisableTakeover keeps every stream on the response writer its
	// handler was given, written by its request goroutine. Without it, a
	// plain HTTP/1.1 stream is taken over once its head is sent and
	// drained by the hub's writer pool, which costs a fraction of the
	// memory and CPU (docs/PERFORMANCE.md); either way the handler
	// returns when the stream ends, so Echo's middleware sees the whole
	// stream. Set it when middleware must see every byte. A writer that
	// middleware puts around Echo's Response (Compress, BodyDump) keeps
	// the stream on the standard path anyway.
	DisableTakeover bool
	// ReleaseHandler makes the handler of a stream taken over return as
	// soon as the takeover is done, instead of when the stream ends. An
	// idle stream then costs about 5 KiB instead of about 16 KiB
	// (docs/PERFORMANCE.md), but Echo's RequestLogger records a short
	// request without its body bytes, and tracing spans end early.
	ReleaseHandler bool

	// Broker carries events between hubs and keeps their history. nil
	// means an in-memory broker sized by the History fields: one process,
	// one hub.
	Broker Broker
	// Logger receives the hub's log records (slow clients cut, hook
	// failures). Defaults to slog.Default().
	Logger *slog.Logger
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig. Zero
// values are valid: they mean the defaults.
func (c Config) Validate() error { return c.core().Validate() }

// core returns the hub's configuration with the hooks turned into
// net/http ones, which find the *echo.Context in the request (Hub.Handler
// puts it there).
func (c Config) core() ssevent.Config {
	cc := ssevent.Config{
		Timeout:               c.Timeout,
		HeartbeatInterval:     c.HeartbeatInterval,
		DisableHeartbeat:      c.DisableHeartbeat,
		MaxPayloadSize:        c.MaxPayloadSize,
		MaxChannelsPerClient:  c.MaxChannelsPerClient,
		MaxTotalConnections:   c.MaxTotalConnections,
		DisableDefaultChannel: c.DisableDefaultChannel,
		CleanupInterval:       c.CleanupInterval,
		TrustOrigins:          c.TrustOrigins,
		TrustOriginPatterns:   c.TrustOriginPatterns,
		Retry:                 c.Retry,
		HistorySize:           c.HistorySize,
		HistoryTTL:            c.HistoryTTL,
		HistoryMaxBytes:       c.HistoryMaxBytes,
		ResumeWindow:          c.ResumeWindow,
		QueueSize:             c.QueueSize,
		QueueMaxBytes:         c.QueueMaxBytes,
		WriteTimeout:          c.WriteTimeout,
		ReconnectJitter:       c.ReconnectJitter,
		DisableTakeover:       c.DisableTakeover,
		ReleaseHandler:        c.ReleaseHandler,
		OnDisconnect:          c.OnDisconnect,
		Broker:                c.Broker,
		Logger:                c.Logger,
	}
	if c.OnConnect != nil {
		cc.OnConnect = func(r *http.Request) error { return coreError(c.OnConnect(contextOf(r))) }
	}
	if c.Identify != nil {
		cc.Identify = func(r *http.Request) (string, error) {
			id, err := c.Identify(contextOf(r))
			return id, coreError(err)
		}
	}
	if c.OnSubscribe != nil {
		cc.OnSubscribe = func(clientID, channel string, r *http.Request) error {
			return coreError(c.OnSubscribe(clientID, channel, contextOf(r)))
		}
	}
	return cc
}
