//go:build unix

package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// ceiling is the upper bound the hub's fast path is measured against: the
// least a server can do to fan events out over HTTP/1.1 with batched
// writes. Each connection is taken over from net/http after its request,
// and its handler returns. Every channel has one append-only log of encoded
// frames, shared by all its connections; publishing appends to it and wakes
// the writers, whatever the number of connections. A pool of GOMAXPROCS
// writers, each owning a share of the connections, writes each
// connection's unwritten part of its log (up to 64 KiB) in one
// non-blocking write(2); a write that would block is finished by a
// goroutine of the connection's own, so a slow reader holds no writer.
//
// It has none of the hub's features and none of its bounds: ids from a
// counter, no history or replay, no sessions, subscriptions, heartbeats or
// per-stream queue (the log keeps every event for the run, and a
// connection that stops reading is never cut), and the body is not
// chunked: it runs until the connection closes.
type ceiling struct {
	mu     sync.Mutex
	chans  map[string]*ceilChan
	shards []*ceilShard
	next   int

	pubMu sync.Mutex
	seq   uint64

	open   atomic.Int64
	failed atomic.Uint64
}

// ceilChan is one channel's log.
type ceilChan struct {
	mu  sync.Mutex
	log []byte
}

// snapshot returns the log as it is now. Appends write past its end only,
// so the bytes it holds never change.
func (c *ceilChan) snapshot() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log
}

// ceilShard is one writer's connections.
type ceilShard struct {
	mu    sync.Mutex
	conns []*ceilConn
	wake  chan struct{}
	quit  chan struct{}
}

type ceilConn struct {
	ch   *ceilChan
	conn net.Conn
	raw  syscall.RawConn
	// off is how much of the log was written; the shard's writer owns it,
	// or the connection's own goroutine while blocked is set.
	off     int
	blocked atomic.Bool
	dead    atomic.Bool
}

const ceilChunk = 64 << 10

func newCeiling() (*ceiling, error) {
	c := &ceiling{chans: make(map[string]*ceilChan)}
	for range runtime.GOMAXPROCS(0) {
		s := &ceilShard{wake: make(chan struct{}, 1), quit: make(chan struct{})}
		c.shards = append(c.shards, s)
		go c.writer(s)
	}
	return c, nil
}

var ceilHead = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n")

func (c *ceiling) handle(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 1 {
		http.Error(w, "the ceiling serves HTTP/1.1 only", http.StatusHTTPVersionNotSupported)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		return
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		conn.Close()
		return
	}
	head, _ := shared.AppendEvent(append([]byte(nil), ceilHead...), &shared.Event{Name: shared.EventConnected, Data: []byte(`{}`)})
	_ = conn.SetWriteDeadline(time.Now().Add(15 * time.Second))
	if _, err := conn.Write(head); err != nil {
		conn.Close()
		return
	}
	_ = conn.SetWriteDeadline(time.Time{})
	name := r.URL.Query().Get("channels")
	c.mu.Lock()
	ch := c.chans[name]
	if ch == nil {
		ch = &ceilChan{}
		c.chans[name] = ch
	}
	s := c.shards[c.next%len(c.shards)]
	c.next++
	c.mu.Unlock()
	cc := &ceilConn{ch: ch, conn: conn, raw: raw}
	// Registered under the shard's lock, at the log's end: a writer sees
	// the connection only once its offset is set.
	s.mu.Lock()
	cc.off = len(ch.snapshot())
	s.conns = append(s.conns, cc)
	s.mu.Unlock()
	c.open.Add(1)
}

func (c *ceiling) send(channel string, payload []byte) error {
	c.mu.Lock()
	ch := c.chans[channel]
	c.mu.Unlock()
	c.pubMu.Lock()
	c.seq++
	seq := c.seq
	c.pubMu.Unlock()
	if ch == nil {
		return nil
	}
	ch.mu.Lock()
	f := append(ch.log, "id: "...)
	f = strconv.AppendUint(f, seq, 10)
	f = append(f, "\nevent: message\ndata: "...)
	f = shared.AppendEnvelope(f, []byte(strconv.Quote(channel)), payload)
	ch.log = append(f, "\n\n"...)
	ch.mu.Unlock()
	for _, s := range c.shards {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// writer writes its shard's connections until none has anything left it
// can write without blocking, then waits to be woken.
func (c *ceiling) writer(s *ceilShard) {
	for {
		select {
		case <-s.wake:
		case <-s.quit:
			return
		}
		for {
			s.mu.Lock()
			conns := s.conns
			s.mu.Unlock()
			progress := false
			for _, cc := range conns {
				if cc.dead.Load() || cc.blocked.Load() {
					continue
				}
				log := cc.ch.snapshot()
				if cc.off >= len(log) {
					continue
				}
				b := log[cc.off:min(len(log), cc.off+ceilChunk)]
				n, err := writeNow(cc.raw, b)
				if n > 0 {
					cc.off += n
					progress = true
				}
				switch {
				case errors.Is(err, syscall.EAGAIN):
					cc.blocked.Store(true)
					go c.finish(s, cc)
				case err != nil:
					c.kill(cc)
				}
			}
			if !progress {
				break
			}
		}
	}
}

// finish writes a connection's unwritten log in blocking writes, then hands
// it back to its writer.
func (c *ceiling) finish(s *ceilShard, cc *ceilConn) {
	log := cc.ch.snapshot()
	_ = cc.conn.SetWriteDeadline(time.Now().Add(15 * time.Second))
	n, err := cc.conn.Write(log[cc.off:])
	cc.off += n
	_ = cc.conn.SetWriteDeadline(time.Time{})
	if err != nil {
		c.kill(cc)
		return
	}
	cc.blocked.Store(false)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (c *ceiling) kill(cc *ceilConn) {
	if cc.dead.CompareAndSwap(false, true) {
		c.failed.Add(1)
		c.open.Add(-1)
		cc.conn.Close()
	}
}

// writeNow writes b to the socket without waiting for it to drain: it
// returns syscall.EAGAIN when the socket's buffer is full.
func writeNow(raw syscall.RawConn, b []byte) (int, error) {
	var (
		n    int
		werr error
	)
	err := raw.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), b)
		return true
	})
	if err != nil {
		return 0, err
	}
	return max(n, 0), werr
}

func (c *ceiling) streams() int { return int(c.open.Load()) }

func (c *ceiling) disconnects() map[string]uint64 {
	m := make(map[string]uint64)
	if n := c.failed.Load(); n > 0 {
		m["write_failed"] = n
	}
	return m
}

func (c *ceiling) close(context.Context) {
	for _, s := range c.shards {
		close(s.quit)
		s.mu.Lock()
		for _, cc := range s.conns {
			if cc.dead.CompareAndSwap(false, true) {
				cc.conn.Close()
			}
		}
		s.mu.Unlock()
	}
}
