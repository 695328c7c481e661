package ssevent

// BenchStreams are streams attached to a hub without HTTP, for benchmarks:
// publishing queues frames on them, and nothing writes them.
type BenchStreams struct {
	h       *Hub
	streams []*stream
}

// AttachStreams opens n sessions subscribed to channel, each with a stream
// whose queue only Drain empties.
func AttachStreams(h *Hub, channel string, n int) (*BenchStreams, error) {
	channels := make([]string, n)
	for i := range channels {
		channels[i] = channel
	}
	return AttachEach(h, channels)
}

// AttachEach opens a session for each of channels, subscribed to it (to
// none for ""), with a stream whose queue only Drain empties.
func AttachEach(h *Hub, channels []string) (*BenchStreams, error) {
	bs := &BenchStreams{h: h, streams: make([]*stream, 0, len(channels))}
	for _, ch := range channels {
		var req openRequest
		if ch != "" {
			req.channels = []string{ch}
		}
		st, _, _, _, err := h.open(req)
		if err != nil {
			bs.Close()
			return nil, err
		}
		bs.streams = append(bs.streams, st)
	}
	return bs, nil
}

// IDs returns the client ids of the streams.
func (bs *BenchStreams) IDs() []string {
	ids := make([]string, len(bs.streams))
	for i, st := range bs.streams {
		ids[i] = st.sess.id
	}
	return ids
}

// Drain empties every queue, keeping its buffer, and returns the number of
// frames dropped.
func (bs *BenchStreams) Drain() int { return bs.DrainFirst(len(bs.streams)) }

// DrainFirst is Drain for the first k streams only.
func (bs *BenchStreams) DrainFirst(k int) int {
	n := 0
	for _, st := range bs.streams[:k] {
		for _, r := range st.feeds {
			n += len(r.claim(st.hub.fed.Load()))
		}
		st.mu.Lock()
		n += len(st.queue)
		clear(st.queue)
		st.queue, st.queued = st.queue[:0], 0
		st.mu.Unlock()
		select {
		case <-st.wake:
		default:
		}
	}
	return n
}

// Feed makes every stream fed (feed.go), as a stream taken over is once
// live. Nothing writes them: Drain moves them to their feeds' ends.
func (bs *BenchStreams) Feed() {
	for _, st := range bs.streams {
		st.mu.Lock()
		st.detached, st.scheduled = true, true // no writer is ever scheduled
		st.mu.Unlock()
		bs.h.feedStream(st)
	}
}

// Close ends the streams and forgets their sessions.
func (bs *BenchStreams) Close() {
	for _, st := range bs.streams {
		st.kick(reasonEnded)
		bs.h.closeStream(st)
	}
	bs.streams = nil
}

// EncodeMessage is the hub's encoder of a published message.
func EncodeMessage(m Message) []byte { return encodeMessage(m, "k3x9ab").b }

// Presence is the list the hub gives a ClusterBroker's presence.
func Presence(h *Hub) []SessionPresence { return h.presence() }

// Fed reports whether the stream of client id reads its channels from
// feeds (feed.go).
func Fed(h *Hub, id string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := h.clients[id]
	if s == nil || s.stream == nil {
		return false
	}
	s.stream.mu.Lock()
	defer s.stream.mu.Unlock()
	return s.stream.fed
}

// FeedFrames returns the frames channel's JSON feed keeps, -1 if it has
// none.
func FeedFrames(h *Hub, channel string) int {
	h.mu.RLock()
	var fd *feed
	if set := h.feeds[channel]; set != nil {
		fd = set[dialectJSON]
	}
	h.mu.RUnlock()
	if fd == nil {
		return -1
	}
	fd.mu.Lock()
	defer fd.mu.Unlock()
	return len(fd.frames)
}
