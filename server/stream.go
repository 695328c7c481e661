package server

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// frame is one encoded event, shared by all the streams it is queued on.
type frame struct {
	id uint64 // 0 for events without an id (heartbeat, gap)
	b  []byte
}

// reason says why a stream ended.
type reason int32

const (
	reasonNone      reason = iota
	reasonGone             // the client went away
	reasonTimeout          // Config.Timeout passed
	reasonSlow             // the queue filled
	reasonWrite            // a write failed or timed out
	reasonStale            // the cleanup sweep found no progress
	reasonTakenOver        // a new stream resumed the same session
	reasonEnded            // Unsubscribe(id) or ClearClients
	reasonClosed           // Hub.Close
)

var reasonNames = [...]string{"none", "client gone", "timeout", "slow consumer", "write failed", "stale", "taken over", "ended by server", "hub closed"}

func (r reason) String() string { return reasonNames[r] }

// forgets reports whether a stream that ended this way loses its session.
func (r reason) forgets() bool { return r == reasonEnded }

// notable reports whether the end is worth an Info log record.
func (r reason) notable() bool { return r == reasonSlow || r == reasonWrite || r == reasonStale }

// stream is one open event stream. Publishers append to its queue; the
// request goroutine, which owns the connection, drains it.
type stream struct {
	hub  *Hub
	sess *session

	mu      sync.Mutex
	queue   []*frame
	spare   []*frame
	held    []*frame // live frames that arrived while replay was pending
	holding bool
	lastID  uint64 // highest id queued: later frames at or below it are duplicates
	writing bool

	wake     chan struct{} // capacity 1: "the queue is not empty"
	done     chan struct{} // closed by kick
	kickOnce sync.Once
	reason   reason
	rc       atomic.Pointer[http.ResponseController]
	progress atomic.Int64 // Unix nanoseconds of the last completed write

	// A detached stream (detach.go) has no goroutine of its own: writers
	// from a small pool drain it. Guarded by mu.
	detached  bool
	scheduled bool // a writer owns the stream (or will): do not schedule it again
	conn      atomic.Pointer[detachedConn]
	timer     *time.Timer // Config.Timeout of a detached stream
}

func newStream(h *Hub, s *session, hold bool) *stream {
	st := &stream{hub: h, sess: s, holding: hold, wake: make(chan struct{}, 1), done: make(chan struct{})}
	st.progress.Store(time.Now().UnixNano())
	return st
}

// enqueue queues f without blocking. A full queue ends the stream: the
// client reconnects and gets what it missed by replay.
func (st *stream) enqueue(f *frame) {
	st.mu.Lock()
	switch {
	case f.id != 0 && f.id <= st.lastID:
		st.mu.Unlock()
		return
	case st.holding:
		if len(st.held) >= st.hub.cfg.QueueSize {
			st.mu.Unlock()
			st.kick(reasonSlow)
			return
		}
		st.held = append(st.held, f)
		st.mu.Unlock()
		return
	case len(st.queue) >= st.hub.cfg.QueueSize:
		st.mu.Unlock()
		st.kick(reasonSlow)
		return
	}
	st.queue = append(st.queue, f)
	if f.id != 0 {
		st.lastID = f.id
	}
	st.signalLocked()
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
			schedule(st)
		}
		return
	}
	st.mu.Unlock()
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// release ends replay: the replayed frames go first, then the live frames
// held meanwhile, each id at most once.
func (st *stream) release(replayed []*frame, after uint64) {
	st.mu.Lock()
	st.lastID = max(st.lastID, after)
	add := func(fs []*frame) {
		for _, f := range fs {
			if f.id != 0 {
				if f.id <= st.lastID {
					continue
				}
				st.lastID = f.id
			}
			st.queue = append(st.queue, f)
		}
	}
	add(replayed)
	add(st.held)
	st.held, st.holding = nil, false
	st.signalLocked()
}

// kick ends the stream for r. The first reason wins. A stream being cut
// for misbehaving gets its write deadline moved to now, so that a write
// blocked on a client that does not read returns at once.
func (st *stream) kick(r reason) {
	st.kickOnce.Do(func() {
		st.reason = r
		close(st.done)
		if r != reasonClosed && r != reasonTimeout {
			if c := st.conn.Load(); c != nil {
				_ = c.conn.SetWriteDeadline(time.Now())
			} else if rc := st.rc.Load(); rc != nil {
				_ = rc.SetWriteDeadline(time.Now())
			}
		}
		st.mu.Lock()
		st.signalLocked() // a detached stream needs a writer to end it
	})
}

// stalled reports whether the stream has had work pending without
// finishing a write for longer than d.
func (st *stream) stalled(now time.Time, d time.Duration) bool {
	st.mu.Lock()
	busy := st.writing || len(st.queue) > 0
	st.mu.Unlock()
	return busy && now.Sub(time.Unix(0, st.progress.Load())) > d
}

// maxBatch bounds the bytes gathered into one Write.
const maxBatch = 64 << 10

// keepQueue is the largest queue capacity a stream keeps between writes.
const keepQueue = 64

var batchPool = sync.Pool{New: func() any { b := make([]byte, 0, maxBatch); return &b }}

// flush writes everything queued, gathered into as few writes as possible,
// and flushes. It returns the first write error.
func (st *stream) flush(w http.ResponseWriter, rc *http.ResponseController) error {
	st.mu.Lock()
	q := st.queue
	st.queue = st.spare[:0]
	st.spare = nil
	st.writing = len(q) > 0
	st.mu.Unlock()
	if len(q) == 0 {
		return nil
	}
	if d := st.hub.cfg.WriteTimeout; d > 0 {
		_ = rc.SetWriteDeadline(time.Now().Add(d))
	}
	bp := batchPool.Get().(*[]byte)
	buf := (*bp)[:0]
	var last uint64
	var err error
	for _, f := range q {
		if len(buf)+len(f.b) > maxBatch && len(buf) > 0 {
			if _, err = w.Write(buf); err != nil {
				break
			}
			buf = buf[:0]
		}
		if len(f.b) > maxBatch {
			if _, err = w.Write(f.b); err != nil {
				break
			}
		} else {
			buf = append(buf, f.b...)
		}
		if f.id != 0 {
			last = f.id
		}
	}
	if err == nil && len(buf) > 0 {
		_, err = w.Write(buf)
	}
	if err == nil {
		err = rc.Flush()
	}
	*bp = buf[:0]
	batchPool.Put(bp)
	clear(q)
	st.mu.Lock()
	st.writing = false
	if cap(q) <= keepQueue { // keep small buffers; let a burst's big one go
		st.spare = q[:0]
	}
	st.mu.Unlock()
	if err != nil {
		return err
	}
	if last != 0 {
		atomic.StoreUint64(&st.sess.cursor, last)
	}
	st.progress.Store(time.Now().UnixNano())
	return nil
}

// errNoFlush means the response writer cannot flush, so events would sit
// in buffers instead of reaching the client.
var errNoFlush = errors.New("ssevent: the response writer cannot flush; remove middleware that buffers or compresses the events route")

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
// connection until the stream ends. w receives the bytes; rc flushes and
// sets deadlines on the underlying connection.
//
// It returns true when it detached the stream from the request instead
// (detach.go): the stream then lives on without this goroutine, and ends
// itself through Hub.closeStream.
func (st *stream) serve(ctx context.Context, r *http.Request, w http.ResponseWriter, rc *http.ResponseController, first []byte) (detached bool) {
	st.rc.Store(rc)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	if r.ProtoMajor == 1 {
		hdr.Set("Connection", "keep-alive")
	}
	detach := detachable(r, w)
	w.WriteHeader(http.StatusOK)
	if detach && st.detach(w, first) {
		return true
	}
	if d := st.hub.cfg.WriteTimeout; d > 0 {
		_ = rc.SetWriteDeadline(time.Now().Add(d))
	}
	if _, err := w.Write(first); err != nil {
		st.kick(reasonWrite)
		return false
	}
	if err := rc.Flush(); err != nil {
		st.kick(reasonWrite)
		return false
	}

	var timeout <-chan time.Time
	if d := st.hub.cfg.Timeout; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case <-st.wake:
			// When events come fast (the last write was under a
			// millisecond ago), let the publisher queue more before
			// writing, so that a wake-up carries several events, not
			// one. At a steady low rate this costs nothing.
			if time.Now().UnixNano()-st.progress.Load() < int64(time.Millisecond) {
				runtime.Gosched()
			}
			if err := st.flush(w, rc); err != nil {
				st.kick(reasonWrite)
				return false
			}
		case <-st.done:
			if st.reason == reasonClosed {
				_ = st.flush(w, rc) // end cleanly: what was queued goes out
			}
			return false
		case <-timeout:
			st.kick(reasonTimeout)
			_ = st.flush(w, rc)
			return false
		case <-ctx.Done():
			st.kick(reasonGone)
			return false
		}
	}
}
