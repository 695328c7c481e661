package ssevent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// Hub holds the clients, their channels and streams, and publishes events
// to them. Create it with New; all methods are safe for concurrent use.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	broker Broker
	// sessions keeps the sessions beyond this hub's memory when the
	// broker is a ClusterBroker (hub_cluster.go); sessions.go.
	sessions sessions

	mu       sync.RWMutex
	clients  map[string]*session              // by id; attached or waiting to resume
	subs     map[string]map[*session]struct{} // channel -> subscribers
	attached map[*stream]struct{}
	// lists are the recipient lists of a fan-out, per channel (the
	// streams of the channel's subscribers) and of the whole hub (every
	// attached stream): made by the first delivery that needs them and
	// kept until a subscription or a stream changes (recipients, in
	// publish.go).
	lists   map[string]*recipients
	allList recipients
	// everyList lists every attached stream, for the frames that are not
	// messages (heartbeats, probes); lists and allList leave out the fed
	// streams, which read messages from feeds (feed.go): per channel with
	// fed subscribers, and allFeeds for broadcasts, one per dialect.
	everyList recipients
	feeds     map[string]*feedSet
	allFeeds  feedSet
	// fed is the id of the last message whose every frame is in place:
	// queued, and in its feed. Written by the broker's single delivery
	// call at a time, at its end; fed streams' writers read it (collect).
	fed atomic.Uint64
	// wakeBuf is deliver's list of the fed streams to wake.
	wakeBuf []*stream
	// presenceGen counts the changes to what the cluster's presence lists
	// (a stream attached or detached, a session's channels), made under
	// mu's write lock; presenceList is the list as of presenceAt, handed
	// out again while nothing changes (presence, hub_cluster.go).
	presenceGen  atomic.Uint64
	presenceMu   sync.Mutex
	presenceList []SessionPresence
	presenceAt   uint64
	waiting      int // sessions without a stream, kept for resumption
	closed       bool
	// delivered is the id of the last message fanned out. Written under
	// mu's read lock by the broker's single delivery call at a time, read
	// under the write lock.
	delivered atomic.Uint64

	streams sync.WaitGroup // one per open stream
	replays sync.WaitGroup // one per replay in progress
	bg      sync.WaitGroup // heartbeat, cleanup and probe loops, server watches
	quit    chan struct{}
	// ctx ends with the hub: the replays' history reads use it.
	ctx    context.Context
	cancel context.CancelFunc
	// pool drains the detached streams (detach.go).
	pool writerPool
	// counters are the Stats counters (stats.go).
	counters counters
	// servers are the http.Servers streams came through, each watched
	// for its shutdown (shutdown.go). Guarded by mu.
	servers map[*http.Server]*shutdownWatch
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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	h := &Hub{
		cfg:      cfg,
		log:      cfg.Logger,
		broker:   cfg.Broker,
		clients:  make(map[string]*session),
		subs:     make(map[string]map[*session]struct{}),
		attached: make(map[*stream]struct{}),
		lists:    make(map[string]*recipients),
		feeds:    make(map[string]*feedSet),
		quit:     make(chan struct{}),
		servers:  make(map[*http.Server]*shutdownWatch),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.pool.batches.New = func() any { b := make([]byte, 0, maxBatch); return &b }
	h.counters.refusals = newRefusalCounts(shared.CodeBadRequest, shared.CodeInvalidJSON, shared.CodeUnsupportedMedia,
		shared.CodeUnknownClient, shared.CodePayloadTooLarge, shared.CodeInvalidChannel, shared.CodeTooManyChannels,
		shared.CodeUnauthorized, shared.CodeForbidden, shared.CodeOriginRefused, shared.CodeTooManyClients,
		shared.CodeMethodNotAllowed, shared.CodeHubClosed, shared.CodeStreamingBroken, shared.CodeUnavailable,
		shared.CodeInternal)
	if h.broker == nil {
		h.broker = newMemoryBroker()
	}
	opts := BrokerOptions{HistorySize: cfg.HistorySize, HistoryTTL: cfg.HistoryTTL, HistoryMaxBytes: cfg.HistoryMaxBytes, ResumeWindow: cfg.ResumeWindow}
	if p, ok := h.broker.(Positioner); ok {
		h.delivered.Store(p.Position())
		h.fed.Store(p.Position())
	}
	if err := h.startBroker(opts); err != nil {
		return nil, fmt.Errorf("ssevent: starting the broker: %w", err)
	}
	if cfg.HeartbeatInterval > 0 {
		h.bg.Add(1)
		go h.every(cfg.HeartbeatInterval, h.heartbeat)
	}
	if cfg.CleanupInterval > 0 {
		h.bg.Add(1)
		go h.every(cfg.CleanupInterval, h.cleanup(cfg.CleanupInterval))
	}
	h.bg.Add(1)
	go h.every(probeInterval, h.probe())
	return h, nil
}

// every runs fn at each tick of interval until the hub closes. The caller
// added it to h.bg.
func (h *Hub) every(interval time.Duration, fn func(now time.Time)) {
	defer h.bg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-h.quit:
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

// heartbeat queues one shared heartbeat frame to every stream.
func (h *Hub) heartbeat(now time.Time) {
	b := strconv.AppendInt([]byte("event: heartbeat\ndata: "), now.UnixMilli(), 10)
	h.enqueueAll(&frame{b: append(b, '\n', '\n'), lossy: true})
}

// cleanup ends streams that made no write progress for a whole interval
// while events waited.
func (h *Hub) cleanup(interval time.Duration) func(time.Time) {
	return func(now time.Time) {
		h.mu.RLock()
		defer h.mu.RUnlock()
		for st := range h.attached {
			if st.stalled(now, interval) {
				st.kick(reasonStale)
			}
		}
	}
}

// Close shuts the hub down: new streams and calls are refused with
// ErrClosed, open streams write what is queued and end, and Close waits for
// their writers until ctx is done. Sessions are not kept. Calling Close
// again returns ErrClosed.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
	}
	h.closed = true
	close(h.quit)
	for _, w := range h.servers {
		w.stop()
	}
	for st := range h.attached {
		st.kick(reasonClosed)
	}
	for _, s := range h.clients {
		if s.expiry != nil {
			s.expiry.Stop()
			s.expiry = nil
			h.waiting--
		}
	}
	h.mu.Unlock()

	done := make(chan error, 1)
	go func() {
		h.streams.Wait()
		h.cancel()
		h.replays.Wait()
		h.bg.Wait()
		h.pool.wait()
		done <- h.broker.Close()
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("ssevent: closing the broker: %w", err)
		}
		return nil
	case <-ctx.Done():
		h.cancel()
		return fmt.Errorf("ssevent: closing the hub: %w", ctx.Err())
	}
}

// epoch returns the broker's current epoch, "" for a broker without one.
func (h *Hub) epoch() string {
	if e, ok := h.broker.(Epocher); ok {
		return e.Epoch()
	}
	return ""
}

// place returns the position in the hub's sequence that a client's last
// event id names, and whether it names one. No id is position 0. An id of
// another epoch (another hub, a hub since restarted), or beyond what the
// hub has delivered (forged, or from a hub that has run ahead) names none:
// the client gets a gap event and every event from now on, never silence.
// In a cluster, another hub may have delivered an id this one has not yet:
// it waits a moment for its own delivery to get there.
func (h *Hub) place(ctx context.Context, id shared.EventID) (uint64, bool) {
	switch {
	case id == shared.EventID{}:
		return 0, true
	case id.Seq == 0 || id.Epoch != h.epoch():
		return 0, false
	case id.Seq <= h.delivered.Load():
		return id.Seq, true
	case !h.sessions.shared():
		return 0, false
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	limit := time.After(time.Second)
	for {
		select {
		case <-t.C:
			if id.Seq <= h.delivered.Load() {
				return id.Seq, true
			}
		case <-limit:
			return 0, false
		case <-ctx.Done():
			return 0, false
		}
	}
}
