package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// serverStats is what the serving process reports about itself.
type serverStats struct {
	RSSKiB     int64 `json:"rssKiB"`
	CPUMicros  int64 `json:"cpuMicros"` // user + system since start
	Goroutines int   `json:"goroutines"`
	HeapKiB    int64 `json:"heapKiB"`
	Streams    int   `json:"streams"`
	// Disconnects counts the streams that ended, by the hub's reason
	// (ssevent.DisconnectReason; the bare loop's own "slow_consumer"
	// and "write_failed").
	Disconnects map[string]uint64 `json:"disconnects,omitempty"`
}

// publishResult is the answer of the publish endpoint.
type publishResult struct {
	Sent     int    `json:"sent"`
	Errors   int    `json:"errors"`
	Nanos    int64  `json:"nanos"`
	FirstErr string `json:"firstErr,omitempty"`
}

// sender is what the two server implementations publish through.
type sender interface {
	send(channel string, payload []byte) error
	streams() int
	disconnects() map[string]uint64
	close(ctx context.Context)
}

// serve runs the server side: the hub (impl "hub") or the bare write loop
// (impl "bare") on 127.0.0.1 over proto (see protocols), plus /publish and
// /stats for the driver. With rb.url, the hub is one of several that act
// as one over that Redis.
// It prints "LISTEN host:port" on stdout and runs until stdin closes.
func serve(impl string, queue int, cpuprofile, proto string, rb redisOptions) error {
	raiseFileLimit()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	var s sender
	mux := http.NewServeMux()
	switch impl {
	case "hub", "hub-std", "hub-release":
		cfg := server.Config{
			MaxTotalConnections: -1,
			QueueSize:           queue,
			ReleaseHandler:      impl == "hub-release",
			Logger:              slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		}
		if rb.url != "" {
			b, err := newBroker(rb, cfg.Logger)
			if err != nil {
				return err
			}
			cfg.Broker = b
		}
		hub, err := server.NewHub(cfg)
		if err != nil {
			return err
		}
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		if impl == "hub-std" {
			// A pass-through writer, as middleware would install: the
			// hub keeps each stream on its request goroutine, as it
			// does for HTTP/2 and TLS.
			e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
				return func(c echo.Context) error {
					c.Response().Writer = passWriter{c.Response().Writer}
					return next(c)
				}
			})
		}
		e.Any("/events", hub.Handler)
		mux.Handle("/events", e)
		s = hubSender{hub}
	case "bare":
		b := &bare{conns: make(map[string]map[*bareConn]struct{}), queue: queue, seq: uint64(time.Now().UnixMicro())}
		mux.HandleFunc("/events", b.handle)
		s = b
	case "ceiling":
		if proto != "http1" {
			return fmt.Errorf("-impl ceiling serves plain HTTP/1.1 only, not %s", proto)
		}
		c, err := newCeiling()
		if err != nil {
			return err
		}
		mux.HandleFunc("/events", c.handle)
		s = c
	default:
		return fmt.Errorf("unknown server implementation %q", impl)
	}
	mux.HandleFunc("/publish", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, _ := strconv.Atoi(q.Get("n"))
		size, _ := strconv.Atoi(q.Get("size"))
		rate, _ := strconv.ParseFloat(q.Get("rate"), 64)
		if cpuprofile != "" {
			prof.start(cpuprofile)
		}
		unicast, _ := strconv.Atoi(q.Get("unicast"))
		res := publish(s, q.Get("channel"), unicast, n, size, rate)
		_ = json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		prof.stop()
		if r.URL.Query().Get("gc") != "" {
			runtime.GC()
			debug.FreeOSMemory()
		}
		st := selfStats(s.streams())
		st.Disconnects = s.disconnects()
		_ = json.NewEncoder(w).Encode(st)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	conf, err := protocols(srv, proto)
	if err != nil {
		return err
	}
	if conf != nil {
		go func() { _ = srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { _ = srv.Serve(ln) }()
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	// The driver closes our stdin when it is done (or dies).
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.close(ctx)
	_ = srv.Close()
	return nil
}

// publish sends n events whose wire form is about size bytes, at rate
// events per second (0: as fast as Send returns). Each payload carries its
// send time in Unix nanoseconds and its sequence number. With unicast > 0
// every one of the unicast channels named by unicastChannel gets the n
// events, one round of sends per event.
func publish(s sender, channel string, unicast, n, size int, rate float64) publishResult {
	// Wire form: "id: <16 digits>\nevent: message\ndata: " (42 bytes)
	// + `{"channel":"<ch>","payload":` (24 + len(ch)) + payload + "}\n\n".
	overhead := 42 + 24 + len(channel) + 3
	channels := []string{channel}
	if unicast > 0 {
		channels = make([]string, unicast)
		for i := range channels {
			channels[i] = unicastChannel(channel, i)
		}
		overhead += len(channels[len(channels)-1]) - len(channel)
	}
	pad := max(size-overhead-len(`{"t":1234567890123456789,"s":1234567,"p":""}`), 0)
	padding := strings.Repeat("x", pad)
	var res publishResult
	start := time.Now()
	buf := make([]byte, 0, size+64)
	for i := range n {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		for _, ch := range channels {
			buf = append(buf[:0], `{"t":`...)
			buf = strconv.AppendInt(buf, time.Now().UnixNano(), 10)
			buf = append(buf, `,"s":`...)
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, `,"p":"`...)
			buf = append(buf, padding...)
			buf = append(buf, `"}`...)
			if err := s.send(ch, buf); err != nil {
				res.Errors++
				if res.FirstErr == "" {
					res.FirstErr = err.Error()
				}
				continue
			}
			res.Sent++
		}
	}
	res.Nanos = time.Since(start).Nanoseconds()
	return res
}

func selfStats(streams int) serverStats {
	st := serverStats{Goroutines: runtime.NumGoroutine(), Streams: streams}
	st.CPUMicros = cpuMicros()
	st.RSSKiB = procStatusKiB("/proc/self/status", "VmRSS:")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.HeapKiB = int64(ms.HeapInuse >> 10)
	return st
}

// procStatusKiB reads one "Key: N kB" line of a /proc status file.
func procStatusKiB(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, key); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return -1
}

// profiler runs one CPU profile over the publish phase.
type profiler struct {
	mu sync.Mutex
	f  *os.File
}

var prof profiler

func (p *profiler) start(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f != nil {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		f.Close()
		return
	}
	p.f = f
}

func (p *profiler) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return
	}
	pprof.StopCPUProfile()
	p.f.Close()
	p.f = nil
}

// passWriter wraps a response writer and changes nothing.
type passWriter struct{ http.ResponseWriter }

func (w passWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type hubSender struct{ hub *server.Hub }

func (h hubSender) send(channel string, payload []byte) error {
	return h.hub.Send(channel, json.RawMessage(payload))
}

// streams counts this hub's streams (ClientCount counts the cluster's).
func (h hubSender) streams() int { return h.hub.Stats().Streams }
func (h hubSender) disconnects() map[string]uint64 {
	m := make(map[string]uint64)
	for r, n := range h.hub.Stats().Disconnects {
		m[string(r)] = n
	}
	return m
}
func (h hubSender) close(ctx context.Context) {
	_ = h.hub.Close(ctx)
}

// bare is the baseline: a minimal net/http SSE server with no channels,
// ids from a counter, each event encoded once and queued by reference to
// every connection, whose handler goroutine writes what is queued in one
// write and flushes. It is what a careful hand-written server does, with
// none of the hub's features (history, replay, sessions, heartbeats).
type bare struct {
	mu    sync.RWMutex
	conns map[string]map[*bareConn]struct{} // by channel
	n     int                               // connections
	queue int
	seq   uint64
	pubMu sync.Mutex
	// slow and failed count the connections cut for a full queue and
	// those whose write failed.
	slow, failed atomic.Uint64
}

type bareConn struct {
	ch   chan []byte
	kill chan struct{}
	once sync.Once
}

func (b *bare) handle(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	first, _ := shared.AppendEvent(nil, &shared.Event{Name: shared.EventConnected, Data: []byte(`{}`)})
	if _, err := w.Write(first); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	c := &bareConn{ch: make(chan []byte, b.queue), kill: make(chan struct{})}
	channel := r.URL.Query().Get("channels")
	b.mu.Lock()
	if b.conns[channel] == nil {
		b.conns[channel] = make(map[*bareConn]struct{})
	}
	b.conns[channel][c] = struct{}{}
	b.n++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.conns[channel], c)
		if len(b.conns[channel]) == 0 {
			delete(b.conns, channel)
		}
		b.n--
		b.mu.Unlock()
	}()
	buf := make([]byte, 0, 64<<10)
	for {
		select {
		case f := <-c.ch:
			buf = append(buf[:0], f...)
		more:
			for len(buf) < 60<<10 {
				select {
				case f := <-c.ch:
					buf = append(buf, f...)
				default:
					break more
				}
			}
			_ = rc.SetWriteDeadline(time.Now().Add(15 * time.Second))
			if _, err := w.Write(buf); err != nil {
				b.failed.Add(1)
				return
			}
			if rc.Flush() != nil {
				b.failed.Add(1)
				return
			}
		case <-c.kill:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (b *bare) send(channel string, payload []byte) error {
	b.pubMu.Lock()
	defer b.pubMu.Unlock()
	b.seq++
	f := make([]byte, 0, len(payload)+len(channel)+64)
	f = append(f, "id: "...)
	f = strconv.AppendUint(f, b.seq, 10)
	f = append(f, "\nevent: message\ndata: "...)
	f = shared.AppendEnvelope(f, []byte(strconv.Quote(channel)), payload)
	f = append(f, "\n\n"...)
	b.mu.RLock()
	for c := range b.conns[channel] {
		select {
		case c.ch <- f:
		default:
			c.once.Do(func() {
				b.slow.Add(1)
				close(c.kill)
			})
		}
	}
	b.mu.RUnlock()
	return nil
}

func (b *bare) disconnects() map[string]uint64 {
	m := make(map[string]uint64)
	if n := b.slow.Load(); n > 0 {
		m["slow_consumer"] = n
	}
	if n := b.failed.Load(); n > 0 {
		m["write_failed"] = n
	}
	return m
}

func (b *bare) streams() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.n
}

func (b *bare) close(context.Context) {
	b.mu.RLock()
	for _, cs := range b.conns {
		for c := range cs {
			c.once.Do(func() { close(c.kill) })
		}
	}
	b.mu.RUnlock()
}
