package ssevent

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// Defaults applied to zero Config fields. The first group are
// express4-ssevent's defaults.
const (
	DefaultTimeout              = 5 * time.Minute
	DefaultHeartbeatInterval    = 30 * time.Second
	DefaultMaxPayloadSize       = 64 << 10
	DefaultMaxChannelsPerClient = 20
	DefaultMaxTotalConnections  = 1000

	DefaultRetry           = 3 * time.Second
	DefaultHistorySize     = 1000
	DefaultHistoryTTL      = 5 * time.Minute
	DefaultHistoryMaxBytes = 64 << 20
	DefaultResumeWindow    = 2 * time.Minute
	DefaultQueueSize       = 1024
	DefaultQueueMaxBytes   = 1 << 20
	DefaultReconnectJitter = 5 * time.Second
	DefaultWriteTimeout    = 15 * time.Second
)

// minTimeout is the shortest Config.Timeout taken as meant.
const minTimeout = time.Second

// Config configures a Hub. The zero value is ready to use: every zero field
// takes the default named in its comment. Durations documented as "negative
// disables" turn the feature off with any negative value.
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
	// reconnection) with the GET request, so it can read what the
	// application's auth middleware stored in its context. Returning nil
	// accepts. Returning an *HTTPError with a 4xx code refuses with that
	// status; any other error, or a panic, is a 500.
	OnConnect func(r *http.Request) error
	// Identify, when set, tells who a request is: the user the
	// application's auth middleware stored in the request's context. A
	// session is bound to the identity of the request that opened it:
	// resuming it, or changing its channels with POST, is refused (403
	// forbidden, nothing changed) for a request that identifies as
	// someone else. Without Identify, sessions are bound to a random key
	// the client holds instead (docs/SECURITY.md). It runs before
	// OnConnect and the POST's checks; errors refuse as OnConnect's do.
	// An empty identity is a valid one (anonymous users share it), so
	// return an error for requests that must not be served.
	Identify func(r *http.Request) (string, error)
	// OnSubscribe, when set, runs for each channel a client asks to join
	// through ?channels= or POST, and again for each channel a session
	// holds when it resumes, with the request. nil accepts; an *HTTPError
	// with a 4xx code rejects that channel (the response lists it with
	// the error's message as reason); any other error, or a panic, fails
	// the whole request with 500 and changes nothing. On resume, refused
	// channels are dropped from the session and listed in the connected
	// event. Hub.Subscribe bypasses it.
	OnSubscribe func(clientID, channel string, r *http.Request) error

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
	// plain HTTP/1.1 stream on net/http's own writer (or under a framework
	// adapter's) is taken over once its head is sent and drained by the
	// hub's writer pool, which costs a fraction of the memory and CPU
	// (docs/PERFORMANCE.md); either way the handler returns when the
	// stream ends. Set it when middleware must see every byte.
	DisableTakeover bool
	// ReleaseHandler makes the handler of a stream taken over return as
	// soon as the takeover is done, instead of when the stream ends. An
	// idle stream then costs about 5 KiB instead of about 16 KiB (the
	// request goroutine's stack and net/http's request state,
	// docs/PERFORMANCE.md), but middleware sees the request end at the
	// takeover: an access log records a short request without its body
	// bytes, and tracing spans end early. The hub still ends such streams
	// when their http.Server shuts down.
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
func (c Config) Validate() error {
	bad := func(field, why string) error {
		return fmt.Errorf("%w: %s %s", ErrInvalidConfig, field, why)
	}
	switch {
	case c.MaxPayloadSize < 0:
		return bad("MaxPayloadSize", "is negative")
	case c.MaxChannelsPerClient < 0:
		return bad("MaxChannelsPerClient", "is negative")
	case c.QueueSize < 0:
		return bad("QueueSize", "is negative")
	case c.QueueMaxBytes < 0:
		return bad("QueueMaxBytes", "is negative")
	case c.HistoryTTL < 0:
		return bad("HistoryTTL", "is negative")
	case c.HistoryMaxBytes < 0:
		return bad("HistoryMaxBytes", "is negative")
	case c.Retry < 0:
		return bad("Retry", "is negative")
	case c.CleanupInterval < 0:
		return bad("CleanupInterval", "is negative")
	case c.HeartbeatInterval > 0 && c.HeartbeatInterval < time.Millisecond:
		return bad("HeartbeatInterval", "is under 1ms")
	case c.CleanupInterval > 0 && c.CleanupInterval < time.Millisecond:
		return bad("CleanupInterval", "is under 1ms")
	case c.Timeout > 0 && c.Timeout < minTimeout:
		return bad("Timeout", "is under "+minTimeout.String()+": streams would end before they deliver")
	case c.Retry > 0 && c.Retry < time.Millisecond:
		return bad("Retry", "is under 1ms")
	}
	for i, p := range c.TrustOriginPatterns {
		if p == nil {
			return bad("TrustOriginPatterns["+strconv.Itoa(i)+"]", "is nil")
		}
	}
	for i, o := range c.TrustOrigins {
		switch u, err := url.Parse(o); {
		case o == "":
			return bad("TrustOrigins["+strconv.Itoa(i)+"]", "is empty")
		case err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil:
			return bad("TrustOrigins["+strconv.Itoa(i)+"]", strconv.Quote(o)+" is not an origin: write scheme://host[:port], as https://app.example.com")
		}
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults and
// "negative disables" fields normalised to zero meaning off.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		switch {
		case *d == 0:
			*d = v
		case *d < 0:
			*d = 0
		}
	}
	def(&c.Timeout, DefaultTimeout)
	def(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	if c.DisableHeartbeat {
		c.HeartbeatInterval = 0
	}
	def(&c.ResumeWindow, DefaultResumeWindow)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	if c.MaxPayloadSize == 0 {
		c.MaxPayloadSize = DefaultMaxPayloadSize
	}
	if c.MaxChannelsPerClient == 0 {
		c.MaxChannelsPerClient = DefaultMaxChannelsPerClient
	}
	switch {
	case c.MaxTotalConnections == 0:
		c.MaxTotalConnections = DefaultMaxTotalConnections
	case c.MaxTotalConnections < 0:
		c.MaxTotalConnections = int(^uint(0) >> 1)
	}
	if c.Retry == 0 {
		c.Retry = DefaultRetry
	}
	switch {
	case c.HistorySize == 0:
		c.HistorySize = DefaultHistorySize
	case c.HistorySize < 0:
		c.HistorySize = 0
	}
	if c.HistoryTTL == 0 {
		c.HistoryTTL = DefaultHistoryTTL
	}
	if c.HistoryMaxBytes == 0 {
		c.HistoryMaxBytes = DefaultHistoryMaxBytes
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.QueueMaxBytes == 0 {
		c.QueueMaxBytes = DefaultQueueMaxBytes
	}
	def(&c.ReconnectJitter, DefaultReconnectJitter)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.TrustOriginPatterns) > 0 {
		anchored := make([]*regexp.Regexp, len(c.TrustOriginPatterns))
		for i, p := range c.TrustOriginPatterns {
			anchored[i] = regexp.MustCompile(`^(?:` + p.String() + `)$`)
		}
		c.TrustOriginPatterns = anchored
	}
	return c
}
