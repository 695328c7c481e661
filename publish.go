package ssevent

// Publishing: Send, SendTo and Broadcast hand a message to the broker,
// which delivers it back (deliver) to be encoded once and queued on every
// recipient's stream.

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ssevent/ssevent/shared"
)

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
	return h.publishData(ctx, t, event, KindJSON, payload)
}

// validChannel checks a channel name given to a publishing method.
func validChannel(channel string) error { return shared.ValidChannel(channel) }

// publishData publishes payload, JSON of the given kind, to t.
func (h *Hub) publishData(ctx context.Context, t Topic, event string, kind MessageKind, payload []byte) error {
	if len(payload) > h.cfg.MaxPayloadSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(payload), h.cfg.MaxPayloadSize)
	}
	h.mu.RLock()
	closed := h.closed
	h.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	start := time.Now()
	_, err := h.broker.Publish(ctx, Message{Topic: t, Event: event, Kind: kind, Data: payload})
	h.counters.publishNanos.Add(uint64(time.Since(start)))
	h.counters.published.Add(1)
	if err != nil {
		h.counters.publishErrors.Add(1)
	}
	return err
}

// deliver is the broker's callback: encode once, queue for every recipient
// and append to the feed of the fed ones (feed.go). The recipients are
// listed under the read lock and queued to after it is released, so that
// subscribing and connecting do not wait for a fan-out. The broker calls
// deliver one message at a time, which keeps each stream's queue and each
// feed in id order; a stream that ended meanwhile gets a frame nobody
// writes, and a stream attached meanwhile starts after this id
// (h.delivered), or replays it from the history, where it already is.
// Once every frame is in place the message is fed (h.fed), and then the
// fed streams waiting for it are woken.
func (h *Hub) deliver(m Message) {
	f := h.frameOf(m)
	var fds feedSet // a copy: the hub's may change once the lock is released
	h.mu.RLock()
	h.delivered.Store(m.ID)
	switch m.Topic.Kind {
	case TopicChannel:
		var to []*stream
		if r := h.lists[m.Topic.Name]; r != nil {
			to = r.get(func(to []*stream) []*stream {
				for s := range h.subs[m.Topic.Name] {
					if st := s.stream; st != nil && !st.fed {
						to = append(to, st)
					}
				}
				return to
			})
		}
		if set := h.feeds[m.Topic.Name]; set != nil {
			fds = *set
		}
		h.mu.RUnlock()
		h.fanout(to, f, &m)
	case TopicClient:
		if s := h.clients[m.Topic.Name]; s != nil && s.stream != nil {
			s.stream.enqueue(f.as(s.stream.dialect, &m, h))
			h.counters.delivered.Add(1)
		}
		h.mu.RUnlock()
	case TopicAll:
		to := h.allLocked()
		fds = h.allFeeds
		h.mu.RUnlock()
		h.fanout(to, f, &m)
	default:
		h.mu.RUnlock()
	}
	h.pushFeeds(&fds, f, &m)
	h.fed.Store(m.ID)
	h.wakeFeeds(&fds)
}

// recipients is a recipient list kept between fan-outs: the streams a
// delivery queues to, listed by the first delivery after a change and
// shared, read-only, by the deliveries after it. Listing 10,000
// subscribers anew for every message (a map walk and a pointer chase
// each) cost more than queueing to them. A list is dropped (reset)
// under the hub's write lock whenever what it lists changes; deliveries
// list it again under the read lock, so two may list it at once and
// keep either.
type recipients struct {
	list atomic.Pointer[[]*stream]
}

// get returns the list, made by fill (which appends the recipients to its
// argument) if there is none. The caller holds the hub's read lock.
func (r *recipients) get(fill func([]*stream) []*stream) []*stream {
	if p := r.list.Load(); p != nil {
		return *p
	}
	to := fill(nil)
	r.list.Store(&to)
	return to
}

// reset drops the list. The caller holds the hub's write lock.
func (r *recipients) reset() { r.list.Store(nil) }

// allLocked returns every attached stream that is not fed: the ones a
// broadcast is queued to. The caller holds h.mu.
func (h *Hub) allLocked() []*stream {
	return h.allList.get(func(to []*stream) []*stream {
		for st := range h.attached {
			if !st.fed {
				to = append(to, st)
			}
		}
		return to
	})
}

// everyLocked returns every attached stream. The caller holds h.mu.
func (h *Hub) everyLocked() []*stream {
	return h.everyList.get(func(to []*stream) []*stream {
		for st := range h.attached {
			to = append(to, st)
		}
		return to
	})
}

// resetListsLocked drops the recipient lists s is on, its channels' and
// the hub's, and the presence list. The caller holds h.mu for writing.
func (h *Hub) resetListsLocked(s *session) {
	h.presenceGen.Add(1)
	for ch := range s.channels {
		if r := h.lists[ch]; r != nil {
			r.reset()
		}
	}
	h.allList.reset()
	h.everyList.reset()
}

// fanout queues f, the frame of m (nil for a control event), on every
// stream of to, in the stream's dialect. to is shared: it is only read.
func (h *Hub) fanout(to []*stream, f *frame, m *Message) {
	for _, st := range to {
		if m != nil && st.dialect != dialectJSON {
			st.enqueue(f.as(st.dialect, m, h))
			continue
		}
		st.enqueue(f)
	}
	h.counters.delivered.Add(uint64(len(to)))
}

// enqueueAll queues f on every attached stream.
func (h *Hub) enqueueAll(f *frame) {
	h.mu.RLock()
	to := h.everyLocked()
	h.mu.RUnlock()
	h.fanout(to, f, nil)
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
