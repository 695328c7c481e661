package hubtest

// Helpers of the hostile-client tests (hostile_*.go, shutdown.go,
// fuzz_resume.go): raw TCP clients, heap and CPU figures; and of every
// test: building hubs through the mount, and live servers.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/rawclient"
	"github.com/ssevent/ssevent/shared"
)

// stuckRecvBuffer is the receive buffer of raw clients that stop reading:
// small, so that the server's writes stall after a few KiB.
const stuckRecvBuffer = 4096

// addr returns the server's host:port.
func (ts *testServer) addr() string { return ts.srv.Listener.Addr().String() }

// newTestServerSendBuffer is newTestServer with the server's socket send
// buffer (SO_SNDBUF) set to sendBuf on every connection it accepts, so
// that the kernel holds little of what the hub writes to a client that
// reads slowly. The connections stay *net.TCPConn, as the detached path
// needs.
func newTestServerSendBuffer(t testing.TB, m Mount, cfg ssevent.Config, sendBuf int) *testServer {
	t.Helper()
	h, app := newHub(m, cfg)
	return serveHub(t, h, app, func(srv *httptest.Server) {
		srv.Listener = sendBufferListener{srv.Listener, sendBuf}
	})
}

type sendBufferListener struct {
	net.Listener
	size int
}

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// rawStream is an event stream read by hand.
type rawStream struct {
	*rawclient.Stream
	connected shared.Connected
	position  string // the connected event's id
}

// openRaw opens a stream over a raw connection (with recvBuf as its
// receive buffer when positive) and reads its connected event. The
// connection is closed when the test ends.
func openRaw(t testing.TB, addr, target string, header http.Header, recvBuf int) *rawStream {
	t.Helper()
	return openRawWith(t, addr, target, header, rawclient.Options{RecvBuffer: recvBuf})
}

// openRawWith is openRaw with all the options.
func openRawWith(t testing.TB, addr, target string, header http.Header, opt rawclient.Options) *rawStream {
	t.Helper()
	rs, err := openRawOpt(addr, target, header, opt)
	require.NoError(t, err, "GET %s", target)
	t.Cleanup(func() { rs.Close() })
	return rs
}

// openRawErr is openRaw for goroutines other than the test's: it returns
// the error, and the caller closes the stream.
func openRawErr(addr, target string, header http.Header, recvBuf int) (*rawStream, error) {
	return openRawOpt(addr, target, header, rawclient.Options{RecvBuffer: recvBuf})
}

func openRawOpt(addr, target string, header http.Header, opt rawclient.Options) (*rawStream, error) {
	s, err := rawclient.OpenStream(addr, target, header, opt)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	rs := &rawStream{Stream: s}
	ev, err := rs.nextErr(waitTimeout)
	switch {
	case err != nil:
		s.Close()
		return nil, fmt.Errorf("GET %s: reading the first event: %w", target, err)
	case ev.Name != shared.EventConnected:
		s.Close()
		return nil, fmt.Errorf("GET %s: first event %q, want %q", target, ev.Name, shared.EventConnected)
	}
	if err := json.Unmarshal(ev.Data, &rs.connected); err != nil {
		s.Close()
		return nil, fmt.Errorf("GET %s: connected data %s: %w", target, ev.Data, err)
	}
	rs.position = ev.ID
	return rs, nil
}

// next reads the next event other than a heartbeat, failing t after
// waitTimeout.
func (rs *rawStream) next(t testing.TB) rawclient.Event {
	t.Helper()
	ev, err := rs.nextErr(waitTimeout)
	require.NoError(t, err, "reading the stream")
	return ev
}

// nextErr reads the next event other than a heartbeat within d.
func (rs *rawStream) nextErr(d time.Duration) (rawclient.Event, error) {
	_ = rs.SetReadDeadline(time.Now().Add(d))
	for {
		ev, err := rs.Events.Next()
		if err != nil || ev.Name != shared.EventHeartbeat {
			return ev, err
		}
	}
}

// readToEnd reads events until the stream ends (or d passes) and returns
// them, with the error that ended it: io.EOF for a body that ended
// cleanly.
func (rs *rawStream) readToEnd(d time.Duration) ([]rawclient.Event, error) {
	var out []rawclient.Event
	deadline := time.Now().Add(d)
	_ = rs.SetReadDeadline(deadline)
	for {
		ev, err := rs.Events.Next()
		if err != nil {
			return out, err
		}
		ev.Data = append([]byte(nil), ev.Data...)
		out = append(out, ev)
	}
}

// pacedReader reads at most chunk bytes every interval: a client that
// reads slowly but steadily.
type pacedReader struct {
	r        io.Reader
	chunk    int
	interval time.Duration
	left     int // of the current interval's allowance
	next     time.Time
}

func paced(chunk int, interval time.Duration) func(io.Reader) io.Reader {
	return func(r io.Reader) io.Reader { return &pacedReader{r: r, chunk: chunk, interval: interval} }
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		if d := time.Until(p.next); d > 0 {
			time.Sleep(d)
		}
		p.left, p.next = p.chunk, time.Now().Add(p.interval)
	}
	if len(b) > p.left {
		b = b[:p.left]
	}
	n, err := p.r.Read(b)
	p.left -= n
	return n, err
}

// mustEventID parses an id the hub gave.
func mustEventID(t testing.TB, s string) shared.EventID {
	t.Helper()
	id, err := shared.ParseEventID(s)
	require.NoError(t, err, "id %q", s)
	return id
}

// payloadOf returns the payload of a message event's envelope.
func payloadOf(t testing.TB, data []byte) string {
	t.Helper()
	var env shared.Envelope
	require.NoError(t, json.Unmarshal(data, &env), "data %.200s", data)
	var s string
	require.NoError(t, json.Unmarshal(env.Payload, &s), "payload %.200s", env.Payload)
	return s
}

// numbered is a payload that says its place in a sequence, padded to about
// size bytes: "000042 xxxx…".
func numbered(i, size int) string {
	p := fmt.Sprintf("%06d ", i)
	if size > len(p) {
		p += strings.Repeat("x", size-len(p))
	}
	return p
}

// placeIn returns the place of the numbered payload in the data of a
// message event on channel. It reads the hub's encoding directly, without
// decoding the JSON, for tests that read hundreds of MiB under the race
// detector; data it does not expect is decoded to say what is wrong.
func placeIn(data []byte, channel string) (int, error) {
	prefix := `{"channel":"` + channel + `","payload":"`
	if len(data) > len(prefix)+7 && string(data[:len(prefix)]) == prefix && data[len(prefix)+6] == ' ' {
		if i, err := strconv.Atoi(string(data[len(prefix) : len(prefix)+6])); err == nil && i >= 0 {
			return i, nil
		}
	}
	var env shared.Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return 0, fmt.Errorf("data %.60s: %w", data, err)
	}
	if env.Channel != channel {
		return 0, fmt.Errorf("channel %q, want %q", env.Channel, channel)
	}
	return 0, fmt.Errorf("payload %.60s is not numbered", env.Payload)
}

// readPlaces reads total numbered message events on channel from c, which
// must come in order from 0, heartbeats aside.
func readPlaces(c *sseClient, channel string, total int) error {
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for i := 0; i < total; {
		select {
		case ev, ok := <-c.events:
			if !ok {
				return fmt.Errorf("the stream ended after %d events", i)
			}
			if ev.Name == shared.EventHeartbeat {
				continue
			}
			k, err := placeIn(ev.Data, channel)
			if err != nil {
				return fmt.Errorf("event %d (%s): %w", i, ev.Name, err)
			}
			if k != i {
				return fmt.Errorf("event %d where %d was due", k, i)
			}
			i++
			timeout.Reset(waitTimeout)
		case <-timeout.C:
			return fmt.Errorf("nothing for %v after %d events", waitTimeout, i)
		}
	}
	return nil
}

// readPlaces is readPlaces for a raw stream.
func (rs *rawStream) readPlaces(channel string, total int) error {
	for i := 0; i < total; i++ {
		ev, err := rs.nextErr(waitTimeout)
		if err != nil {
			return fmt.Errorf("after %d events: %w", i, err)
		}
		k, err := placeIn(ev.Data, channel)
		if err != nil {
			return fmt.Errorf("event %d (%s): %w", i, ev.Name, err)
		}
		if k != i {
			return fmt.Errorf("event %d where %d was due", k, i)
		}
	}
	return nil
}

// heapSettled samples the live heap every interval until three samples in
// a row are within 1 MiB of each other (what is blocked stays blocked) or
// limit passes, and returns the highest sample.
func heapSettled(limit time.Duration) (peak uint64, samples int) {
	const interval = 150 * time.Millisecond
	deadline := time.Now().Add(limit)
	var last [3]uint64
	for {
		h := heapInUse()
		peak = max(peak, h)
		last[samples%3] = h
		samples++
		if samples >= 3 {
			lo, hi := min(last[0], last[1], last[2]), max(last[0], last[1], last[2])
			if hi-lo < 1<<20 {
				return peak, samples
			}
		}
		if time.Now().After(deadline) {
			return peak, samples
		}
		time.Sleep(interval)
	}
}

// mib formats a byte count.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// newHub builds a hub through m's constructor that panics on an invalid
// config, on the standard path when standardPath says so. It returns the
// hub and the handler that serves it.
func newHub(m Mount, cfg ssevent.Config) (*hub, http.Handler) {
	h, app, err := newHubWith(m, cfg, true)
	if err != nil {
		panic(fmt.Sprintf("%s: New returned an error instead of panicking: %v", m.Name, err))
	}
	return h, app
}

// newHubErr is newHub with m's constructor that returns the error.
func newHubErr(m Mount, cfg ssevent.Config) (*hub, http.Handler, error) {
	return newHubWith(m, cfg, false)
}

func newHubWith(m Mount, cfg ssevent.Config, must bool) (*hub, http.Handler, error) {
	if standardPath() {
		cfg.DisableTakeover = true
	}
	core, app, err := m.New(cfg, must)
	if err != nil {
		return nil, nil, err
	}
	return &hub{core}, app, nil
}

// takenOver reports whether a stream was taken over from net/http: those
// say Connection: close.
func takenOver(resp *http.Response) bool { return resp.Close }

// middleware wraps a handler as an application's middleware would.
type middleware func(http.Handler) http.Handler

// liveServer is a hub behind a real http.Server on a 127.0.0.1 listener,
// started either with Serve or with the framework's own way (a Server of
// the mount), so that a test can shut the server down as an application
// would.
type liveServer struct {
	hub     *hub
	srv     *http.Server
	running *Running // the framework's server; nil for a plain Serve
	addr    string
	served  <-chan error // what serving returned
}

// startLive serves a hub built through m from cfg, with mw around its
// handler, on a plain http.Server, or on the framework's own server when
// via is not nil.
func startLive(t *testing.T, m Mount, cfg ssevent.Config, via *Server, mw ...middleware) *liveServer {
	t.Helper()
	hub, app := newHub(m, cfg)
	for _, wrap := range mw {
		app = wrap(app)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ls := &liveServer{hub: hub, addr: l.Addr().String()}
	if via != nil {
		ls.running = via.Serve(app, l)
		ls.srv, ls.served = ls.running.Server, ls.running.Served
	} else {
		served := make(chan error, 1)
		ls.srv, ls.served = &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}, served
		go func() { served <- ls.srv.Serve(l) }()
	}
	t.Cleanup(func() {
		_ = ls.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = hub.Close(ctx)
		select {
		case <-ls.served:
		case <-time.After(waitTimeout):
			t.Error("Serve did not return")
		}
	})
	return ls
}
