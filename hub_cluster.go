package ssevent

// This file holds what a Hub does differently when its broker is a
// ClusterBroker (clusterSessions, behind the sessions seam of sessions.go):
// session state lives in the broker, and changes to a session held by
// another hub travel to it as Commands.
//
// The broker bounds each of its calls by itself (the Redis broker by its
// Options.Timeout) and returns an error wrapping ErrUnavailable when its
// store does not answer in time, so the calls here add no timeout of
// their own.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// startBroker starts the broker, as a cluster member when it is one.
func (h *Hub) startBroker(opts BrokerOptions) error {
	cb, ok := h.broker.(ClusterBroker)
	if !ok {
		h.sessions = localSessions{h}
		return h.broker.Start(opts, h.deliver)
	}
	h.sessions = clusterSessions{h: h, b: cb}
	return cb.StartCluster(opts, h.deliver, ClusterHooks{Apply: h.apply, Presence: h.presence, Resync: h.resync})
}

// knows reports whether a session with this id exists on this hub or, in a
// cluster, on any hub.
func (h *Hub) knows(ctx context.Context, id string) (bool, error) {
	h.mu.RLock()
	_, ok := h.clients[id]
	h.mu.RUnlock()
	if ok {
		return true, nil
	}
	_, ok, err := h.sessions.load(ctx, id)
	return ok, err
}

// clusterSessions are sessions recorded in a ClusterBroker.
type clusterSessions struct {
	h *Hub
	b ClusterBroker
}

func (c clusterSessions) shared() bool      { return true }
func (c clusterSessions) ownsHistory() bool { return false } // the cluster drops private history when a session ends

func (c clusterSessions) load(ctx context.Context, id string) (SessionRecord, bool, error) {
	return c.b.LoadSession(ctx, id)
}

// update changes a session's channels through the cluster; the hub
// holding the session applies the change when the command reaches it,
// before any message published after this call returns. The client is
// told of its new set whether or not it asked.
func (c clusterSessions) update(ctx context.Context, op CommandOp, id string, channels []string, _ bool) ([]string, error) {
	if c.h.isClosed() {
		return nil, ErrClosed
	}
	if op == CommandUnsubscribe && len(channels) == 0 {
		return nil, c.b.EndSession(ctx, id)
	}
	return c.b.UpdateSession(ctx, id, op, channels, c.h.cfg.MaxChannelsPerClient)
}

// clear forgets every session of the cluster. When the cluster cannot be
// reached, this hub's sessions are ended all the same.
func (c clusterSessions) clear(ctx context.Context) {
	if err := c.b.ClearSessions(ctx); err != nil {
		c.h.counters.brokerErrors.Add(1)
		c.h.log.Warn("ssevent: clearing the cluster's sessions; ending this hub's only", "err", err)
		c.h.apply(Command{Op: CommandClear})
	}
}

// count counts the streams of every live hub, as their presence last
// told, falling back to this hub's streams when the cluster cannot be
// reached.
func (c clusterSessions) count(ctx context.Context) int {
	n, err := c.b.ClientCount(ctx)
	if err != nil {
		c.h.counters.brokerErrors.Add(1)
		c.h.log.Warn("ssevent: counting the cluster's clients; counting this hub's only", "err", err)
		return c.h.countLocal()
	}
	return n
}

// byChannel lists the clients of every live hub, as their presence last
// told, falling back to this hub's when the cluster cannot be reached.
// channels lists the cluster's channels when the broker can, this hub's
// otherwise.
func (c clusterSessions) channels(ctx context.Context, after string, limit int) []ChannelInfo {
	if cl, ok := c.b.(ChannelLister); ok {
		list, err := cl.Channels(ctx, after, limit)
		if err == nil {
			return list
		}
		c.h.counters.brokerErrors.Add(1)
		c.h.log.Warn("ssevent: listing the cluster's channels; listing this hub's only", "err", err)
	}
	return c.h.channelsLocal(after, limit)
}

func (c clusterSessions) byChannel(ctx context.Context, channel string) []string {
	ids, err := c.b.ClientsByChannel(ctx, channel)
	if err != nil {
		c.h.counters.brokerErrors.Add(1)
		c.h.log.Warn("ssevent: listing the cluster's clients; listing this hub's only", "err", err)
		return c.h.byChannelLocal(channel)
	}
	return ids
}

// openResume is open for a session to resume: one that this hub does not
// hold is taken from the cluster's record, if any. When the cluster cannot
// tell whether the session lives, it returns an error wrapping
// ErrUnavailable, not a fresh session.
func (h *Hub) openResume(ctx context.Context, req openRequest) (st *stream, resumed bool, set []string, after uint64, err error) {
	st, resumed, set, after, err = h.open(req)
	if !errors.Is(err, errNoResume) {
		return st, resumed, set, after, err
	}
	rec, ok, lerr := h.sessions.load(ctx, req.resumeID)
	if lerr != nil {
		// The session may live on: opening a fresh one would lose its
		// channels. The client is to retry with the same id.
		h.counters.brokerErrors.Add(1)
		h.log.Warn("ssevent: loading a session to resume", "client", req.resumeID, "err", lerr)
		if !errors.Is(lerr, ErrUnavailable) {
			lerr = fmt.Errorf("%w: %w", ErrUnavailable, lerr)
		}
		return nil, false, nil, 0, fmt.Errorf("ssevent: loading the session to resume: %w", lerr)
	}
	if !ok {
		return st, resumed, set, after, err
	}
	h.mu.Lock()
	s := h.clients[req.resumeID]
	if s == nil && !h.closed {
		s = &session{id: req.resumeID, channels: make(map[string]struct{}, len(rec.Channels)), owner: rec.Owner, keyHash: rec.KeyHash}
		atomic.StoreUint64(&s.cursor, rec.Cursor)
		h.clients[s.id] = s
		for _, ch := range rec.Channels {
			h.joinLocked(s, ch)
		}
	}
	h.mu.Unlock()
	st, resumed, set, after, err = h.open(req)
	if err != nil && s != nil {
		h.mu.Lock()
		if s.stream == nil && s.expiry == nil {
			h.forgetLocked(s)
		}
		h.mu.Unlock()
	}
	return st, resumed, set, after, err
}

// opened tells the cluster that st's session is held here: a new
// session's record is stored, a resumed one is taken from whichever hub
// held it. A failure is logged (the broker bounds the call): the stream
// goes on, and the record is stored when it ends (closed), so that the
// session can then be resumed on any hub.
func (c clusterSessions) opened(ctx context.Context, st *stream, resumed bool, set []string) {
	var err error
	if resumed {
		err = c.b.AttachSession(ctx, st.sess.id)
	} else {
		err = c.b.SaveSession(ctx, st.sess.id, SessionRecord{Channels: set, Owner: st.sess.owner, KeyHash: st.sess.keyHash}, 0)
	}
	if err != nil {
		c.h.counters.brokerErrors.Add(1)
		c.h.log.Warn("ssevent: storing a session in the cluster", "client", st.sess.id, "err", err)
	}
}

// closed records a session whose stream ended so that any hub can resume
// it within the resume window.
func (c clusterSessions) closed(st *stream, forgotten bool) {
	if st.reason == reasonTakenOver || st.reason.forgets() {
		return // moved to another stream, or ended through the cluster
	}
	h, s := c.h, st.sess
	h.mu.RLock()
	moved := s.stream != nil || (s.gone && !forgotten)
	rec := SessionRecord{Channels: s.channelList(), Cursor: atomic.LoadUint64(&s.cursor), Owner: s.owner, KeyHash: s.keyHash}
	h.mu.RUnlock()
	if moved {
		return
	}
	ctx := context.Background()
	var err error
	if h.cfg.ResumeWindow <= 0 {
		if err = c.b.EndSession(ctx, s.id); errors.Is(err, ErrUnknownClient) {
			err = nil
		}
	} else {
		err = c.b.SaveSession(ctx, s.id, rec, h.cfg.ResumeWindow)
	}
	if err != nil {
		h.counters.brokerErrors.Add(1)
		h.log.Warn("ssevent: recording a session for resumption", "client", s.id, "err", err)
	}
}

// apply is the cluster's Commands callback: it changes the sessions this
// hub holds. The cluster already updated its records and dropped what
// must be dropped, so nothing here calls the broker.
func (h *Hub) apply(c Command) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch c.Op {
	case CommandSubscribe, CommandUnsubscribe:
		s := h.clients[c.Client]
		if s == nil {
			return
		}
		for _, ch := range c.Channels {
			if c.Op == CommandSubscribe {
				h.joinLocked(s, ch)
			} else {
				h.leaveLocked(s, ch)
			}
		}
		h.notifyChannelsLocked(s, s.channelList())
	case CommandEnd:
		if s := h.clients[c.Client]; s != nil {
			h.endSessionLocked(s)
		}
	case CommandClear:
		for _, s := range h.clients {
			h.endSessionLocked(s)
		}
	case CommandAttach:
		s := h.clients[c.Client]
		if s == nil {
			return
		}
		if st := s.stream; st != nil {
			st.kick(reasonTakenOver)
			h.detachLocked(st)
		}
		h.forgetLocked(s)
	}
}

// presence lists the sessions with a stream on this hub, in no order.
// The broker asks for it every PresenceSync: while nothing changed it
// returns the list it returned before, the same slice, instead of listing
// every stream again under the registry's lock (ClusterHooks.Presence);
// when something changed it lists them again, each session's channel list
// shared with the previous list unless its channels changed.
func (h *Hub) presence() []SessionPresence {
	h.presenceMu.Lock()
	defer h.presenceMu.Unlock()
	if h.presenceList != nil && h.presenceGen.Load() == h.presenceAt {
		return h.presenceList
	}
	h.mu.RLock()
	gen := h.presenceGen.Load() // changes are made under the write lock
	out := make([]SessionPresence, 0, len(h.attached))
	for st := range h.attached {
		out = append(out, SessionPresence{ID: st.sess.id, Channels: st.sess.sortedChannels()})
	}
	h.mu.RUnlock()
	h.presenceList, h.presenceAt = out, gen
	return out
}

// resync ends every stream after the broker lost messages on their way to
// this hub: the clients reconnect, resume and replay from the shared
// history (or learn of the gap).
func (h *Hub) resync() {
	h.log.Warn("ssevent: messages were lost between the broker and this hub; ending its streams so that clients replay them")
	h.mu.RLock()
	defer h.mu.RUnlock()
	for st := range h.attached {
		st.kick(reasonResync)
	}
}
