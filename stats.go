package ssevent

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// DisconnectReason says why a stream ended. Its values are the reason
// labels of docs/PROTOCOL.md and of Stats.Disconnects.
type DisconnectReason string

// Why a stream ends.
const (
	// DisconnectClientGone: the client closed the connection.
	DisconnectClientGone DisconnectReason = "client_gone"
	// DisconnectTimeout: Config.Timeout passed; the client reconnects
	// and resumes.
	DisconnectTimeout DisconnectReason = "timeout"
	// DisconnectSlowConsumer: the stream's unwritten events passed
	// Config.QueueSize or Config.QueueMaxBytes; the client recovers by
	// replay.
	DisconnectSlowConsumer DisconnectReason = "slow_consumer"
	// DisconnectWriteFailed: a write failed, or made no progress for
	// Config.WriteTimeout.
	DisconnectWriteFailed DisconnectReason = "write_failed"
	// DisconnectStale: the cleanup sweep (Config.CleanupInterval) found
	// no write progress.
	DisconnectStale DisconnectReason = "stale"
	// DisconnectResumed: a new stream resumed the same session, here or
	// on another hub.
	DisconnectResumed DisconnectReason = "resumed"
	// DisconnectUnsubscribed: Unsubscribe with no channels, or
	// ClearClients, ended the session.
	DisconnectUnsubscribed DisconnectReason = "unsubscribed"
	// DisconnectHubClosed: Hub.Close.
	DisconnectHubClosed DisconnectReason = "hub_closed"
	// DisconnectShutdown: the http.Server the stream came through shut
	// down; the client was told when to reconnect.
	DisconnectShutdown DisconnectReason = "server_shutdown"
	// DisconnectClientSent: the client sent bytes after its request,
	// which no event-stream client does.
	DisconnectClientSent DisconnectReason = "client_sent_data"
	// DisconnectResync: the broker lost messages on their way to this
	// hub; the client reconnects and replays them.
	DisconnectResync DisconnectReason = "resync"
)

// disconnectReasons maps the stream's internal reasons to the exported ones.
var disconnectReasons = [...]DisconnectReason{
	reasonNone:      DisconnectClientGone,
	reasonGone:      DisconnectClientGone,
	reasonTimeout:   DisconnectTimeout,
	reasonSlow:      DisconnectSlowConsumer,
	reasonWrite:     DisconnectWriteFailed,
	reasonStale:     DisconnectStale,
	reasonTakenOver: DisconnectResumed,
	reasonEnded:     DisconnectUnsubscribed,
	reasonClosed:    DisconnectHubClosed,
	reasonShutdown:  DisconnectShutdown,
	reasonSent:      DisconnectClientSent,
	reasonResync:    DisconnectResync,
}

// Stats is a snapshot of a hub's state and counters since it started.
// Counts of streams, sessions and channels are this hub's, not the
// cluster's. Counters only grow.
type Stats struct {
	// Streams is the number of open streams; StreamsTakenOver of them
	// are written by the hub's writer pool (HTTP/1.1 taken over from
	// net/http), the rest by their request goroutine. StreamsHTTP2 are
	// over HTTP/2 (or later); the rest are HTTP/1.x.
	Streams, StreamsTakenOver, StreamsHTTP2 int
	// SessionsWaiting is the number of sessions without a stream, kept
	// for Config.ResumeWindow so that their client can resume.
	SessionsWaiting int
	// Channels is the number of channels with at least one session
	// subscribed, Subscriptions the number of (session, channel) pairs.
	Channels, Subscriptions int
	// QueuedBytes is the total of events queued on the open streams and
	// not yet written; QueuedBytesMax is the most on one stream, to
	// compare with Config.QueueMaxBytes.
	QueuedBytes    int64
	QueuedBytesMax int

	// Published is the number of messages published through this hub
	// (Send, SendTo, Broadcast), PublishErrors of those refused by the
	// broker, and PublishTime the total time the broker took to accept
	// them: PublishTime / Published is the mean publish latency.
	Published, PublishErrors uint64
	PublishTime              time.Duration
	// Delivered is the number of events queued to streams, one per
	// recipient, replays included.
	Delivered uint64
	// BytesWritten is the number of event-stream bytes written to
	// clients (chunk framing included on taken-over streams).
	BytesWritten uint64
	// Replays is the number of streams that replayed history after
	// reconnecting, Gaps the number of gap events sent.
	Replays, Gaps uint64
	// BrokerErrors counts the broker calls that failed besides Publish:
	// history reads, session records, presence.
	BrokerErrors uint64
	// Connects is the number of streams opened. Disconnects counts the
	// streams that ended, by reason.
	Connects    uint64
	Disconnects map[DisconnectReason]uint64
	// Refusals counts the requests answered with an error, by the error
	// code of their JSON body (shared.Code*: "unauthorized",
	// "forbidden", "origin_refused", "too_many_clients", ...).
	Refusals map[string]uint64
}

// counters are a hub's Stats counters.
type counters struct {
	published, publishErrors, publishNanos atomic.Uint64
	delivered, bytesWritten                atomic.Uint64
	replays, gaps, brokerErrors, connects  atomic.Uint64
	disconnects                            [len(disconnectReasons)]atomic.Uint64
	refusals                               refusalCounts
}

// refusalCounts counts refusals by error code: a fixed set, so that a
// client cannot grow it.
type refusalCounts struct {
	codes []string // sorted
	n     []atomic.Uint64
}

func newRefusalCounts(codes ...string) refusalCounts {
	codes = slices.Clone(codes)
	slices.Sort(codes)
	return refusalCounts{codes: slices.Compact(codes), n: make([]atomic.Uint64, len(codes))}
}

func (r *refusalCounts) add(code string) {
	if i, ok := slices.BinarySearch(r.codes, code); ok {
		r.n[i].Add(1)
	}
}

// Stats returns a snapshot of the hub's state and counters. It takes the
// registry's read lock while it counts streams and sessions (which a
// fan-out holds only to list its recipients) and each stream's lock in
// turn; reading it every second costs little even with many streams
// (docs/PERFORMANCE.md).
func (h *Hub) Stats() Stats {
	c := &h.counters
	s := Stats{
		Published:     c.published.Load(),
		PublishErrors: c.publishErrors.Load(),
		PublishTime:   time.Duration(c.publishNanos.Load()),
		Delivered:     c.delivered.Load(),
		BytesWritten:  c.bytesWritten.Load(),
		Replays:       c.replays.Load(),
		Gaps:          c.gaps.Load(),
		BrokerErrors:  c.brokerErrors.Load(),
		Connects:      c.connects.Load(),
		Disconnects:   make(map[DisconnectReason]uint64),
		Refusals:      make(map[string]uint64, len(c.refusals.codes)),
	}
	for i := range c.disconnects {
		if n := c.disconnects[i].Load(); n > 0 {
			s.Disconnects[disconnectReasons[i]] += n
		}
	}
	for i, code := range c.refusals.codes {
		if n := c.refusals.n[i].Load(); n > 0 {
			s.Refusals[code] = n
		}
	}
	h.mu.RLock()
	streams := make([]*stream, 0, len(h.attached))
	for st := range h.attached {
		streams = append(streams, st)
	}
	s.SessionsWaiting = h.waiting
	s.Channels = len(h.subs)
	for _, set := range h.subs {
		s.Subscriptions += len(set)
	}
	h.mu.RUnlock()
	s.Streams = len(streams)
	for _, st := range streams {
		if st.http2 {
			s.StreamsHTTP2++
		}
		st.mu.Lock()
		q, detached, fed := st.queued, st.detached, st.fed
		st.mu.Unlock()
		if fed {
			q += int(st.feedLag())
		}
		if detached {
			s.StreamsTakenOver++
		}
		s.QueuedBytes += int64(q)
		s.QueuedBytesMax = max(s.QueuedBytesMax, q)
	}
	return s
}

// ChannelInfo is a channel and its number of subscribers with an open
// stream.
type ChannelInfo struct {
	Name        string
	Subscribers int
}

// ChannelLister is implemented by ClusterBrokers that can list the
// channels of every live hub, as their presence last told. Without it,
// Hub.Channels lists this hub's.
type ChannelLister interface {
	// Channels returns, sorted by name, at most limit channels whose
	// name sorts after after, each with its subscribers across the
	// cluster.
	Channels(ctx context.Context, after string, limit int) ([]ChannelInfo, error)
}

// MaxChannelsListed bounds one page of Hub.Channels.
const MaxChannelsListed = 1000

// Channels lists, sorted by name, the channels with at least one
// subscriber with an open stream, and how many: at most limit of them
// (MaxChannelsListed when limit is not in 1..MaxChannelsListed), each
// sorting after after ("" for the first page; the last name of a page for
// the next). With a
// ClusterBroker that is a ChannelLister it lists the cluster's; when the
// cluster cannot be reached, this hub's.
func (h *Hub) Channels(ctx context.Context, after string, limit int) []ChannelInfo {
	if limit <= 0 || limit > MaxChannelsListed {
		limit = MaxChannelsListed
	}
	return h.sessions.channels(ctx, after, limit)
}

// channelsLocal is Channels for this hub's streams.
func (h *Hub) channelsLocal(after string, limit int) []ChannelInfo {
	h.mu.RLock()
	out := make([]ChannelInfo, 0, min(limit, len(h.subs)))
	for name, set := range h.subs {
		if strings.Compare(name, after) <= 0 {
			continue
		}
		n := 0
		for s := range set {
			if s.stream != nil {
				n++
			}
		}
		if n > 0 {
			out = append(out, ChannelInfo{Name: name, Subscribers: n})
		}
	}
	h.mu.RUnlock()
	slices.SortFunc(out, func(a, b ChannelInfo) int { return strings.Compare(a.Name, b.Name) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// ended counts a stream's end and tells Config.OnDisconnect.
func (h *Hub) ended(st *stream) {
	h.counters.disconnects[st.reason].Add(1)
	if h.cfg.OnDisconnect != nil {
		_ = callHook(func() error {
			h.cfg.OnDisconnect(st.sess.id, disconnectReasons[st.reason])
			return nil
		})
	}
}

// isHTTP2 reports whether r came over HTTP/2 or later.
func isHTTP2(r *http.Request) bool { return r.ProtoMajor >= 2 }
