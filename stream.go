package ssevent

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// frame is one encoded event, shared by all the streams it is queued on and,
// with the in-memory broker, by the history that replays it.
type frame struct {
	id uint64 // 0 for events without an id (heartbeat, gap, probe)
	b  []byte
	// lossy frames (heartbeats, probes) keep a stream alive: one that
	// is replaying, and so busy, does without them.
	lossy bool
	// alts holds the message's encodings in other dialects (dialect.go).
	alts atomic.Pointer[alts]
}

// reason says why a stream ended.
type reason int32

const (
	reasonNone      reason = iota
	reasonGone             // the client went away
	reasonTimeout          // Config.Timeout passed
	reasonSlow             // the queue passed its count or byte bound
	reasonWrite            // a write failed or made no progress in time
	reasonStale            // the cleanup sweep found no progress
	reasonTakenOver        // a new stream resumed the same session
	reasonEnded            // Unsubscribe(id) or ClearClients
	reasonClosed           // Hub.Close
	reasonShutdown         // the http.Server the stream came through shut down
	reasonSent             // the client sent bytes after its request
	reasonResync           // the broker lost messages on their way to the hub
)

// String is the reason's name as DisconnectReason says it (stats.go).
func (r reason) String() string { return string(disconnectReasons[r]) }

// forgets reports whether a stream that ended this way loses its session.
func (r reason) forgets() bool { return r == reasonEnded }

// notable reports whether the end is worth an Info log record.
func (r reason) notable() bool {
	return r == reasonSlow || r == reasonWrite || r == reasonStale || r == reasonSent
}

// drains reports whether a stream that ended this way writes what is
// queued first: the server chose to end it, and the client is reading.
func (r reason) drains() bool {
	return r == reasonClosed || r == reasonTimeout || r == reasonShutdown || r == reasonEnded || r == reasonResync
}

// interrupts reports whether a write blocked when the stream ends this way
// is cut short (its deadline moved to now): the client is not reading, or
// not wanted.
func (r reason) interrupts() bool { return !r.drains() }

// stream is one open event stream. Publishers append to its queue; a writer
// (the request goroutine on the standard path, the pool on the detached
// one) drains it.
//
// Memory: the queue holds shared frames, at most Config.QueueSize of them
// and Config.QueueMaxBytes of their bytes (a stream over either bound is
// cut as a slow consumer); a writer holds at most one batch (maxBatch
// bytes) besides. A replaying stream reads the history a page at a time
// as its queue drains (replay.go), so it holds a position in the history,
// not a copy of it.
type stream struct {
	hub  *Hub
	sess *session
	srv  *http.Server // the server the request came through; nil if unknown
	// http2 marks a stream over HTTP/2 or later (Stats).
	http2 bool
	// start is the stream's starting position: the id of its connected
	// event. Set by Hub.open.
	start uint64
	// dialect is the wire format the client reads (dialect.go). Set
	// before the stream is attached.
	dialect dialect

	mu      sync.Mutex
	queue   []*frame // frames waiting for the writer
	spare   []*frame // a drained queue's array, for the next one
	queued  int      // bytes of the unwritten frames, in the queue or in the writer's hands
	lastID  uint64   // highest id queued: later frames at or below it are duplicates
	writing bool

	// Replay (replay.go). While replaying, live frames wait in held, up
	// to the stream's bounds; past them they are dropped and read again
	// from the history, where they already are.
	replaying bool
	held      []*frame
	heldBytes int
	heldLost  bool
	room      chan struct{} // capacity 1: the writer took frames; the replayer may read on. Made for a replay only.
	// started is set once the stream's head and connected event are
	// written (begin); overflowed marks a queue that passed its bounds
	// before that, while the head was on its way: not the client's
	// doing, so the stream replays from its start instead of being cut.
	started    bool
	overflowed bool

	wake     chan struct{} // capacity 1: "the queue is not empty"
	done     chan struct{} // closed by kick
	kicked   atomic.Bool   // set by kick, before done is closed
	kickOnce sync.Once
	reason   reason
	// deadline sets write deadlines on the standard path's connection;
	// nil until the stream's path is settled, so that a kick during the
	// takeover cannot cut the response head.
	deadline atomic.Pointer[http.ResponseController]
	progress atomic.Int64 // Unix nanoseconds of the last completed write
	// probe marks a standard-path HTTP/1.x stream: the hub cannot watch
	// its socket, so it writes a comment now and then to learn that the
	// client left.
	probe atomic.Bool

	// A detached stream (detach.go) has no goroutine of its own: writers
	// from the hub's pool drain it. Guarded by mu.
	detached  bool
	scheduled bool // a writer owns the stream (or will): do not schedule it again
	conn      atomic.Pointer[detachedConn]
	timer     *time.Timer   // Config.Timeout of a detached stream
	ended     chan struct{} // closed once a detached stream has ended
	// written counts the bytes written to a detached stream's
	// connection, beneath its response writer.
	written atomic.Int64
	// pending is the unwritten end of a batch whose write would have
	// blocked, and pendingLast the last id in it. Owned by the writer
	// that owns the stream.
	pending      []byte
	pendingLast  uint64
	pendingBytes int      // the queued bytes of the batch pending ends
	rest         []*frame // the frames after it, taken from the queue

	// A fed stream (feed.go) reads its channels' messages and the
	// broadcasts from feeds, one reader each; fed and feeds are guarded
	// by mu, feeds replaced rather than changed. fedLast, the highest id
	// the writer has collected, is owned by the writer that owns the
	// stream: a frame at or below it is one the stream already has.
	fed     bool
	feeds   []*feedReader
	fedLast uint64

	// turn hands a standard-path stream its turn to write (turns.go);
	// turnState and turnSince are guarded by the turns' lock.
	turn      chan struct{}
	turnState int8
	turnSince int64
}

func newStream(h *Hub, s *session) *stream {
	st := &stream{hub: h, sess: s, wake: make(chan struct{}, 1), done: make(chan struct{})}
	st.progress.Store(time.Now().UnixNano())
	return st
}

// enqueue queues f without blocking. A stream over its bounds ends: the
// client reconnects and gets what it missed by replay.
func (st *stream) enqueue(f *frame) {
	cfg := &st.hub.cfg
	st.mu.Lock()
	switch {
	case f.id != 0 && f.id <= st.lastID || st.isDone():
		// A duplicate, or a stream that is ending: what it has queued
		// goes out (or not), and its client gets the rest by replay.
		// Queuing more could leave a hole: a frame refused for the
		// bounds, then a later one let in once the writer made room.
		st.mu.Unlock()
		return
	case st.replaying:
		switch {
		case f.lossy:
			// The replay keeps the stream busy.
		case st.heldLost && f.id != 0:
		case len(st.held) >= cfg.QueueSize || st.heldBytes+len(f.b) > cfg.QueueMaxBytes:
			// The history holds these frames: the replayer reads them
			// from there instead.
			clear(st.held)
			st.held, st.heldBytes, st.heldLost = nil, 0, true
		default:
			st.held = append(st.held, f)
			st.heldBytes += len(f.b)
		}
		st.mu.Unlock()
		return
	case len(st.queue) >= cfg.QueueSize || st.queued+len(f.b) > cfg.QueueMaxBytes:
		if !st.started {
			st.overflowLocked()
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
		st.kick(reasonSlow)
		return
	}
	st.pushLocked(f)
	st.signalLocked()
}

// overflowLocked turns a stream whose queue passed its bounds before its
// head was written into a replaying one: its events are dropped from the
// queue, to be read again from the history from the stream's start once
// the head is out (begin). Frames without an id that are not lossy (a gap
// event, a notice) stay. The caller holds st.mu.
func (st *stream) overflowLocked() {
	kept, n := st.queue[:0], 0
	for _, f := range st.queue {
		if f.id == 0 && !f.lossy {
			kept = append(kept, f)
			n += len(f.b)
		}
	}
	clear(st.queue[len(kept):])
	st.queue, st.queued = kept, n
	st.replaying, st.heldLost, st.overflowed = true, true, true
	st.lastID = st.start
	if st.room == nil {
		st.room = make(chan struct{}, 1)
	}
}

// begin records that the stream's head and connected event are written,
// and starts the replay of a queue that overflowed before
// (overflowLocked). The caller is the request's goroutine, while the
// stream is open.
func (st *stream) begin() {
	st.mu.Lock()
	st.started = true
	due := st.overflowed
	st.mu.Unlock()
	if !due {
		return
	}
	h := st.hub
	h.counters.replays.Add(1)
	h.replays.Add(1)
	go h.replay(st, st.start, shared.EventID{Epoch: h.epoch(), Seq: st.start}.String())
}

// pushLocked appends f to the queue.
func (st *stream) pushLocked(f *frame) {
	st.queue = append(st.queue, f)
	st.queued += len(f.b)
	if f.id != 0 {
		st.lastID = f.id
	}
}

// signalLocked tells the stream's writer there is work, and unlocks st.mu.
// A stream served by its request goroutine is woken; a detached one is
// handed to the writer pool unless a writer already owns it.
func (st *stream) signalLocked() {
	if st.detached {
		run := !st.scheduled
		st.scheduled = true
		st.mu.Unlock()
		if run {
			st.hub.pool.schedule(st)
		}
		return
	}
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// maxBatch bounds the bytes gathered into one write.
const maxBatch = 64 << 10

// keepQueue is the largest queue capacity a stream keeps once drained.
const keepQueue = 64

// take hands the whole queue to the writer, which owns it until recycle:
// publishers go on with a fresh queue meanwhile, so that the lock is held
// for a swap, not for a pass over the frames. Its bytes still count
// against the stream's bound until sent reports them written.
func (st *stream) take() []*frame {
	st.mu.Lock()
	q := st.queue
	st.queue, st.spare = st.spare[:0], nil
	st.writing = len(q) > 0
	st.mu.Unlock()
	return q
}

// sent records n bytes written (or dropped): they no longer count against
// the stream's bound, and a replay waiting for room may read on.
func (st *stream) sent(n int) {
	st.mu.Lock()
	if !st.fed { // a fed stream's bound counts only its queue (collect)
		st.queued -= n
	}
	if st.replaying {
		select {
		case st.room <- struct{}{}:
		default:
		}
	}
	st.mu.Unlock()
}

// recycle gives a queue the writer is done with back as the next spare,
// unless a burst made it big.
func (st *stream) recycle(q []*frame) {
	clear(q)
	if cap(q) > keepQueue {
		return
	}
	st.mu.Lock()
	st.spare = q[:0]
	st.mu.Unlock()
}

// batchEnd returns the end of the batch of q that starts at i: up to
// maxBatch bytes, at least one frame, and its bytes.
func batchEnd(q []*frame, i int) (j, n int) {
	for j = i; j < len(q); j++ {
		if n > 0 && n+len(q[j].b) > maxBatch {
			break
		}
		n += len(q[j].b)
	}
	return j, n
}

// lastID returns the last id among fs, 0 if none has one.
func lastIDOf(fs []*frame) uint64 {
	for i := len(fs) - 1; i >= 0; i-- {
		if fs[i].id != 0 {
			return fs[i].id
		}
	}
	return 0
}

// wrote records a completed write: progress, and the session's cursor.
func (st *stream) wrote(last uint64) {
	if last != 0 {
		atomic.StoreUint64(&st.sess.cursor, last)
	}
	st.progress.Store(time.Now().UnixNano())
}

// cut reports whether the stream was kicked for a reason that stops its
// writes at once.
func (st *stream) cut() bool { return st.isDone() && st.reason.interrupts() }

// kick ends the stream for r. The first reason wins. A stream being cut
// for misbehaving gets its write deadline moved to now, so that a write
// blocked on a client that does not read returns at once.
func (st *stream) kick(r reason) {
	st.kickOnce.Do(func() {
		st.reason = r
		st.kicked.Store(true)
		close(st.done)
		if r.interrupts() {
			if c := st.conn.Load(); c != nil {
				_ = c.conn.SetWriteDeadline(time.Now())
			} else if rc := st.deadline.Load(); rc != nil {
				_ = rc.SetWriteDeadline(time.Now())
			}
		}
		st.mu.Lock()
		st.signalLocked() // a detached stream needs a writer to end it
	})
}

// isDone reports whether the stream was kicked. It reads a flag in the
// stream itself rather than polling done: enqueue asks for every frame,
// and a channel of its own per stream costs a cache miss each time.
func (st *stream) isDone() bool { return st.kicked.Load() }

// stalled reports whether the stream has had work pending without
// finishing a write for longer than d.
func (st *stream) stalled(now time.Time, d time.Duration) bool {
	st.mu.Lock()
	busy := st.writing || len(st.queue) > 0
	st.mu.Unlock()
	if !busy && now.Sub(time.Unix(0, st.progress.Load())) > d {
		busy = st.feedLag() > 0
	}
	return busy && now.Sub(time.Unix(0, st.progress.Load())) > d
}

// finalFrame is what a stream that ends this way writes last: a
// reconnect event with a jittered delay when the server shuts down, so
// that its clients do not all come back at once.
func (st *stream) finalFrame() []byte {
	if st.reason == reasonEnded {
		data, _ := json.Marshal(shared.Closed{Reason: shared.ReasonEnded})
		b, _ := shared.AppendEvent(nil, &shared.Event{Name: shared.EventClosed, Data: data})
		return b
	}
	if st.reason != reasonClosed && st.reason != reasonShutdown {
		return nil
	}
	cfg := &st.hub.cfg
	d := cfg.Retry
	if j := cfg.ReconnectJitter; j > 0 {
		d += rand.N(j)
	}
	data, _ := json.Marshal(shared.Reconnect{Reason: shared.ReasonShutdown, Retry: d.Milliseconds()})
	b, _ := shared.AppendEvent(nil, &shared.Event{Name: shared.EventReconnect, Data: data, Retry: d})
	return b
}

// flush writes what is queued through w, a batch at a time, each write
// under a fresh deadline so that WriteTimeout bounds a stall, not the
// whole backlog, then flushes once. It returns the first error.
func (st *stream) flush(w http.ResponseWriter, rc *http.ResponseController) error {
	q := st.take()
	if len(q) == 0 {
		st.mu.Lock()
		st.writing = false
		st.mu.Unlock()
		return nil
	}
	bp := st.hub.pool.batches.Get().(*[]byte)
	defer st.hub.pool.batches.Put(bp)
	for i := 0; i < len(q); {
		j, n := batchEnd(q, i)
		buf := (*bp)[:0]
		for _, f := range q[i:j] {
			buf = append(buf, f.b...)
		}
		*bp = buf[:0]
		if err := st.writeStd(w, buf); err != nil {
			return err
		}
		st.sent(n)
		if last := lastIDOf(q[i:j]); last != 0 {
			atomic.StoreUint64(&st.sess.cursor, last)
		}
		i = j
	}
	st.recycle(q)
	st.mu.Lock()
	st.writing = false
	st.mu.Unlock()
	if err := rc.Flush(); err != nil {
		return err
	}
	st.clearDeadline()
	st.wrote(0)
	return nil
}

// clearDeadline lifts the write deadline once what was written is flushed:
// the next write sets its own. Go's HTTP/2 server resets a stream whose
// deadline passes even when no write is pending, so a deadline left in
// place would end every stream idle for longer than WriteTimeout. A
// deadline kick moved to now, to cut the stream, stays.
func (st *stream) clearDeadline() {
	if st.hub.cfg.WriteTimeout <= 0 {
		return
	}
	dl := st.deadline.Load()
	if dl == nil {
		return
	}
	_ = dl.SetWriteDeadline(time.Time{})
	if st.cut() {
		_ = dl.SetWriteDeadline(time.Now())
	}
}

// errCut is a write not made because the stream was cut meanwhile.
var errCut = errors.New("ssevent: stream cut")

// writeStd writes b through the standard path's writer under a fresh
// write deadline, unless the stream was cut: a fresh deadline would undo
// the one kick set to stop the writes.
func (st *stream) writeStd(w http.ResponseWriter, b []byte) error {
	if st.cut() {
		return errCut
	}
	if d := st.hub.cfg.WriteTimeout; d > 0 {
		if dl := st.deadline.Load(); dl != nil {
			_ = dl.SetWriteDeadline(time.Now().Add(d))
		}
	}
	n, err := w.Write(b)
	st.hub.counters.bytesWritten.Add(uint64(n))
	return err
}

// errNoFlush means the response writer cannot flush, so events would sit
// in buffers instead of reaching the client.
var errNoFlush = errors.New("ssevent: the response writer cannot flush; remove the middleware whose writer cannot flush from the events route")

// canFlush reports whether w, or a writer it wraps, can flush.
func canFlush(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case interface{ FlushError() error }, http.Flusher:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

// serve writes the stream's headers and first events, then owns the
// connection until the stream ends. w receives the bytes and flushes.
//
// It returns the connection when it took the stream over from net/http
// instead (detach.go): writers from the hub's pool then write it, and the
// caller parks in st.park until the stream has ended itself through
// Hub.closeStream.
func (st *stream) serve(ctx context.Context, r *http.Request, w http.ResponseWriter, first []byte) *detachedConn {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	if st.hub.detachable(r, w) {
		// The hub closes a detached stream's connection when the stream
		// ends, even after a clean end of the body: say so, so that no
		// client sends its next request on it.
		hdr.Set("Connection", "close")
		return st.detach(w, first)
	}
	if r.ProtoMajor == 1 {
		hdr.Set("Connection", "keep-alive")
	}
	rc := http.NewResponseController(w)
	dl := deadlineController(w)
	if d := st.hub.cfg.WriteTimeout; d > 0 {
		if err := dl.SetWriteDeadline(time.Now().Add(d)); errors.Is(err, http.ErrNotSupported) {
			st.hub.log.Warn("ssevent: write deadlines cannot reach this stream's connection: a middleware wraps the response writer without an Unwrap method; a client that stops reading is only noticed by the cleanup sweep",
				"writer", typeName(w))
		}
	}
	st.deadline.Store(dl)
	st.probe.Store(r.ProtoMajor == 1)
	w.WriteHeader(http.StatusOK)
	if st.isDone() && st.reason.interrupts() {
		return nil
	}
	n, err := w.Write(first)
	st.hub.counters.bytesWritten.Add(uint64(n))
	if err != nil {
		st.kick(reasonWrite)
		return nil
	}
	if err := rc.Flush(); err != nil {
		st.kick(reasonWrite)
		return nil
	}
	st.clearDeadline()
	st.begin()

	var timeout <-chan time.Time
	if d := st.hub.cfg.Timeout; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case <-st.wake:
			// Write in turn (turns.go): under a burst the queue fills
			// while the stream waits, and one write carries it all.
			turns := &st.hub.pool.turns
			if !turns.acquire(st, st.done, ctx.Done()) {
				continue
			}
			err := st.flush(w, rc)
			turns.release(st)
			if err != nil {
				st.kick(reasonWrite)
				return nil
			}
		case <-st.done:
			st.finish(w, rc)
			return nil
		case <-timeout:
			st.kick(reasonTimeout)
			st.finish(w, rc)
			return nil
		case <-ctx.Done():
			st.kick(reasonGone)
			return nil
		}
	}
}

// finish ends a standard-path stream that was kicked: when the server
// chose to end it, what is queued goes out, then the final event.
func (st *stream) finish(w http.ResponseWriter, rc *http.ResponseController) {
	if !st.reason.drains() {
		return
	}
	if st.flush(w, rc) != nil {
		return
	}
	if b := st.finalFrame(); b != nil && st.writeStd(w, b) == nil {
		_ = rc.Flush()
	}
}
