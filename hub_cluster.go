package ssevent

// This file holds what a Hub does differently when its broker is a
// ClusterBroker: session state lives in the broker, and changes to a
// session held by another hub travel to it as Commands. With the in-memory
// broker, h.cluster is nil and none of this runs.
//
// The broker bounds each of its calls by itself (the Redis broker by its
// Options.Timeout) and returns an error wrapping ErrUnavailable when its
// store does not answer in time, so the calls here add no timeout of
// their own.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
)

// startBroker starts the broker, as a cluster member when it is one.
func (h *Hub) startBroker(opts BrokerOptions) error {
	cb, ok := h.broker.(ClusterBroker)
	if !ok {
		return h.broker.Start(opts, h.deliver)
	}
	h.cluster = cb
	return cb.StartCluster(opts, h.deliver, ClusterHooks{Apply: h.apply, Presence: h.presence, Resync: h.resync})
}

// knows reports whether a session with this id exists on this hub or, in a
// cluster, on any hub.
func (h *Hub) knows(ctx context.Context, id string) (bool, error) {
	h.mu.RLock()
	_, ok := h.clients[id]
	h.mu.RUnlock()
	if ok || h.cluster == nil {
		return ok, nil
	}
	_, ok, err := h.cluster.LoadSession(ctx, id)
	return ok, err
}

// clusterUpdate changes a session's channels through the cluster; the hub
// holding the session applies the change when the command reaches it,
// before any message published after this call returns.
func (h *Hub) clusterUpdate(ctx context.Context, op CommandOp, id string, channels []string) ([]string, error) {
	if h.isClosed() {
		return nil, ErrClosed
	}
	if op == CommandUnsubscribe && len(channels) == 0 {
		return nil, h.cluster.EndSession(ctx, id)
	}
	return h.cluster.UpdateSession(ctx, id, op, channels, h.cfg.MaxChannelsPerClient)
}

// clusterClear forgets every session of the cluster. When the cluster
// cannot be reached, this hub's sessions are ended all the same.
func (h *Hub) clusterClear(ctx context.Context) {
	if err := h.cluster.ClearSessions(ctx); err != nil {
		h.log.Warn("ssevent: clearing the cluster's sessions; ending this hub's only", "err", err)
		h.apply(Command{Op: CommandClear})
	}
}

// clusterClientCount is ClientCount for a cluster, falling back to this
// hub's streams when the cluster cannot be reached.
func (h *Hub) clusterClientCount(ctx context.Context) int {
	n, err := h.cluster.ClientCount(ctx)
	if err != nil {
		h.log.Warn("ssevent: counting the cluster's clients; counting this hub's only", "err", err)
		h.mu.RLock()
		defer h.mu.RUnlock()
		return len(h.attached)
	}
	return n
}

// clusterClientsByChannel is ClientsByChannel for a cluster, falling back
// to this hub's streams when the cluster cannot be reached.
func (h *Hub) clusterClientsByChannel(ctx context.Context, channel string) ([]string, bool) {
	ids, err := h.cluster.ClientsByChannel(ctx, channel)
	if err != nil {
		h.log.Warn("ssevent: listing the cluster's clients; listing this hub's only", "err", err)
		return nil, false
	}
	return ids, true
}

// openCluster is open, except that in a cluster a session to resume that
// this hub does not hold is taken from the cluster. When the cluster cannot
// tell whether the session lives, it returns an error wrapping
// ErrUnavailable, not a fresh session.
func (h *Hub) openCluster(ctx context.Context, req openRequest) (st *stream, resumed bool, set []string, after uint64, err error) {
	st, resumed, set, after, err = h.open(req)
	if h.cluster == nil || !errors.Is(err, errNoResume) {
		return st, resumed, set, after, err
	}
	rec, ok, lerr := h.cluster.LoadSession(ctx, req.resumeID)
	if lerr != nil {
		// The session may live on: opening a fresh one would lose its
		// channels. The client is to retry with the same id.
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

// clusterOpened tells the cluster that st's session is held here: a new
// session's record is stored, a resumed one is taken from whichever hub
// held it. A failure is logged (the broker bounds the call): the stream
// goes on, and the record is stored when it ends (clusterClosed), so that
// the session can then be resumed on any hub.
func (h *Hub) clusterOpened(ctx context.Context, st *stream, resumed bool, set []string) {
	if h.cluster == nil {
		return
	}
	var err error
	if resumed {
		err = h.cluster.AttachSession(ctx, st.sess.id)
	} else {
		err = h.cluster.SaveSession(ctx, st.sess.id, SessionRecord{Channels: set, Owner: st.sess.owner, KeyHash: st.sess.keyHash}, 0)
	}
	if err != nil {
		h.log.Warn("ssevent: storing a session in the cluster", "client", st.sess.id, "err", err)
	}
}

// clusterClosed records a session whose stream ended so that any hub can
// resume it within the resume window. forgotten tells whether this hub
// let it go when the stream ended.
func (h *Hub) clusterClosed(st *stream, forgotten bool) {
	if h.cluster == nil || st.reason == reasonTakenOver || st.reason.forgets() {
		return // moved to another stream, or ended through the cluster
	}
	s := st.sess
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
		if err = h.cluster.EndSession(ctx, s.id); errors.Is(err, ErrUnknownClient) {
			err = nil
		}
	} else {
		err = h.cluster.SaveSession(ctx, s.id, rec, h.cfg.ResumeWindow)
	}
	if err != nil {
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

// presence lists the sessions with a stream on this hub.
func (h *Hub) presence() []SessionPresence {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]SessionPresence, 0, len(h.attached))
	for st := range h.attached {
		out = append(out, SessionPresence{ID: st.sess.id, Channels: st.sess.channelList()})
	}
	slices.SortFunc(out, func(a, b SessionPresence) int { return cmp.Compare(a.ID, b.ID) })
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
		st.kick(reasonTimeout)
	}
}
