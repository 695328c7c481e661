package ssevent

import (
	"encoding/json"

	"github.com/ssevent/ssevent/shared"
)

// Replay: a stream that resumes from a Last-Event-ID reads what it missed
// from the broker's history a page at a time, each page once the writer
// has taken most of the previous one, so a replay goes at the client's
// pace and holds a position in the history, never a copy of it. Live
// events that arrive meanwhile wait in the stream's held list, within the
// stream's bounds; past them they are dropped and read again from the
// history, where they already are. Once a page comes back short (the
// history has nothing more) and the held events fit, they are released
// after the replayed ones, each id once, and the stream goes live.
//
// So a replay is never cut for the size of its backlog, only for not
// reading (a write that makes no progress for Config.WriteTimeout); and a
// client so slow that the history drops events before it reads them gets a
// gap event, then everything after.

// replayPage is how many messages the replayer reads from the history at a
// time: about a queue's byte bound of the largest events, within 64..1024.
func (h *Hub) replayPage() int {
	return min(max(h.cfg.QueueMaxBytes/h.cfg.MaxPayloadSize, 64), 1024)
}

// replay feeds st from the history after from until it goes live or ends.
// lastEventID is what the client presented, for the gap event.
func (h *Hub) replay(st *stream, from uint64, lastEventID string) {
	defer h.replays.Done()
	limit := h.replayPage()
	gapSent := false
	for {
		if !st.waitRoom() {
			return
		}
		topics, channels := h.topicsOf(st.sess)
		msgs, gap, err := h.broker.History(h.ctx, topics, from, limit)
		if err != nil {
			if st.isDone() {
				return
			}
			// What the history held cannot be read: say so, and go
			// live with what comes next.
			h.counters.brokerErrors.Add(1)
			h.log.Warn("ssevent: reading history for replay", "client", st.sess.id, "err", err)
			gap, msgs = true, nil
		}
		frames := make([]*frame, 0, len(msgs)+1)
		if gap && !gapSent {
			frames = append(frames, gapFrame(lastEventID, channels))
			h.counters.gaps.Add(1)
			gapSent = true
		}
		for i := range msgs {
			frames = append(frames, h.frameOf(msgs[i]).as(st.dialect, &msgs[i], h))
		}
		h.counters.delivered.Add(uint64(len(msgs)))
		live, last := st.appendReplay(frames, err != nil || len(msgs) < limit, err != nil)
		if live {
			h.feedStream(st)
			return
		}
		from = last
	}
}

// topicsOf lists the topics a session's replay reads, and its channels.
func (h *Hub) topicsOf(s *session) ([]Topic, []string) {
	h.mu.RLock()
	channels := s.channelList()
	h.mu.RUnlock()
	topics := make([]Topic, 0, len(channels)+2)
	for _, ch := range channels {
		topics = append(topics, Topic{Kind: TopicChannel, Name: ch})
	}
	return append(topics, Topic{Kind: TopicAll}, Topic{Kind: TopicClient, Name: s.id}), channels
}

// gapFrame is the gap event for a client that presented lastEventID.
func gapFrame(lastEventID string, channels []string) *frame {
	if channels == nil {
		channels = []string{}
	}
	data, _ := json.Marshal(shared.Gap{LastEventID: lastEventID, Channels: channels})
	b, _ := shared.AppendEvent(nil, &shared.Event{Name: shared.EventGap, Data: data})
	return &frame{b: b}
}

// waitRoom waits until the writer has taken most of the queue. It reports
// false when the stream ended.
func (st *stream) waitRoom() bool {
	for {
		st.mu.Lock()
		roomy := st.roomyLocked()
		st.mu.Unlock()
		if roomy {
			return !st.isDone()
		}
		select {
		case <-st.room:
		case <-st.done:
			return false
		}
	}
}

// roomyLocked reports whether the queue is within half its bounds, so
// that a stream going live does not trip them with its next events.
func (st *stream) roomyLocked() bool {
	cfg := &st.hub.cfg
	return st.queued <= cfg.QueueMaxBytes/2 && len(st.queue) <= cfg.QueueSize/2
}

// appendReplay queues a page of replayed frames, each id once. When the
// history had nothing more (caughtUp), the held live frames follow them;
// if the queue is then within half its bounds, the stream goes live (live
// true); otherwise the replayer waits for the writer and reads once more.
// force goes live in any case. last is the highest id queued, from where
// to read on.
func (st *stream) appendReplay(frames []*frame, caughtUp, force bool) (live bool, last uint64) {
	st.mu.Lock()
	add := func(fs []*frame) {
		for _, f := range fs {
			if f.id == 0 || f.id > st.lastID {
				st.pushLocked(f)
			}
		}
	}
	// A page goes in only as far as the byte bound: the rest is read
	// again, from lastID, once the writer has made room.
	for i, f := range frames {
		if st.queued >= st.hub.cfg.QueueMaxBytes && f.id != 0 {
			caughtUp = false
			break
		}
		add(frames[i : i+1])
	}
	if caughtUp {
		if st.heldLost && !force {
			// The dropped live frames are in the history after
			// lastID: the next page reads them.
			st.heldLost = false
		} else {
			add(st.held)
			clear(st.held)
			st.held, st.heldBytes, st.heldLost = nil, 0, false
			if force || st.roomyLocked() {
				st.replaying = false
				live = true
			}
		}
	}
	last = st.lastID
	st.signalLocked()
	return live, last
}
