package ssevent

// Sessions: the clients a hub holds, their channels, and the streams
// attached to them, kept across reconnections while they may resume.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/ssevent/ssevent/shared"
)

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

	// sorted is the channel list as sortedChannels last made it, shared
	// and read-only; nil once the channels changed (under Hub.mu's write
	// lock).
	sorted atomic.Pointer[[]string]

	// cursor is the id up to which the session has been served: the
	// last event written to its stream, or the hub's delivery position
	// when the stream was attached. A resumption without Last-Event-ID
	// replays from it. Atomic use only.
	cursor uint64
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
		// Detached first: a fed stream's unread frames go to its
		// queue (unfeedLocked) before its writer ends it.
		h.detachLocked(st)
		st.kick(reasonEnded)
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
			h.counters.brokerErrors.Add(1)
			h.log.Warn("ssevent: dropping a client's history", "client", id, "err", err)
		}
	}
}

func (h *Hub) joinLocked(s *session, ch string) {
	if _, ok := s.channels[ch]; ok {
		return
	}
	s.channels[ch] = struct{}{}
	s.sorted.Store(nil)
	set := h.subs[ch]
	if set == nil {
		set = make(map[*session]struct{})
		h.subs[ch] = set
		h.lists[ch] = new(recipients)
	}
	set[s] = struct{}{}
	h.lists[ch].reset()
	h.presenceGen.Add(1)
	if st := s.stream; st != nil && st.fed {
		h.joinFeedLocked(st, ch)
	}
}

func (h *Hub) leaveLocked(s *session, ch string) {
	if _, ok := s.channels[ch]; !ok {
		return
	}
	delete(s.channels, ch)
	s.sorted.Store(nil)
	if st := s.stream; st != nil && st.fed {
		h.leaveFeedLocked(st, ch)
	}
	if set := h.subs[ch]; set != nil {
		delete(set, s)
		h.lists[ch].reset()
		h.presenceGen.Add(1)
		if len(set) == 0 {
			delete(h.subs, ch)
			delete(h.lists, ch)
		}
	}
}

// sortedChannels returns the session's channels, sorted, in a slice
// shared until they change: the caller holds Hub.mu and must not modify
// it. Two readers may make it at once and keep either.
func (s *session) sortedChannels() []string {
	if p := s.sorted.Load(); p != nil {
		return *p
	}
	out := s.channelList()
	s.sorted.Store(&out)
	return out
}

// channelList returns the session's channels, sorted, in a new slice. The
// caller holds Hub.mu.
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
	http2    bool     // the request came over HTTP/2 or later
	owner    string   // the identity of a new session's request
	key      string   // the key of a new anonymous session
	drop     []string // channels a resumed session may no longer hold
	dialect  dialect  // the stream's wire format
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
	st.srv, st.http2, st.dialect = req.srv, req.http2, req.dialect
	st.start = atomic.LoadUint64(&s.cursor)
	switch {
	case after > 0:
		st.replaying, st.lastID, st.start = true, after, after
		st.room = make(chan struct{}, 1)
	case req.unplaced:
		st.lastID, st.start = pos, pos
		st.pushLocked(gapFrame(req.lastID, s.channelList()))
		h.counters.gaps.Add(1)
		st.wake <- struct{}{} // the standard path's writer writes it after connected
	}
	s.stream = st
	h.attached[st] = struct{}{}
	h.resetListsLocked(s)
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
	h.ended(st)
}

// detachLocked removes st from the attached set and from its session.
func (h *Hub) detachLocked(st *stream) {
	if st.fed {
		h.unfeedLocked(st)
	}
	delete(h.attached, st)
	if st.sess.stream == st {
		st.sess.stream = nil
	}
	h.resetListsLocked(st.sess)
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
