package ssevent

// Detached streams: an HTTP/1.1 stream served by net/http's own response
// writer is taken over once its head is written. Writers from the hub's
// small pool drain the streams that have events waiting: each wake-up
// takes a stream's whole queue, and what its channels' feeds hold for it
// once it is fed (feed.go), and writes them in batches of up to maxBatch
// bytes, a chunk and a write each. A write that would block is finished by a
// goroutine of the stream's own, under the write deadline, so that a slow
// client never holds a pool writer; only the unwritten end of that one
// batch is copied, the frames after it stay shared.
//
// The request goroutine parks in ServeHTTP (park), in a one-byte read that
// notices the client leaving, until the stream ends; the connection's
// read and write buffers are dropped. An idle stream costs about 16 KiB
// (an 8 KiB goroutine stack, net/http's request state, socket, stream and
// session), against about 28 KiB on the standard path; with
// Config.ReleaseHandler the handler returns at the takeover and a
// goroutine of its own watches the connection: about 5 KiB
// (docs/PERFORMANCE.md).
//
// HTTP/2, TLS, HTTP/1.0, and response writers wrapped by middleware keep
// the standard path (stream.serve): the request goroutine writes.

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// BypassCounter is implemented by response writers that count what goes
// through them, typically a framework's (the server and echov5 adapters
// wrap Echo's Response in one so that its access log is right). When the
// hub takes a stream over beneath such a writer (Config.DisableTakeover),
// it calls CountBypassed once, when the stream has ended and before
// ServeHTTP returns, with the bytes of the body it wrote to the connection
// beneath the writer, chunk framing included.
//
// A BypassCounter must also have an Unwrap method returning the writer
// beneath it: the hub takes a stream over only when that is net/http's own.
type BypassCounter interface {
	CountBypassed(n int64)
}

// detachedConn is the connection of a detached stream.
type detachedConn struct {
	conn net.Conn
	raw  syscall.RawConn
}

// netHTTPWriter is the method set of net/http's own HTTP/1.x response
// writer. A writer that has all of it and no Unwrap method is net/http's,
// or one that chose to look exactly like it; a middleware's writer that
// transforms or counts the bytes lacks some of it (and usually has Unwrap).
type netHTTPWriter interface {
	http.ResponseWriter
	http.Hijacker
	http.Flusher
	io.ReaderFrom
	io.StringWriter
	FlushError() error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	EnableFullDuplex() error
}

// detachable reports whether the stream can be taken over from net/http:
// an HTTP/1.1 request without TLS whose writer is net/http's own, directly
// or under one BypassCounter (a framework adapter's writer, which learns
// the bytes written beneath it), and a response that net/http will send
// chunked. Any other wrapper keeps the stream on the standard path, where
// it sees every byte.
func (hub *Hub) detachable(r *http.Request, w http.ResponseWriter) bool {
	if hub.cfg.DisableTakeover || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.TLS != nil {
		return false
	}
	if _, ok := w.(BypassCounter); ok {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
	if _, ok := w.(netHTTPWriter); !ok {
		return false
	}
	if _, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		return false
	}
	h := w.Header()
	return h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == ""
}

// detach sends the response head through w, takes the connection over,
// writes first as the body's first chunk, and hands the stream to the
// writer pool. It returns the connection it took over, or nil when it did
// not: the stream has then been kicked.
//
// The head goes out, and is checked, before the takeover, while no kick
// can touch the connection's deadline: the response always starts with
// its head.
func (st *stream) detach(w http.ResponseWriter, first []byte) *detachedConn {
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		st.kick(reasonWrite)
		return nil
	}
	inner := w
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		inner = u.Unwrap()
	}
	conn, brw, err := inner.(http.Hijacker).Hijack()
	if err != nil {
		st.kick(reasonWrite)
		return nil
	}
	var raw syscall.RawConn
	if sc, ok := conn.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn()
	}
	dc := &detachedConn{conn: conn, raw: raw}
	st.conn.Store(dc)
	if brw.Reader.Buffered() > 0 {
		// An event-stream client sends nothing after its request.
		st.kick(reasonSent)
	}
	// The connection's read and write buffers (8 KiB) stay reachable
	// from the request while its handler waits for the stream to end,
	// and nothing reads or writes through them any more: drop them.
	*brw.Reader, *brw.Writer = bufio.Reader{}, bufio.Writer{}
	if st.isDone() && st.reason.interrupts() {
		_ = conn.SetWriteDeadline(time.Now())
	}

	if err := st.writeBlocking(dc, appendChunk(make([]byte, 0, len(first)+16), first)); err != nil {
		st.kick(reasonWrite)
	} else {
		st.wrote(0)
		st.begin()
	}

	if d := st.hub.cfg.Timeout; d > 0 {
		st.timer = time.AfterFunc(d, func() { st.kick(reasonTimeout) })
	}
	st.ended = make(chan struct{})
	st.mu.Lock()
	st.detached = true
	pending := len(st.queue) > 0 || st.isDone()
	if pending {
		st.scheduled = true
	}
	st.mu.Unlock()
	if pending {
		st.hub.pool.schedule(st)
	}
	st.hub.feedStream(st)
	return dc
}

// appendChunk appends p as one chunk of a chunked body.
func appendChunk(b, p []byte) []byte {
	b = strconv.AppendUint(b, uint64(len(p)), 16)
	b = append(b, "\r\n"...)
	b = append(b, p...)
	return append(b, "\r\n"...)
}

// park holds the request goroutine of a stream taken over until the stream
// has ended, so that the handler, and the middleware around it, see the
// stream's whole life; then it tells w the bytes written beneath it. It
// watches the connection meanwhile. The caller keeps its own stack frame
// small: a goroutine parked here for hours keeps every frame above it.
func (st *stream) park(dc *detachedConn, w http.ResponseWriter) {
	st.watch(dc)
	<-st.ended
	if bc, ok := w.(BypassCounter); ok {
		bc.CountBypassed(st.written.Load())
	}
}

// watch parks in a read until the client goes away (or the stream closes
// the connection), and ends the stream then. An event-stream client sends
// nothing after its request: one that does is cut at its first byte, so
// that what it sends costs one read.
func (st *stream) watch(dc *detachedConn) {
	// http.Server.ReadTimeout left a deadline on the connection; a
	// stream has no end to wait for.
	_ = dc.conn.SetReadDeadline(time.Time{})
	var b [1]byte
	n, err := dc.conn.Read(b[:])
	switch {
	case n > 0:
		st.kick(reasonSent)
	case err != nil:
		st.kick(reasonGone)
	}
}

// writerPool drains detached streams: streams with work wait in ready; up
// to GOMAXPROCS writers drain them, started when work arrives and gone
// when it is done.
type writerPool struct {
	mu      sync.Mutex
	ready   []*stream
	head    int
	writers int
	max     int // GOMAXPROCS, read when the pool wakes from idle
	idle    sync.Cond
	// batches are the writers' buffers, of maxBatch bytes, shared with
	// the standard path's writes.
	batches sync.Pool
	// turns are the standard path's turns to write.
	turns turns
}

// schedule hands st, which the caller marked scheduled, to the pool.
func (p *writerPool) schedule(st *stream) {
	p.mu.Lock()
	p.ready = append(p.ready, st)
	if p.writers == 0 {
		p.max = runtime.GOMAXPROCS(0)
	}
	start := p.writers < p.max
	if start {
		p.writers++
	}
	p.mu.Unlock()
	if start {
		go p.run()
	}
}

// wait returns once no pool writer runs.
func (p *writerPool) wait() {
	p.mu.Lock()
	if p.idle.L == nil {
		p.idle.L = &p.mu
	}
	for p.writers > 0 {
		p.idle.Wait()
	}
	p.mu.Unlock()
}

func (p *writerPool) run() {
	bp := p.batches.Get().(*[]byte)
	defer p.batches.Put(bp)
	for {
		p.mu.Lock()
		if p.head == len(p.ready) {
			p.ready, p.head = p.ready[:0], 0
			if cap(p.ready) > 4096 {
				p.ready = nil
			}
			p.writers--
			if p.writers == 0 && p.idle.L != nil {
				p.idle.Broadcast()
			}
			p.mu.Unlock()
			return
		}
		st := p.ready[p.head]
		p.ready[p.head] = nil
		p.head++
		if p.head >= 1024 && p.head*2 >= len(p.ready) {
			// Under sustained load the list may never empty: slide
			// it down rather than let it grow.
			n := copy(p.ready, p.ready[p.head:])
			clear(p.ready[n:])
			p.ready, p.head = p.ready[:n], 0
		}
		p.mu.Unlock()
		st.drain(bp, false)
	}
}

// chunkHead is the room left in front of a batch for its chunk header.
const chunkHead = 10

// errWouldBlock is a write the socket cannot take now.
var errWouldBlock = errors.New("would block")

// drain writes what is queued to a detached stream, which the caller owns
// (st.scheduled). A pool writer (block false) gives the stream to a
// goroutine of its own at the first write that would block, keeping the
// unwritten end of that batch in st.pending and the frames after it in
// st.rest; that goroutine (block true) writes under the write deadline.
// Either releases the stream when its queue is empty, or ends it once it
// is done.
func (st *stream) drain(bp *[]byte, block bool) {
	if bp == nil {
		bp = st.hub.pool.batches.Get().(*[]byte)
		defer st.hub.pool.batches.Put(bp)
	}
	dc := st.conn.Load()
	for {
		if len(st.pending) > 0 {
			n, err := st.write(dc, st.pending, block)
			st.pending = st.pending[n:]
			switch {
			case errors.Is(err, errWouldBlock):
				go st.drain(nil, true)
				return
			case err != nil:
				st.kick(reasonWrite)
			default:
				st.wrote(st.pendingLast)
			}
			st.pending = nil
			st.sent(st.pendingBytes)
		}
		if st.isDone() {
			if block {
				st.end(dc, bp)
			} else {
				go st.end(dc, nil)
			}
			return
		}
		q, own := st.rest, false
		st.rest = nil
		if q == nil {
			if q, own = st.collect(0); len(q) == 0 {
				st.mu.Lock()
				if len(st.queue) > 0 || st.isDone() || !st.settleLocked() {
					st.mu.Unlock()
					continue // queued, fed or kicked meanwhile
				}
				st.scheduled, st.writing = false, false
				st.mu.Unlock()
				return
			}
		}
		if !st.writeQueue(dc, q, bp, block) {
			go st.drain(nil, true)
			return
		}
		if own {
			st.recycle(q)
		}
	}
}

// writeQueue writes q in batches, a chunk and a write each. When a write
// would block (block false), it keeps the unwritten end of that batch in
// st.pending, the frames after it in st.rest, and reports false.
func (st *stream) writeQueue(dc *detachedConn, q []*frame, bp *[]byte, block bool) bool {
	for i := 0; i < len(q); {
		j, n := batchEnd(q, i)
		buf := frameChunk((*bp)[:0], q[i:j])
		*bp = buf[:0]
		w, err := st.write(dc, buf, block)
		switch {
		case errors.Is(err, errWouldBlock):
			st.pending = append(st.pending[:0], buf[w:]...)
			st.pendingLast, st.pendingBytes = lastIDOf(q[i:j]), n
			st.rest = q[j:]
			return false
		case err != nil:
			st.kick(reasonWrite)
			st.sent(n)
			return true
		}
		st.sent(n)
		st.wrote(lastIDOf(q[i:j]))
		i = j
	}
	return true
}

// frameChunk writes fs into buf as one chunk of the body.
func frameChunk(buf []byte, fs []*frame) []byte {
	buf = append(buf, make([]byte, chunkHead)...)
	for _, f := range fs {
		buf = append(buf, f.b...)
	}
	var hex [16]byte
	h := strconv.AppendUint(hex[:0], uint64(len(buf)-chunkHead), 16)
	h = append(h, '\r', '\n')
	off := chunkHead - len(h)
	copy(buf[off:], h)
	return append(buf[off:], '\r', '\n')
}

// write writes b to the connection: what the socket takes at once when
// block is false (errWouldBlock with the count written if not all), under
// the write deadline when it is true.
func (st *stream) write(dc *detachedConn, b []byte, block bool) (int, error) {
	if block {
		n := len(b)
		if err := st.writeBlocking(dc, b); err != nil {
			return 0, err
		}
		return n, nil
	}
	if dc.raw == nil {
		return 0, errWouldBlock
	}
	n, err := writeNow(dc.raw, b)
	st.written.Add(int64(n))
	st.hub.counters.bytesWritten.Add(uint64(n))
	return n, err
}

// writeBlocking writes all of b. Config.WriteTimeout bounds each stretch
// without progress, not the whole write: a client that reads slowly but
// steadily is never cut, one that stops reading is.
func (st *stream) writeBlocking(dc *detachedConn, b []byte) error {
	d := st.hub.cfg.WriteTimeout
	for len(b) > 0 {
		if st.cut() {
			return errCut
		}
		if d > 0 {
			_ = dc.conn.SetWriteDeadline(time.Now().Add(d))
		}
		n, err := dc.conn.Write(b)
		st.written.Add(int64(n))
		st.hub.counters.bytesWritten.Add(uint64(n))
		b = b[n:]
		if err == nil {
			continue
		}
		var ne net.Error
		if n > 0 && errors.As(err, &ne) && ne.Timeout() {
			continue // progress was made: a new deadline
		}
		return err
	}
	if d > 0 {
		// The writer pool's writes go through the raw connection
		// (writeNow), which obeys the deadline but never sets one: one
		// left here would fail them once it passed. A kick that moved
		// the deadline to now meanwhile is kept: it set the flag that
		// cut reads before it moved the deadline.
		_ = dc.conn.SetWriteDeadline(time.Time{})
		if st.cut() {
			_ = dc.conn.SetWriteDeadline(time.Now())
		}
	}
	return nil
}

// end finishes a detached stream that was kicked: when the server chose to
// end it, what is queued goes out, then the final event and the end of the
// body; then the connection closes and the hub forgets the stream.
func (st *stream) end(dc *detachedConn, bp *[]byte) {
	if bp == nil {
		bp = st.hub.pool.batches.Get().(*[]byte)
		defer st.hub.pool.batches.Put(bp)
	}
	if st.reason.drains() && st.finishDetached(dc, bp) == nil && !st.endsAbruptly() {
		_ = st.writeBlocking(dc, []byte("0\r\n\r\n"))
	}
	_ = dc.conn.Close()
	if st.timer != nil {
		st.timer.Stop()
	}
	st.hub.closeStream(st)
	close(st.ended)
}

// finishDetached writes the pending bytes, the rest and the queue, then
// the final event.
func (st *stream) finishDetached(dc *detachedConn, bp *[]byte) error {
	if len(st.pending) > 0 {
		if err := st.writeBlocking(dc, st.pending); err != nil {
			return err
		}
		st.pending = nil
		st.wrote(st.pendingLast)
	}
	q := st.rest
	st.rest = nil
	// What is fed by now goes out; what is published after the end began
	// is the next stream's, by replay, as it is for a queue (enqueue).
	upto := st.hub.fed.Load()
	for {
		if q == nil {
			if q, _ = st.collect(upto); len(q) == 0 {
				break
			}
		}
		for i := 0; i < len(q); {
			j, _ := batchEnd(q, i)
			buf := frameChunk((*bp)[:0], q[i:j])
			*bp = buf[:0]
			if err := st.writeBlocking(dc, buf); err != nil {
				return err
			}
			st.wrote(lastIDOf(q[i:j]))
			i = j
		}
		q = nil
	}
	if b := st.finalFrame(); b != nil {
		return st.writeBlocking(dc, appendChunk(nil, b))
	}
	return nil
}
