package server

// Detached streams: an HTTP/1.1 stream served by net/http's own response
// writer is taken over once its head is written, so that it costs about
// 5 KiB (socket, stream, session, and a goroutine parked in a 16-byte read
// to notice the client leaving) instead of about 28 KiB (the request
// goroutine with net/http's read, write and chunk buffers). Writers from a
// small pool drain the streams that have events queued, each wake-up
// gathering a stream's whole queue into one chunk and one write. A write
// that would block is finished by a goroutine of the stream's own, under
// the write deadline, so that a slow client never holds a pool writer.
//
// HTTP/2, TLS, HTTP/1.0, and response writers wrapped by middleware keep
// the standard path (stream.serve): the request goroutine writes.

import (
	"errors"
	"net"
	"net/http"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// detachStreams switches detaching on; tests turn it off to cover the
// standard path.
var detachStreams atomic.Bool

func init() { detachStreams.Store(true) }

// detachedConn is the connection of a detached stream.
type detachedConn struct {
	conn net.Conn
	raw  syscall.RawConn
}

// isStdWriter reports whether w is net/http's own HTTP/1.x response writer.
func isStdWriter(w http.ResponseWriter) bool {
	return reflect.TypeOf(w).String() == "*http.response"
}

// detachable reports whether the stream can be taken over from net/http:
// an HTTP/1.1 request without TLS whose writer is net/http's own (directly
// or under Echo's Response, which only records the status and runs its
// hooks), and a response that net/http will send chunked.
func detachable(r *http.Request, w http.ResponseWriter) bool {
	if !detachStreams.Load() || r.ProtoMajor != 1 || r.ProtoMinor != 1 || r.TLS != nil {
		return false
	}
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	if _, ok := w.(http.Hijacker); !ok || !isStdWriter(w) {
		return false
	}
	h := w.Header()
	return h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == ""
}

// detach takes the connection over once w has written the response head,
// which the takeover sends, writes first as the body's first chunk, and
// hands the stream to the writer pool. It reports whether it did; when it
// did not, the caller carries on with w.
func (st *stream) detach(w http.ResponseWriter, first []byte) bool {
	if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); ok {
		w = u.Unwrap()
	}
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return false
	}
	// The buffered reader may hold bytes a client sent after its request;
	// an event-stream client sends none, and they are ignored like any
	// later ones.
	var raw syscall.RawConn
	if sc, ok := conn.(syscall.Conn); ok {
		raw, _ = sc.SyscallConn()
	}
	dc := &detachedConn{conn: conn, raw: raw}
	st.conn.Store(dc)
	// The controller holds net/http's connection state and its buffers;
	// let them go.
	st.rc.Store(nil)

	if d := st.hub.cfg.WriteTimeout; d > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(d))
	}
	_, err = conn.Write(appendChunk(make([]byte, 0, len(first)+16), first))
	_ = conn.SetWriteDeadline(time.Time{})
	if err != nil {
		st.kick(reasonWrite)
	}

	if d := st.hub.cfg.Timeout; d > 0 {
		st.timer = time.AfterFunc(d, func() { st.kick(reasonTimeout) })
	}
	go st.watch(dc)
	st.mu.Lock()
	st.detached = true
	pending := len(st.queue) > 0 || st.isDone()
	if pending {
		st.scheduled = true
	}
	st.mu.Unlock()
	if pending {
		schedule(st)
	}
	return true
}

func (st *stream) isDone() bool {
	select {
	case <-st.done:
		return true
	default:
		return false
	}
}

// appendChunk appends p as one chunk of a chunked body.
func appendChunk(b, p []byte) []byte {
	b = strconv.AppendUint(b, uint64(len(p)), 16)
	b = append(b, "\r\n"...)
	b = append(b, p...)
	return append(b, "\r\n"...)
}

// watch parks in a read until the client goes away (or the stream closes
// the connection), and ends the stream then. Clients send nothing on an
// event stream; anything they send is ignored.
func (st *stream) watch(dc *detachedConn) {
	// http.Server.ReadTimeout left a deadline on the connection; a
	// stream has no end to wait for.
	_ = dc.conn.SetReadDeadline(time.Time{})
	var b [16]byte
	for {
		if _, err := dc.conn.Read(b[:]); err != nil {
			st.kick(reasonGone)
			return
		}
	}
}

// The writer pool: streams with work wait in ready; up to GOMAXPROCS
// writers drain them, started when work arrives and gone when it is done.
var pool struct {
	mu      sync.Mutex
	ready   []*stream
	head    int
	writers int
	max     int // GOMAXPROCS, read when the pool wakes from idle
}

// schedule hands st, which the caller marked scheduled, to the pool.
func schedule(st *stream) {
	pool.mu.Lock()
	pool.ready = append(pool.ready, st)
	if pool.writers == 0 {
		pool.max = runtime.GOMAXPROCS(0)
	}
	start := pool.writers < pool.max
	if start {
		pool.writers++
	}
	pool.mu.Unlock()
	if start {
		go poolWriter()
	}
}

func poolWriter() {
	bp := batchPool.Get().(*[]byte)
	defer batchPool.Put(bp)
	for {
		pool.mu.Lock()
		if pool.head == len(pool.ready) {
			pool.ready, pool.head = pool.ready[:0], 0
			if cap(pool.ready) > 4096 {
				pool.ready = nil
			}
			pool.writers--
			pool.mu.Unlock()
			return
		}
		st := pool.ready[pool.head]
		pool.ready[pool.head] = nil
		pool.head++
		if pool.head >= 1024 && pool.head*2 >= len(pool.ready) {
			// Under sustained load the list may never empty: slide
			// it down rather than let it grow.
			n := copy(pool.ready, pool.ready[pool.head:])
			clear(pool.ready[n:])
			pool.ready, pool.head = pool.ready[:n], 0
		}
		pool.mu.Unlock()
		st.drain(bp, false, nil, 0)
	}
}

// chunkHead is the room left in front of a batch for its chunk header.
const chunkHead = 10

// errWouldBlock is a write the socket cannot take now.
var errWouldBlock = errors.New("would block")

// drain writes what is queued to a detached stream, which the caller owns
// (st.scheduled), starting with pending, the unwritten end of an earlier
// batch. A pool writer (block false) gives the stream to a goroutine of
// its own at the first write that would block; that goroutine (block true)
// writes under the write deadline. Either releases the stream when its
// queue is empty, or ends it once it is done.
func (st *stream) drain(bp *[]byte, block bool, pending []byte, pendingLast uint64) {
	if bp == nil {
		bp = batchPool.Get().(*[]byte)
		defer batchPool.Put(bp)
	}
	dc := st.conn.Load()
	for {
		if len(pending) > 0 {
			if _, err := st.write(dc, pending, true); err != nil {
				st.kick(reasonWrite)
			} else {
				st.progress.Store(time.Now().UnixNano())
				if pendingLast != 0 {
					atomic.StoreUint64(&st.sess.cursor, pendingLast)
				}
			}
			pending, pendingLast = nil, 0
		}
		st.mu.Lock()
		q := st.queue
		if st.isDone() || len(q) == 0 {
			if !st.isDone() {
				st.scheduled, st.writing = false, false
				st.mu.Unlock()
				return
			}
			st.mu.Unlock()
			if block {
				st.end(dc, bp)
			} else {
				go st.end(dc, nil)
			}
			return
		}
		st.queue = st.spare[:0]
		st.spare = nil
		st.writing = true
		st.mu.Unlock()

		rest, restLast, err := st.writeFrames(dc, q, bp, block)
		clear(q)
		st.mu.Lock()
		if cap(q) <= keepQueue {
			st.spare = q[:0]
		}
		st.mu.Unlock()
		switch {
		case errors.Is(err, errWouldBlock):
			if !block {
				go st.drain(nil, true, rest, restLast)
				return
			}
		case err != nil:
			st.kick(reasonWrite)
		default:
			st.progress.Store(time.Now().UnixNano())
		}
		pending, pendingLast = rest, restLast
	}
}

// writeFrames writes q in chunks of up to maxBatch bytes, one write each.
// It moves the session's cursor to the last id written. When a write would
// block (block false), it returns the bytes not written, already framed,
// and the last id among them, with errWouldBlock.
func (st *stream) writeFrames(dc *detachedConn, q []*frame, bp *[]byte, block bool) (rest []byte, restLast uint64, err error) {
	buf := append((*bp)[:0], make([]byte, chunkHead)...)
	var last uint64
	for i := 0; i < len(q); {
		f := q[i]
		if len(buf) == chunkHead || len(buf)+len(f.b) <= maxBatch+chunkHead {
			buf = append(buf, f.b...)
			if f.id != 0 {
				last = f.id
			}
			i++
			if i < len(q) {
				continue
			}
		}
		// Frame the batch: the chunk size right before the data.
		n := len(buf) - chunkHead
		var hex [16]byte
		h := strconv.AppendUint(hex[:0], uint64(n), 16)
		h = append(h, '\r', '\n')
		off := chunkHead - len(h)
		copy(buf[off:], h)
		buf = append(buf, '\r', '\n')
		w, err := st.write(dc, buf[off:], block)
		if err != nil {
			if errors.Is(err, errWouldBlock) {
				rest = append(rest, buf[off+w:]...)
				for _, f := range q[i:] {
					rest = appendChunk(rest, f.b)
					if f.id != 0 {
						last = f.id
					}
				}
				restLast = last
			}
			*bp = buf[:0]
			return rest, restLast, err
		}
		if last != 0 {
			atomic.StoreUint64(&st.sess.cursor, last)
			last = 0
		}
		buf = buf[:chunkHead]
	}
	*bp = buf[:0]
	return nil, 0, nil
}

// write writes b to the connection: at once or not at all when block is
// false (errWouldBlock with the count written), under the write deadline
// when it is true.
func (st *stream) write(dc *detachedConn, b []byte, block bool) (int, error) {
	if block || dc.raw == nil {
		if !block {
			return 0, errWouldBlock
		}
		if d := st.hub.cfg.WriteTimeout; d > 0 {
			_ = dc.conn.SetWriteDeadline(time.Now().Add(d))
		}
		return dc.conn.Write(b)
	}
	var n int
	var werr error
	err := dc.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				werr = errWouldBlock
				return true
			case err != nil:
				werr = err
				return true
			}
			n += m
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// end finishes a detached stream that was kicked: on Close and Timeout what
// is queued goes out and the body ends cleanly; then the connection closes
// and the hub forgets the stream.
func (st *stream) end(dc *detachedConn, bp *[]byte) {
	if bp == nil {
		bp = batchPool.Get().(*[]byte)
		defer batchPool.Put(bp)
	}
	if st.reason == reasonClosed || st.reason == reasonTimeout {
		st.mu.Lock()
		q := st.queue
		st.queue = nil
		st.mu.Unlock()
		if _, _, err := st.writeFrames(dc, q, bp, true); err == nil {
			_, _ = st.write(dc, []byte("0\r\n\r\n"), true)
		}
	}
	_ = dc.conn.Close()
	if st.timer != nil {
		st.timer.Stop()
	}
	st.hub.closeStream(st)
}
