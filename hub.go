package ssevent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

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
	waiting  int // sessions without a stream, kept for resumption
	closed   bool
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
	// fanouts holds the recipient lists of deliveries in progress.
	fanouts sync.Pool
	// servers are the http.Servers streams came through, each watched
	// for its shutdown (shutdown.go). Guarded by mu.
	servers map[*http.Server]*shutdownWatch
}

// session is a client: its id and channels, kept across streams while it
// may resume.
type session struct {
	id string

	// Guarded by Hub.mu.
	channels map[string]struct{}
	stream   *stream     // nil while waiting to resume
	expiry   *time.Timer // runs while waiting
	expGen   uint64      // tells a stale expiry callback from the current one
	gone     bool        // forgotten: no longer in Hub.clients

	// owner and keyHash bind the session to whoever opened it (owner.go).
	// Set once, when the session is made.
	owner   string
	keyHash []byte

	// cursor is the id up to which the session has been served: the
	// last event written to its stream, or the hub's delivery position
	// when the stream was attached. A resumption without Last-Event-ID
	// replays from it. Atomic use only.
	cursor uint64
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
		quit:     make(chan struct{}),
		servers:  make(map[*http.Server]*shutdownWatch),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.pool.batches.New = func() any { b := make([]byte, 0, maxBatch); return &b }
	h.fanouts.New = func() any { return new([]*stream) }
	if h.broker == nil {
		h.broker = newMemoryBroker()
	}
	opts := BrokerOptions{HistorySize: cfg.HistorySize, HistoryTTL: cfg.HistoryTTL, HistoryMaxBytes: cfg.HistoryMaxBytes, ResumeWindow: cfg.ResumeWindow}
	if p, ok := h.broker.(Positioner); ok {
		h.delivered.Store(p.Position())
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

// Send publishes data, encoded as JSON, to the subscribers of channel as a
// "message" event with data {"channel": channel, "payload": data}. It
// returns once the event is queued for every subscriber; clients that are
// reconnecting get it by replay. Sending to a channel without subscribers is
// not an error.
func (h *Hub) Send(ctx context.Context, channel string, data any) error {
	if err := shared.ValidChannel(channel); err != nil {
		return err
	}
	return h.publish(ctx, Topic{Kind: TopicChannel, Name: channel}, "", data)
}

// SendTo publishes data to one client. Without an event name it arrives as
// a "message" event with data {"channel": "", "payload": data}; with one,
// as that event with data being the payload JSON. A client that is
// reconnecting within the resume window gets it when it resumes.
func (h *Hub) SendTo(ctx context.Context, clientID string, data any, event ...string) error {
	name, err := eventName(event)
	if err != nil {
		return err
	}
	ok, err := h.knows(ctx, clientID)
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrUnknownClient
	}
	return h.publish(ctx, Topic{Kind: TopicClient, Name: clientID}, name, data)
}

// Broadcast publishes data to every client, as SendTo does for one.
func (h *Hub) Broadcast(ctx context.Context, data any, event ...string) error {
	name, err := eventName(event)
	if err != nil {
		return err
	}
	return h.publish(ctx, Topic{Kind: TopicAll}, name, data)
}

func eventName(event []string) (string, error) {
	switch {
	case len(event) == 0 || event[0] == "" || event[0] == shared.EventMessage:
		if len(event) > 1 {
			return "", fmt.Errorf("%w: more than one event name", ErrInvalidEvent)
		}
		return "", nil
	case len(event) > 1:
		return "", fmt.Errorf("%w: more than one event name", ErrInvalidEvent)
	}
	return event[0], shared.ValidEventName(event[0])
}

func (h *Hub) publish(ctx context.Context, t Topic, event string, data any) error {
	payload, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("ssevent: encoding the payload: %w", err)
	}
	if len(payload) > h.cfg.MaxPayloadSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(payload), h.cfg.MaxPayloadSize)
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	_, err = h.broker.Publish(ctx, Message{Topic: t, Event: event, Data: payload})
	return err
}

// deliver is the broker's callback: encode once, queue for every recipient.
// The recipients are listed under the read lock and queued to after it is
// released, so that subscribing and connecting do not wait for a fan-out.
// The broker calls deliver one message at a time, which keeps each
// stream's queue in id order; a stream that ended meanwhile gets a frame
// nobody writes, and a stream attached meanwhile starts after this id
// (h.delivered), or replays it from the history, where it already is.
func (h *Hub) deliver(m Message) {
	f := h.frameOf(m)
	h.mu.RLock()
	h.delivered.Store(m.ID)
	switch m.Topic.Kind {
	case TopicChannel:
		to := h.fanouts.Get().(*[]*stream)
		for s := range h.subs[m.Topic.Name] {
			if s.stream != nil {
				*to = append(*to, s.stream)
			}
		}
		h.mu.RUnlock()
		h.fanout(to, f)
	case TopicClient:
		if s := h.clients[m.Topic.Name]; s != nil && s.stream != nil {
			s.stream.enqueue(f)
		}
		h.mu.RUnlock()
	case TopicAll:
		to := h.fanouts.Get().(*[]*stream)
		for st := range h.attached {
			*to = append(*to, st)
		}
		h.mu.RUnlock()
		h.fanout(to, f)
	default:
		h.mu.RUnlock()
	}
}

// fanout queues f on every stream of *to, then recycles the list.
func (h *Hub) fanout(to *[]*stream, f *frame) {
	for _, st := range *to {
		st.enqueue(f)
	}
	clear(*to)
	*to = (*to)[:0]
	h.fanouts.Put(to)
}

// enqueueAll queues f on every attached stream.
func (h *Hub) enqueueAll(f *frame) {
	to := h.fanouts.Get().(*[]*stream)
	h.mu.RLock()
	for st := range h.attached {
		*to = append(*to, st)
	}
	h.mu.RUnlock()
	h.fanout(to, f)
}

// frameOf returns the wire form of m: the one the broker keeps with it, or
// a new one.
func (h *Hub) frameOf(m Message) *frame {
	if m.frame != nil {
		return m.frame
	}
	return encodeMessage(m, h.epoch())
}

// encodeMessage returns the wire form of m, shared by all its recipients,
// with its id in epoch.
func encodeMessage(m Message, epoch string) *frame {
	size := len(m.Data) + len(m.Event) + len(m.Topic.Name) + len(epoch) + 88
	b := make([]byte, 0, size)
	id := shared.EventID{Epoch: epoch, Seq: m.ID}
	if m.Event == "" {
		ch := []byte(`""`)
		if m.Topic.Kind == TopicChannel {
			ch = shared.AppendChannelJSON(make([]byte, 0, len(m.Topic.Name)+2), m.Topic.Name)
		}
		b = shared.AppendMessageEvent(b, id, ch, m.Data)
	} else {
		b = shared.AppendJSONEvent(b, id, m.Event, m.Data)
	}
	return &frame{id: m.ID, b: b}
}

// payload returns the n bytes of payload JSON inside f, the frame of m:
// every frame ends with them, then the closing brace of an envelope (for
// a message without an event name), then the blank line.
func (f *frame) payload(m *Message, n int) []byte {
	end := len(f.b) - 2
	if m.Event == "" {
		end--
	}
	return f.b[end-n : end : end]
}

// Subscribe adds channels to a client's set, bypassing OnSubscribe, and
// tells the client its new set (a "channels" event). It is all or nothing: an invalid name (ErrInvalidChannel), an unknown client
// (ErrUnknownClient) or a set over the limit (ErrTooManyChannels) changes
// nothing.
func (h *Hub) Subscribe(ctx context.Context, clientID string, channels ...string) error {
	for _, ch := range channels {
		if err := shared.ValidChannel(ch); err != nil {
			return err
		}
	}
	_, err := h.subscribe(ctx, clientID, channels, true)
	return err
}

// subscribe applies a subscription and returns the resulting set. notify
// tells the client of its new set (a change it did not ask for itself).
func (h *Hub) subscribe(ctx context.Context, clientID string, channels []string, notify bool) ([]string, error) {
	return h.sessions.update(ctx, CommandSubscribe, clientID, channels, notify)
}

// subscribeLocal is subscribe on the sessions this hub holds.
func (h *Hub) subscribeLocal(clientID string, channels []string, notify bool) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	s := h.clients[clientID]
	if s == nil {
		return nil, ErrUnknownClient
	}
	n := len(s.channels)
	for i, ch := range channels {
		if _, ok := s.channels[ch]; !ok && !slices.Contains(channels[:i], ch) {
			n++
		}
	}
	if n > h.cfg.MaxChannelsPerClient {
		return nil, fmt.Errorf("%w: %d channels, limit %d", ErrTooManyChannels, n, h.cfg.MaxChannelsPerClient)
	}
	for _, ch := range channels {
		h.joinLocked(s, ch)
	}
	list := s.channelList()
	if notify {
		h.notifyChannelsLocked(s, list)
	}
	return list, nil
}

// notifyChannelsLocked tells s's client its channel set changed, so that
// its own list stays true (and its next reconnect asks for the same).
func (h *Hub) notifyChannelsLocked(s *session, list []string) {
	if s.stream == nil {
		return
	}
	data, _ := json.Marshal(shared.Channels{Channels: list})
	b, _ := shared.AppendEvent(nil, &shared.Event{Name: shared.EventChannels, Data: data})
	s.stream.enqueue(&frame{b: b})
}

// Unsubscribe removes channels from a client's set, and tells the client
// its new set (a "channels" event). With no channels it ends the client's
// session: the stream gets a "closed" event and ends, and the session is
// forgotten (it cannot resume). Unsubscribing a channel not held is not an
// error.
func (h *Hub) Unsubscribe(ctx context.Context, clientID string, channels ...string) error {
	_, err := h.unsubscribe(ctx, clientID, channels, true)
	return err
}

func (h *Hub) unsubscribe(ctx context.Context, clientID string, channels []string, notify bool) ([]string, error) {
	return h.sessions.update(ctx, CommandUnsubscribe, clientID, channels, notify)
}

// unsubscribeLocal is unsubscribe on the sessions this hub holds.
func (h *Hub) unsubscribeLocal(clientID string, channels []string, notify bool) ([]string, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	s := h.clients[clientID]
	if s == nil {
		h.mu.Unlock()
		return nil, ErrUnknownClient
	}
	if len(channels) == 0 {
		forget := h.endSessionLocked(s)
		h.mu.Unlock()
		h.forgetTopics(forget)
		return nil, nil
	}
	for _, ch := range channels {
		h.leaveLocked(s, ch)
	}
	list := s.channelList()
	if notify {
		h.notifyChannelsLocked(s, list)
	}
	h.mu.Unlock()
	return list, nil
}

// ClientCount returns the number of open streams. With a ClusterBroker it
// counts the streams of every live hub, as their presence last told.
func (h *Hub) ClientCount(ctx context.Context) int { return h.sessions.count(ctx) }

// countLocal is the number of streams this hub holds.
func (h *Hub) countLocal() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.attached)
}

// ClientsByChannel returns the ids of the clients with an open stream that
// are subscribed to channel, sorted. With a ClusterBroker it lists those
// of every live hub, as their presence last told.
func (h *Hub) ClientsByChannel(ctx context.Context, channel string) []string {
	return h.sessions.byChannel(ctx, channel)
}

// byChannelLocal lists the clients with a stream on this hub subscribed to
// channel, sorted.
func (h *Hub) byChannelLocal(channel string) []string {
	h.mu.RLock()
	ids := make([]string, 0, len(h.subs[channel]))
	for s := range h.subs[channel] {
		if s.stream != nil {
			ids = append(ids, s.id)
		}
	}
	h.mu.RUnlock()
	slices.Sort(ids)
	return ids
}

// ClearClients disconnects every client and forgets every session (of
// every hub, with a ClusterBroker).
func (h *Hub) ClearClients(ctx context.Context) { h.sessions.clear(ctx) }

// clearLocal ends every session this hub holds.
func (h *Hub) clearLocal() {
	h.mu.Lock()
	var forget []string
	for _, s := range h.clients {
		forget = append(forget, h.endSessionLocked(s)...)
	}
	h.mu.Unlock()
	h.forgetTopics(forget)
}

// endSessionLocked ends s's stream, if any, and forgets s. It returns the
// topics whose history to drop once the lock is released.
func (h *Hub) endSessionLocked(s *session) []string {
	if st := s.stream; st != nil {
		st.kick(reasonEnded)
		h.detachLocked(st)
	}
	return h.forgetLocked(s)
}

// forgetLocked removes s from the registry.
func (h *Hub) forgetLocked(s *session) []string {
	if s.gone {
		return nil
	}
	s.gone = true
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
		h.waiting--
	}
	for ch := range s.channels {
		h.leaveLocked(s, ch)
	}
	delete(h.clients, s.id)
	return []string{s.id}
}

// forgetTopics drops the private history of sessions this hub forgot.
func (h *Hub) forgetTopics(ids []string) {
	if !h.sessions.ownsHistory() {
		return // the cluster drops private history when a session ends
	}
	for _, id := range ids {
		if err := h.broker.Forget(context.Background(), Topic{Kind: TopicClient, Name: id}); err != nil {
			h.log.Warn("ssevent: dropping a client's history", "client", id, "err", err)
		}
	}
}

func (h *Hub) joinLocked(s *session, ch string) {
	if _, ok := s.channels[ch]; ok {
		return
	}
	s.channels[ch] = struct{}{}
	set := h.subs[ch]
	if set == nil {
		set = make(map[*session]struct{})
		h.subs[ch] = set
	}
	set[s] = struct{}{}
}

func (h *Hub) leaveLocked(s *session, ch string) {
	if _, ok := s.channels[ch]; !ok {
		return
	}
	delete(s.channels, ch)
	if set := h.subs[ch]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(h.subs, ch)
		}
	}
}

func (s *session) channelList() []string {
	out := make([]string, 0, len(s.channels))
	for ch := range s.channels {
		out = append(out, ch)
	}
	slices.Sort(out)
	return out
}

// openRequest is what a GET asks for, after validation and hooks.
type openRequest struct {
	resumeID string   // session to resume; "" for a new one
	newID    string   // the id of a new session
	channels []string // for a new session, already approved
	after    uint64   // the client's last event id, placed; 0 for none
	unplaced bool     // the client sent a last event id the hub cannot place
	lastID   string   // the last event id the client sent, for a gap event
	srv      *http.Server
	owner    string   // the identity of a new session's request
	key      string   // the key of a new anonymous session
	drop     []string // channels a resumed session may no longer hold
}

// errNoResume means the session to resume is gone; the caller runs the
// subscribe hooks and opens a new session instead.
var errNoResume = fmt.Errorf("ssevent: session not resumable")

// open attaches a new stream to a new or resumed session. It returns the
// stream, whether a session was resumed, the channel set, and the id after
// which to replay (0: no replay). A resumed session whose client sent no
// last event id replays from the last event written to its previous
// stream, the best the server knows. A stream with a replay due starts
// replaying (replay.go): live events wait until it has caught up. A client
// whose last event id cannot be placed gets a gap event first, and every
// event from the hub's position on.
func (h *Hub) open(req openRequest) (st *stream, resumed bool, set []string, after uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false, nil, 0, ErrClosed
	}
	var s *session
	if req.resumeID != "" {
		s = h.clients[req.resumeID]
		if s == nil {
			return nil, false, nil, 0, errNoResume
		}
	}
	if (s == nil || s.stream == nil) && len(h.attached) >= h.cfg.MaxTotalConnections {
		return nil, false, nil, 0, ErrTooManyConnections
	}
	after = req.after
	resumed = s != nil
	if resumed && after == 0 && !req.unplaced {
		after = atomic.LoadUint64(&s.cursor)
	}
	if s == nil {
		id := req.newID
		if id == "" {
			id = uuid.NewString()
		}
		s = &session{id: id, channels: make(map[string]struct{}), owner: req.owner}
		if req.key != "" {
			s.keyHash = hashKey(req.key)
		}
		h.clients[s.id] = s
		if !h.cfg.DisableDefaultChannel {
			h.joinLocked(s, shared.DefaultChannel)
		}
		for _, ch := range req.channels {
			h.joinLocked(s, ch)
		}
	} else {
		if old := s.stream; old != nil {
			old.kick(reasonTakenOver)
			h.detachLocked(old)
		} else if s.expiry != nil {
			s.expiry.Stop()
			s.expiry = nil
			h.waiting--
		}
		for _, ch := range req.drop {
			h.leaveLocked(s, ch)
		}
	}
	// Everything up to the delivery position went out before this stream
	// existed; everything after it reaches the stream live or by replay.
	pos := h.delivered.Load()
	if atomic.LoadUint64(&s.cursor) < pos {
		atomic.StoreUint64(&s.cursor, max(pos, after))
	}
	st = newStream(h, s)
	st.srv = req.srv
	st.start = atomic.LoadUint64(&s.cursor)
	switch {
	case after > 0:
		st.replaying, st.lastID, st.start = true, after, after
		st.room = make(chan struct{}, 1)
	case req.unplaced:
		st.lastID, st.start = pos, pos
		st.pushLocked(gapFrame(req.lastID, s.channelList()))
		st.wake <- struct{}{} // the standard path's writer writes it after connected
	}
	s.stream = st
	h.attached[st] = struct{}{}
	h.streams.Add(1)
	return st, resumed, s.channelList(), after, nil
}

// closeStream detaches st once its writer has returned, keeping its session
// for resumption unless the stream's end forgets it.
func (h *Hub) closeStream(st *stream) {
	defer h.streams.Done()
	h.mu.Lock()
	h.detachLocked(st)
	s := st.sess
	var forget []string
	if !s.gone && s.stream == nil && s.expiry == nil {
		if st.reason.forgets() || h.closed || h.cfg.ResumeWindow <= 0 || h.waiting >= h.cfg.MaxTotalConnections {
			forget = h.forgetLocked(s)
		} else {
			h.waiting++
			s.expGen++
			gen := s.expGen
			s.expiry = time.AfterFunc(h.cfg.ResumeWindow, func() { h.expire(s, gen) })
		}
	}
	h.mu.Unlock()
	h.forgetTopics(forget)
	h.sessions.closed(st, forget != nil)
	if st.reason.notable() {
		h.log.Info("ssevent: stream ended", "client", s.id, "reason", st.reason.String())
	} else {
		h.log.Debug("ssevent: stream ended", "client", s.id, "reason", st.reason.String())
	}
}

// detachLocked removes st from the attached set and from its session.
func (h *Hub) detachLocked(st *stream) {
	delete(h.attached, st)
	if st.sess.stream == st {
		st.sess.stream = nil
	}
}

// expire forgets a session whose resume window passed, unless it resumed.
func (h *Hub) expire(s *session, gen uint64) {
	h.mu.Lock()
	var forget []string
	if s.expiry != nil && s.expGen == gen && s.stream == nil {
		forget = h.forgetLocked(s)
	}
	h.mu.Unlock()
	h.forgetTopics(forget)
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
