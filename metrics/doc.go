// Package metrics exports a hub's Stats to Prometheus.
//
// NewCollector returns a prometheus.Collector over one *ssevent.Hub;
// CollectorFor takes the hub of a framework adapter (server.Hub for Echo
// v4, echov5.Hub for Echo v5) through its Core method. Register it, then
// serve the registry with promhttp:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.CollectorFor(hub))
//	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
//
// This package is a module of its own so that the hub's users who do not
// export metrics do not depend on client_golang.
//
// # What is exported
//
// Every scrape reads Hub.Stats once; the collector keeps no state of its
// own. The names, all under the namespace "ssevent":
//
//	gauges
//	  ssevent_streams{path, protocol}   open streams: path "takeover" (the hub's
//	                                    writer pool) or "standard" (the request
//	                                    goroutine); protocol "http1" or "http2"
//	  ssevent_sessions_waiting          sessions without a stream, kept for
//	                                    ResumeWindow
//	  ssevent_channels                  channels with at least one session
//	  ssevent_subscriptions             (session, channel) pairs
//	  ssevent_queued_bytes              bytes queued on all streams, unwritten
//	  ssevent_queued_bytes_max          the most queued on one stream (compare
//	                                    with Config.QueueMaxBytes)
//	counters
//	  ssevent_connects_total            streams opened
//	  ssevent_events_published_total    Send, SendTo and Broadcast calls that
//	                                    reached the broker, failed ones included
//	  ssevent_publish_errors_total      of those, the ones the broker refused
//	  ssevent_publish_seconds_total     time the broker took over all of them
//	  ssevent_events_delivered_total    events queued to streams, one per
//	                                    recipient, replays included
//	  ssevent_bytes_written_total       event-stream bytes written to clients
//	  ssevent_replays_total             streams that replayed history
//	  ssevent_gaps_total                gap events sent
//	  ssevent_broker_errors_total       failed broker calls besides Publish
//	  ssevent_disconnects_total{reason} streams ended, by ssevent.DisconnectReason
//	  ssevent_refusals_total{code}      requests refused, by shared.Code* error code
//
// The mean publish latency over a window is
// rate(ssevent_publish_seconds_total[5m]) / rate(ssevent_events_published_total[5m]).
// The hub keeps a total, not a distribution, so there are no quantiles.
//
// Every reason and every code is exported from the first scrape, at 0
// until it happens, so that rate() and increase() see the first one. The
// labels take a fixed set of values: there is no label per channel or per
// client, and a hub's cardinality does not grow with its traffic. Several
// hubs in one process are told apart with WithConstLabels.
//
// Counts of streams, sessions and channels are this hub's, not the
// cluster's. With redisbroker, streams, sessions, subscriptions and
// counters add up over the instances; channels do not (a channel with
// subscribers on two instances counts on both).
//
// # Concurrency
//
// A Collector is safe for concurrent scrapes. Hub.Stats takes the hub's
// registry lock for reading and each stream's lock in turn; a scrape every
// few seconds costs the publishers little (BenchmarkStatsDuringSend in the
// root package measures it).
package metrics
