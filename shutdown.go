package ssevent

// Streams end with their server. http.Server.Shutdown and Close know nothing
// of the connections the hub took over (detach.go), and Shutdown waits
// forever for streams still on the standard path. So the hub watches every
// http.Server its streams come through (from the request's context): it
// serves each of them one extra listener that never accepts anything.
// Shutdown and Close close every listener of their server first, so the
// watch's listener closing is the signal: the hub then ends that server's
// streams with a "reconnect" event whose delay is spread out
// (Config.ReconnectJitter), and Shutdown finds the standard-path streams
// gone. The application registers nothing; calling Hub.Close from
// RegisterOnShutdown as well does no harm.
//
// The listener's Addr is the address of the first stream's connection; an
// http.Server.BaseContext hook, if the application set one, is called with
// it once.

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// shutdownWatch is the listener the hub serves on an http.Server to learn
// of its shutdown.
type shutdownWatch struct {
	addr   net.Addr
	closed chan struct{}
	once   sync.Once
	byHub  bool // the hub stopped the watch (Hub.Close): nothing to end
}

func (w *shutdownWatch) Accept() (net.Conn, error) {
	<-w.closed
	return nil, net.ErrClosed
}

func (w *shutdownWatch) Close() error {
	w.once.Do(func() { close(w.closed) })
	return nil
}

func (w *shutdownWatch) Addr() net.Addr { return w.addr }

// stop ends the watch from the hub's side. h.mu is held.
func (w *shutdownWatch) stop() {
	w.byHub = true
	_ = w.Close()
}

// watchServer makes sure srv is watched; r is a request it served.
func (h *Hub) watchServer(srv *http.Server, r *http.Request) {
	if srv == nil {
		return
	}
	h.mu.RLock()
	_, ok := h.servers[srv]
	h.mu.RUnlock()
	if ok {
		return
	}
	addr, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if addr == nil {
		addr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	}
	w := &shutdownWatch{addr: addr, closed: make(chan struct{})}
	h.mu.Lock()
	if _, ok := h.servers[srv]; ok || h.closed {
		h.mu.Unlock()
		return
	}
	h.servers[srv] = w
	h.bg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.bg.Done()
		// Serve returns ErrServerClosed when the server shuts down
		// (or already has); anything else (the hub stopped the watch,
		// a server that cannot serve at all) ends no stream.
		if err := srv.Serve(w); errors.Is(err, http.ErrServerClosed) {
			h.serverDown(srv, w)
		}
	}()
}

// serverDown ends the streams that came through srv, which is shutting
// down.
func (h *Hub) serverDown(srv *http.Server, w *shutdownWatch) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.byHub || h.closed {
		return
	}
	delete(h.servers, srv)
	for st := range h.attached {
		if st.srv == srv {
			st.kick(reasonShutdown)
		}
	}
}

// probeInterval is how often the hub checks on standard-path HTTP/1.x
// streams it cannot watch: a client that sent bytes after its request (a
// pipelined request) makes net/http stop reading the connection, so that
// its leaving would only show at the next write.
const probeInterval = 5 * time.Second

// probeFrame is a comment line: clients ignore it.
var probeFrame = &frame{b: []byte(":\n"), lossy: true}

// probe writes a probe to every standard-path HTTP/1.x stream that wrote
// nothing for a whole interval. Of two probes to a client that has gone,
// the second fails, and the stream ends.
func (h *Hub) probe() func(time.Time) {
	var to []*stream
	return func(now time.Time) {
		h.mu.RLock()
		for st := range h.attached {
			if st.probe.Load() && now.UnixNano()-st.progress.Load() >= int64(probeInterval) {
				to = append(to, st)
			}
		}
		h.mu.RUnlock()
		for _, st := range to {
			st.enqueue(probeFrame)
		}
		clear(to)
		to = to[:0]
	}
}
