package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// namespace prefixes every metric name.
const namespace = "ssevent"

// Values of the path and protocol labels of ssevent_streams.
const (
	// pathTakeover: the stream is written by the hub's writer pool
	// (plain HTTP/1.1, taken over from net/http).
	pathTakeover = "takeover"
	// pathStandard: the stream is written by its request goroutine
	// (HTTP/2, TLS, a compressing middleware, Config.DisableTakeover).
	pathStandard  = "standard"
	protocolHTTP1 = "http1"
	protocolHTTP2 = "http2"
)

// disconnectReasons are the values of the reason label of
// ssevent_disconnects_total, each exported from the first scrape.
var disconnectReasons = []ssevent.DisconnectReason{
	ssevent.DisconnectClientGone,
	ssevent.DisconnectTimeout,
	ssevent.DisconnectSlowConsumer,
	ssevent.DisconnectWriteFailed,
	ssevent.DisconnectStale,
	ssevent.DisconnectResumed,
	ssevent.DisconnectUnsubscribed,
	ssevent.DisconnectHubClosed,
	ssevent.DisconnectShutdown,
	ssevent.DisconnectClientSent,
	ssevent.DisconnectResync,
}

// refusalCodes are the values of the code label of ssevent_refusals_total,
// each exported from the first scrape: the error codes of the hub's JSON
// error bodies (shared.Code*).
var refusalCodes = []string{
	shared.CodeBadRequest,
	shared.CodeInvalidJSON,
	shared.CodeUnsupportedMedia,
	shared.CodeUnknownClient,
	shared.CodePayloadTooLarge,
	shared.CodeInvalidChannel,
	shared.CodeTooManyChannels,
	shared.CodeUnauthorized,
	shared.CodeForbidden,
	shared.CodeOriginRefused,
	shared.CodeTooManyClients,
	shared.CodeMethodNotAllowed,
	shared.CodeHubClosed,
	shared.CodeStreamingBroken,
	shared.CodeUnavailable,
	shared.CodeInternal,
}

// Option configures a Collector.
type Option func(*options)

type options struct {
	constLabels prometheus.Labels
}

// WithConstLabels adds labels with fixed values to every metric of the
// Collector: to tell apart several hubs in one process (for example
// prometheus.Labels{"hub": "public"}). The instance label is Prometheus's
// to add; do not set it here. Invalid label names make the Collector's
// registration fail.
func WithConstLabels(labels prometheus.Labels) Option {
	return func(o *options) {
		if o.constLabels == nil {
			o.constLabels = prometheus.Labels{}
		}
		for k, v := range labels {
			o.constLabels[k] = v
		}
	}
}

// Adapter is a framework adapter's hub: server.Hub (Echo v4) and
// echov5.Hub (Echo v5) give their core with Core.
type Adapter interface {
	Core() *ssevent.Hub
}

// Collector is a prometheus.Collector over a hub's Stats. Create it with
// NewCollector or CollectorFor and register it once; it reads Stats once
// per scrape and is safe for concurrent scrapes.
type Collector struct {
	hub *ssevent.Hub

	streams, sessionsWaiting, channels, subscriptions *prometheus.Desc
	queuedBytes, queuedBytesMax                       *prometheus.Desc

	connects, published, publishErrors, publishSeconds *prometheus.Desc
	delivered, bytesWritten, replays, gaps             *prometheus.Desc
	brokerErrors, disconnects, refusals                *prometheus.Desc
}

// Compile-time check.
var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector over hub. It panics when hub is nil.
func NewCollector(hub *ssevent.Hub, opts ...Option) *Collector {
	if hub == nil {
		panic("metrics: NewCollector with a nil hub")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, o.constLabels)
	}
	return &Collector{
		hub: hub,

		streams: desc("streams",
			"Open event streams, by who writes them (path: takeover or standard) and HTTP version (protocol: http1 or http2).",
			"path", "protocol"),
		sessionsWaiting: desc("sessions_waiting",
			"Sessions without a stream, kept for ResumeWindow so that their client can resume."),
		channels: desc("channels",
			"Channels with at least one session subscribed."),
		subscriptions: desc("subscriptions",
			"Subscriptions: (session, channel) pairs."),
		queuedBytes: desc("queued_bytes",
			"Bytes of events queued on the open streams and not yet written."),
		queuedBytesMax: desc("queued_bytes_max",
			"The most bytes queued on one stream, to compare with QueueMaxBytes."),

		connects: desc("connects_total",
			"Streams opened."),
		published: desc("events_published_total",
			"Messages published through this hub (Send, SendTo, Broadcast), those the broker refused included."),
		publishErrors: desc("publish_errors_total",
			"Messages the broker refused to publish."),
		publishSeconds: desc("publish_seconds_total",
			"Time the broker took to accept or refuse the published messages; divided by ssevent_events_published_total, the mean publish latency."),
		delivered: desc("events_delivered_total",
			"Events queued to streams, one per recipient, replays included."),
		bytesWritten: desc("bytes_written_total",
			"Event-stream bytes written to clients."),
		replays: desc("replays_total",
			"Streams that replayed history after reconnecting."),
		gaps: desc("gaps_total",
			"Gap events sent: a client asked for events the history no longer holds."),
		brokerErrors: desc("broker_errors_total",
			"Broker calls that failed besides Publish: history reads, session records, presence."),
		disconnects: desc("disconnects_total",
			"Streams that ended, by reason.",
			"reason"),
		refusals: desc("refusals_total",
			"Requests refused, by the error code of their JSON body.",
			"code"),
	}
}

// CollectorFor returns NewCollector(hub.Core(), opts...): the Collector of
// a framework adapter's hub.
func CollectorFor(hub Adapter, opts ...Option) *Collector {
	return NewCollector(hub.Core(), opts...)
}

// Describe sends the descriptors of every metric the Collector exports.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.streams, c.sessionsWaiting, c.channels, c.subscriptions, c.queuedBytes, c.queuedBytesMax,
		c.connects, c.published, c.publishErrors, c.publishSeconds, c.delivered, c.bytesWritten,
		c.replays, c.gaps, c.brokerErrors, c.disconnects, c.refusals,
	} {
		ch <- d
	}
}

// Collect reads the hub's Stats once and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.hub.Stats()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}

	// Only plain HTTP/1.1 streams are taken over, so there are three
	// kinds; the standard HTTP/1 ones are the rest.
	gauge(c.streams, float64(s.StreamsTakenOver), pathTakeover, protocolHTTP1)
	gauge(c.streams, float64(max(0, s.Streams-s.StreamsTakenOver-s.StreamsHTTP2)), pathStandard, protocolHTTP1)
	gauge(c.streams, float64(s.StreamsHTTP2), pathStandard, protocolHTTP2)
	gauge(c.sessionsWaiting, float64(s.SessionsWaiting))
	gauge(c.channels, float64(s.Channels))
	gauge(c.subscriptions, float64(s.Subscriptions))
	gauge(c.queuedBytes, float64(s.QueuedBytes))
	gauge(c.queuedBytesMax, float64(s.QueuedBytesMax))

	counter(c.connects, float64(s.Connects))
	counter(c.published, float64(s.Published))
	counter(c.publishErrors, float64(s.PublishErrors))
	counter(c.publishSeconds, s.PublishTime.Seconds())
	counter(c.delivered, float64(s.Delivered))
	counter(c.bytesWritten, float64(s.BytesWritten))
	counter(c.replays, float64(s.Replays))
	counter(c.gaps, float64(s.Gaps))
	counter(c.brokerErrors, float64(s.BrokerErrors))

	// Every known value first, at 0 until it happens; then any the hub
	// reports that this package does not know yet.
	for _, r := range disconnectReasons {
		counter(c.disconnects, float64(s.Disconnects[r]), string(r))
		delete(s.Disconnects, r)
	}
	for r, n := range s.Disconnects {
		counter(c.disconnects, float64(n), string(r))
	}
	for _, code := range refusalCodes {
		counter(c.refusals, float64(s.Refusals[code]), code)
		delete(s.Refusals, code)
	}
	for code, n := range s.Refusals {
		counter(c.refusals, float64(n), code)
	}
}
