package ssevent

// Feeds: a detached stream, once live, reads its channels' messages from
// one shared list per channel and dialect (a feed) instead of
// having each message queued to it. Publishing to a channel then costs one
// append, whatever its number of subscribers, and a writer that comes to
// the stream later finds every message published meanwhile, to write in
// one go. A fan-out that queues to every subscriber costs a lock and an
// append per subscriber per message (about 100 ns each at 10,000
// subscribers, docs/PERFORMANCE.md), and the writers, draining the queues
// while the fan-out fills them, write a few events at a time.
//
// Such a stream (fed) reads from a reader on each of its channels' feeds
// and on the hub's feed of broadcasts; messages sent to its client, and
// heartbeats, probes and notices, still go to its queue. The writer
// merges them in id order (collect), which needs one rule: the broker
// delivers one message at a time, and the hub records each as fed once
// every frame of it is in place (Hub.fed). A writer takes the queue, then
// reads fed, then takes from its feeds the frames up to fed: every frame
// with a lower id is then in its hands, and the queue holds at most the
// one message being delivered beyond it.
//
// A feed keeps its frames until every reader has passed them. Every so
// many frames (check), the publisher drops what all readers have passed
// and cuts the readers that are further behind than the stream's bounds
// (Config.QueueSize, Config.QueueMaxBytes), as a queue over them would be:
// the frames are shared, so the bound is on lag, not on memory per stream.
//
// A feed holds its channel's frames in one dialect (the JSON envelope, or
// htmx's or Datastar's form of the message), made once per message as for
// queued streams. Replaying streams and standard-path streams keep their
// queue for everything.

import (
	"slices"
	"sync"
	"sync/atomic"
)

// feed is one channel's (or the broadcasts') list of recent frames in one
// dialect, shared by its fed readers.
type feed struct {
	name string // the channel
	all  bool   // the broadcasts' instead
	d    dialect

	mu sync.Mutex
	// frames are at positions first, first+1, ...; cums[i] is the bytes
	// pushed up to and including frames[i]. Neither array is written
	// below its length: dropping frames reslices, pushing appends, so
	// the frames a writer claimed stay as they were in its hands.
	frames  []*frame
	cums    []int64
	first   uint64
	base    int64 // bytes of the frames before first
	bytes   int64 // bytes of every frame pushed
	readers []*feedReader
	idle    []*feedReader // readers waiting for the next frame, woken by wake
	// The next bound check runs at position checkAt or once bytes
	// reaches checkBytes, whichever comes first.
	checkAt    uint64
	checkBytes int64
}

// feedReader is one stream's place in one feed. Its fields are guarded by
// the feed's lock.
type feedReader struct {
	st      *stream
	feed    *feed
	pos     uint64 // the next position to read
	idx     int    // in feed.readers
	idleIdx int    // in feed.idle while idle
	idle    bool
	gone    bool // removed, or cut for lag: reads nothing more
}

// end returns the position after the last frame. The caller holds fd.mu.
func (fd *feed) end() uint64 { return fd.first + uint64(len(fd.frames)) }

// before returns the bytes pushed before position p. The caller holds
// fd.mu.
func (fd *feed) before(p uint64) int64 {
	if p <= fd.first {
		return fd.base
	}
	return fd.cums[p-1-fd.first]
}

// add makes a reader for st at the feed's end; idle registers it to be
// woken by the next frame.
func (fd *feed) add(st *stream, idle bool) *feedReader {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	r := &feedReader{st: st, feed: fd, pos: fd.end(), idx: len(fd.readers)}
	fd.readers = append(fd.readers, r)
	if idle {
		fd.idleLocked(r)
	}
	return r
}

// idleLocked registers r to be woken by the next frame.
func (fd *feed) idleLocked(r *feedReader) {
	if r.idle {
		return
	}
	r.idle, r.idleIdx = true, len(fd.idle)
	fd.idle = append(fd.idle, r)
}

// remove takes r off the feed and returns the frames it had not read. It
// reports whether the feed has no reader left.
func (fd *feed) remove(r *feedReader) (unread []*frame, empty bool) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if r.gone && r.idx < 0 {
		return nil, len(fd.readers) == 0
	}
	if !r.gone {
		for i := int(r.pos - fd.first); i < len(fd.frames); i++ {
			unread = append(unread, fd.frames[i])
		}
	}
	r.gone = true
	last := len(fd.readers) - 1
	fd.readers[r.idx] = fd.readers[last]
	fd.readers[r.idx].idx = r.idx
	fd.readers[last] = nil
	fd.readers = fd.readers[:last]
	r.idx = -1
	if r.idle {
		last := len(fd.idle) - 1
		fd.idle[r.idleIdx] = fd.idle[last]
		fd.idle[r.idleIdx].idleIdx = r.idleIdx
		fd.idle[last] = nil
		fd.idle = fd.idle[:last]
		r.idle = false
	}
	if len(fd.readers) == 0 {
		fd.base, fd.first = fd.bytes, fd.end()
		fd.frames, fd.cums = nil, nil
	}
	return unread, len(fd.readers) == 0
}

// push appends f, a frame every reader of the feed gets. It returns the
// number of readers and, when a bound check ran, the streams it cut for
// lag, which the caller kicks.
func (fd *feed) push(f *frame, cfg *Config) (readers int, slow []*stream) {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	fd.bytes += int64(len(f.b))
	fd.frames = append(fd.frames, f)
	fd.cums = append(fd.cums, fd.bytes)
	if fd.end() >= fd.checkAt || fd.bytes >= fd.checkBytes {
		slow = fd.checkLocked(cfg)
	}
	return len(fd.readers), slow
}

// checkLocked cuts the readers further behind than the bounds, drops the
// frames every other reader has passed, and sets the next check: after
// half the count bound or half the byte bound more, or sooner while few
// frames are kept and the readers are few, so that a reader is cut before
// it lags by half as much again and the feed keeps about what its slowest
// reader has not read.
func (fd *feed) checkLocked(cfg *Config) (slow []*stream) {
	end := fd.end()
	low := end
	for _, r := range fd.readers {
		if r.gone {
			continue
		}
		if end-r.pos > uint64(cfg.QueueSize) || fd.bytes-fd.before(r.pos) > int64(cfg.QueueMaxBytes) {
			r.gone = true
			slow = append(slow, r.st)
			continue
		}
		low = min(low, r.pos)
	}
	if drop := int(low - fd.first); drop > 0 {
		fd.dropLocked(drop)
	}
	// A check visits every reader: with many, it runs less often (up to
	// half the bound), so that it costs a publisher a few visits a frame.
	step := uint64(max(min(cfg.QueueSize/2, max(len(fd.frames), 32, len(fd.readers)/16)), 1))
	fd.checkAt = end + step
	fd.checkBytes = fd.bytes + int64(max(cfg.QueueMaxBytes/2, 1))
	return slow
}

// dropLocked drops the first n frames. The arrays are resliced, not
// changed: a writer may hold a slice of them. An array emptied is let go,
// and a big one mostly dropped is copied, so that neither keeps its
// dropped frames from being freed.
func (fd *feed) dropLocked(n int) {
	fd.base = fd.cums[n-1]
	fd.frames, fd.cums = fd.frames[n:], fd.cums[n:]
	fd.first += uint64(n)
	switch {
	case len(fd.frames) == 0:
		// An empty slice of the old arrays would still keep them, and
		// the frames in them, until the next push.
		fd.frames, fd.cums = nil, nil
	case cap(fd.frames) > 64 && len(fd.frames) < cap(fd.frames)/4:
		fd.frames, fd.cums = slices.Clone(fd.frames), slices.Clone(fd.cums)
	}
}

// wake returns the streams of the readers waiting for a frame, and
// clears the list.
func (fd *feed) wake(into []*stream) []*stream {
	fd.mu.Lock()
	defer fd.mu.Unlock()
	for _, r := range fd.idle {
		r.idle = false
		if !r.gone {
			into = append(into, r.st)
		}
	}
	clear(fd.idle)
	fd.idle = fd.idle[:0]
	if cap(fd.idle) > 4096 {
		fd.idle = nil
	}
	return into
}

// claim returns the frames after r's position with ids up to upto, and
// moves r past them. The slice is the feed's: the caller must not change
// it.
func (r *feedReader) claim(upto uint64) []*frame {
	fd := r.feed
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if r.gone {
		return nil
	}
	i := int(r.pos - fd.first)
	j := i
	for j < len(fd.frames) && fd.frames[j].id <= upto {
		j++
	}
	if j == i {
		return nil
	}
	out := fd.frames[i:j:j]
	r.pos = fd.first + uint64(j)
	if len(fd.readers) == 1 {
		// The only reader has these: the feed keeps none of them (a
		// channel of its own holds no frames between writes).
		fd.dropLocked(j)
	}
	return out
}

// settle registers r to be woken by the next frame, unless a frame the
// writer may take (one fed by now, fed reports) is there to read. It
// reports whether r was registered (or reads nothing more).
//
// A frame not yet fed is left for the wake: the publisher records a
// message as fed before it wakes the feed's idle readers, and it wakes
// them under the feed's lock, so a reader registered now is woken.
func (r *feedReader) settle(fed *atomic.Uint64) bool {
	fd := r.feed
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if r.gone {
		return true
	}
	// fed is read under the lock: read before it, it could miss a
	// message fed, and its idle readers woken, before the reader is
	// registered.
	if i := int(r.pos - fd.first); i < len(fd.frames) && fd.frames[i].id <= fed.Load() {
		return false
	}
	fd.idleLocked(r)
	return true
}

// lag returns the bytes r has not read.
func (r *feedReader) lag() int64 {
	fd := r.feed
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if r.gone {
		return 0
	}
	return fd.bytes - fd.before(r.pos)
}

// feedSet is a channel's feeds (or the broadcasts'), by dialect; nil
// where no fed stream reads that dialect.
type feedSet [numDialects]*feed

// feedLocked returns the feed of channel ch (of the broadcasts if all) in
// dialect d, made if there is none. The caller holds h.mu for writing.
func (h *Hub) feedLocked(ch string, all bool, d dialect) *feed {
	set := &h.allFeeds
	if !all {
		if set = h.feeds[ch]; set == nil {
			set = new(feedSet)
			h.feeds[ch] = set
		}
	}
	if set[d] == nil {
		set[d] = &feed{name: ch, all: all, d: d}
	}
	return set[d]
}

// forgetFeedLocked forgets fd, a channel's feed that has no reader left.
// The caller holds h.mu for writing.
func (h *Hub) forgetFeedLocked(fd *feed) {
	set := h.feeds[fd.name]
	if fd.all || set == nil || set[fd.d] != fd {
		return
	}
	set[fd.d] = nil
	if *set == (feedSet{}) {
		delete(h.feeds, fd.name)
	}
}

// feedStream makes st a fed stream if it can be one: attached, detached,
// live (not replaying), and not ended. Frames
// already queued to it stay in its queue; the writer merges them with
// what its feeds bring, each id once.
func (h *Hub) feedStream(st *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := st.sess
	if s.stream != st || st.isDone() || h.closed {
		return
	}
	st.mu.Lock()
	if !st.detached || st.replaying || st.fed {
		st.mu.Unlock()
		return
	}
	idle := !st.scheduled
	readers := make([]*feedReader, 0, len(s.channels)+1)
	for ch := range s.channels {
		readers = append(readers, h.feedLocked(ch, false, st.dialect).add(st, idle))
	}
	readers = append(readers, h.feedLocked("", true, st.dialect).add(st, idle))
	st.feeds, st.fed = readers, true
	st.mu.Unlock()
	h.resetListsLocked(s)
}

// joinFeedLocked gives a fed stream a reader on channel ch's feed. The
// caller holds h.mu for writing.
func (h *Hub) joinFeedLocked(st *stream, ch string) {
	fd := h.feedLocked(ch, false, st.dialect)
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, r := range st.feeds {
		if r.feed == fd {
			return
		}
	}
	// A new slice: a writer may be reading the old one.
	st.feeds = append(slices.Clip(st.feeds), fd.add(st, !st.scheduled))
}

// leaveFeedLocked takes a fed stream's reader off channel ch's feed. The
// caller holds h.mu for writing.
func (h *Hub) leaveFeedLocked(st *stream, ch string) {
	set := h.feeds[ch]
	if set == nil || set[st.dialect] == nil {
		return
	}
	fd := set[st.dialect]
	st.mu.Lock()
	i := slices.IndexFunc(st.feeds, func(r *feedReader) bool { return r.feed == fd })
	if i < 0 {
		st.mu.Unlock()
		return
	}
	r := st.feeds[i]
	// A new slice: a writer may be reading the old one.
	st.feeds = slices.Delete(slices.Clone(st.feeds), i, i+1)
	h.dropReaderLocked(st, r)
}

// unfeedLocked takes a stream that is detached from its session off its
// feeds. The caller holds h.mu for writing.
func (h *Hub) unfeedLocked(st *stream) {
	st.mu.Lock()
	readers := st.feeds
	st.feeds = nil
	st.mu.Unlock()
	for _, r := range readers {
		st.mu.Lock()
		h.dropReaderLocked(st, r) // unlocks
	}
}

// dropReaderLocked takes r, a reader of st, off its feed, forgetting the
// feed once it has no reader. What r had not read was published while the
// stream was subscribed: it goes to the stream's queue, even if the stream
// is ending, as if queued then; a stream the server ends writes it. The
// caller holds h.mu for writing and st.mu, which it unlocks.
func (h *Hub) dropReaderLocked(st *stream, r *feedReader) {
	fd := r.feed
	unread, empty := fd.remove(r)
	if empty {
		h.forgetFeedLocked(fd)
	}
	if len(unread) == 0 {
		st.mu.Unlock()
		return
	}
	for _, f := range unread {
		st.queue = append(st.queue, f)
		st.queued += len(f.b)
		st.lastID = max(st.lastID, f.id)
	}
	st.signalLocked()
}

// collect hands the writer what the stream has to write: its queue and,
// for a fed stream, what its feeds hold up to upto (0: what is fed by
// now), merged in id order, each id once. Like take, it leaves publishers
// a fresh queue. own reports whether the writer may recycle the slice; a
// feed's own slice, which it may not change, is returned when it alone
// has frames.
func (st *stream) collect(upto uint64) (q []*frame, own bool) {
	st.mu.Lock()
	q = st.queue
	st.queue, st.spare = st.spare[:0], nil
	if !st.fed {
		st.writing = len(q) > 0
		st.mu.Unlock()
		if last := lastIDOf(q); last != 0 {
			st.fedLast = last // ids come in order: the high-water mark
		}
		return q, true
	}
	// A fed stream's bound counts only what waits in its queue.
	st.queued = 0
	st.writing = true
	feeds := st.feeds
	st.mu.Unlock()
	if upto == 0 {
		upto = st.hub.fed.Load()
	}
	var run []*frame // the one feed with frames, while there is one
	runs := 0
	n := len(q)
	for _, r := range feeds {
		got := r.claim(upto)
		switch {
		case len(got) == 0:
			continue
		case runs == 0 && n == 0:
			run = got
		case run != nil:
			q = append(append(q, run...), got...)
			run = nil
		default:
			q = append(q, got...)
		}
		runs++
	}
	if run != nil {
		// Each id once: skip what the writer already has (below).
		i := 0
		for i < len(run) && run[i].id <= st.fedLast {
			i++
		}
		run = run[i:]
		if len(run) > 0 {
			st.fedLast = run[len(run)-1].id
		}
		if cap(q) > 0 {
			st.recycle(q)
		}
		return run, false
	}
	if n > 0 && runs > 0 || runs > 1 {
		sortFrames(q, n)
	}
	// Each id once: a stream made fed while a message was being
	// delivered may get it both queued and in a feed; a reader taken off
	// a feed hands its unread frames to the queue.
	out := q[:0]
	for _, f := range q {
		if f.id != 0 {
			if f.id <= st.fedLast {
				continue
			}
			st.fedLast = f.id
		}
		out = append(out, f)
	}
	clear(q[len(out):])
	return out, true
}

// sortFrames orders q by id, where q[:n] is the queue and the rest runs of
// feed frames, each in id order. A frame without an id (a heartbeat, a
// notice) keeps its place after the queued frame before it.
func sortFrames(q []*frame, n int) {
	type keyed struct {
		key uint64
		f   *frame
	}
	ks := make([]keyed, len(q))
	var key uint64
	for i, f := range q {
		if i == n {
			key = 0
		}
		if f.id != 0 {
			key = f.id
		}
		ks[i] = keyed{key, f}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	for i := range ks {
		q[i] = ks[i].f
	}
}

// settleLocked reports whether a fed stream's feeds have nothing the
// writer may take, registering it with each to be woken by its next frame.
// A stream fed by its queue alone has nothing more once the queue is
// empty. The caller holds st.mu.
func (st *stream) settleLocked() bool {
	if !st.fed {
		return true
	}
	for _, r := range st.feeds {
		if !r.settle(&st.hub.fed) {
			return false
		}
	}
	return true
}

// feedLag returns the bytes a fed stream's feeds hold that it has not
// read.
func (st *stream) feedLag() int64 {
	st.mu.Lock()
	feeds := st.feeds
	st.mu.Unlock()
	var n int64
	for _, r := range feeds {
		n += r.lag()
	}
	return n
}

// pushFeed appends f to fd, kicks the readers it cut for lag, and counts
// the deliveries.
func (h *Hub) pushFeed(fd *feed, f *frame) {
	n, slow := fd.push(f, &h.cfg)
	for _, st := range slow {
		st.kick(reasonSlow)
	}
	h.counters.delivered.Add(uint64(n))
}

// pushFeeds appends to each feed of fds the frame of m in its dialect,
// f being the JSON one.
func (h *Hub) pushFeeds(fds *feedSet, f *frame, m *Message) {
	for d, fd := range fds {
		if fd != nil {
			h.pushFeed(fd, f.as(dialect(d), m, h))
		}
	}
}

// wakeFeeds hands the streams waiting on the feeds of fds to the writer
// pool.
func (h *Hub) wakeFeeds(fds *feedSet) {
	for _, fd := range fds {
		if fd != nil {
			h.wakeFeed(fd)
		}
	}
}

// wakeFeed hands the streams waiting on fd to the writer pool.
func (h *Hub) wakeFeed(fd *feed) {
	buf := h.wakeBuf[:0]
	buf = fd.wake(buf)
	for _, st := range buf {
		st.mu.Lock()
		run := !st.scheduled
		st.scheduled = true
		st.mu.Unlock()
		if !run {
			continue
		}
		h.pool.schedule(st)
	}
	clear(buf)
	if cap(buf) <= 4096 {
		h.wakeBuf = buf[:0]
	}
}
