package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// client is one SSE connection read by a goroutine with small buffers and a
// hand-rolled parser of the few lines the benchmark needs.
type client struct {
	// stop makes the reader return (its error is then ignored); close
	// releases the connection.
	stop, close func()
	m           int // events expected

	got     int
	seen    []uint64 // bitmap of sequence numbers received
	dup     int
	ooo     int // sequence or id lower than one already received
	maxSeq  int
	lastID  uint64
	lats    []uint32 // microseconds
	minSent int64    // earliest send time seen, Unix ns
	lastRcv int64    // latest receive time, Unix ns
	bytes   int64
	err     error         // why the stream ended before the driver closed it
	done    chan struct{} // closed when the reader returns
	// connectedAt and endedAt are when the connected event arrived and
	// when the stream ended before the driver closed it, Unix ns.
	connectedAt, endedAt int64
}

// counters shared by all clients.
type counters struct {
	delivered atomic.Int64
	ended     atomic.Int64 // streams the server ended
	stopping  atomic.Bool
}

var errStatus = errors.New("unexpected response")

// dialer opens the benchmark's streams over one protocol.
type dialer struct {
	// addrs are the host:port of the servers; stream i goes to
	// addrs[i % len(addrs)].
	addrs []string
	proto string // http1, tls, h2 or h2c
	tls   *tls.Config
	// sources are the loopback addresses connections are made from, in
	// turn (one address has only the ephemeral port range); none: the
	// system's choice.
	sources []net.IP
	next    atomic.Uint64
	// h2 is the HTTP/2 client of the h2 and h2c protocols: streams share
	// its connections, as a browser's do.
	h2    *http.Client
	pause time.Duration // the reader's pause between reads
	// h2Buf is the read buffer of an HTTP/2 stream: the h2 client
	// already buffers what arrived, and 100,000 streams of 32 KiB would
	// take 3.2 GB.
	h2Buf int
}

// h2MaxStreams is the most streams the bench's HTTP/2 server lets one
// connection carry, Go's default; the client opens another connection
// when one is full. More per connection costs the server more per frame:
// Go's HTTP/2 write scheduler looks through the connection's streams for
// one with data each time it writes a frame (at 1,000 per connection and
// 100,000 streams, half the server's CPU).
const h2MaxStreams = 250

// newDialer returns a dialer for proto to the servers at addrs; roots
// trusts their certificate; size is the wire size of one event.
func newDialer(addrs []string, proto string, roots *x509.CertPool, sources int, pause time.Duration, size int) *dialer {
	d := &dialer{addrs: addrs, proto: proto, pause: pause, h2Buf: max(4<<10, 2*size)}
	for i := range sources {
		d.sources = append(d.sources, net.IPv4(127, 0, byte((i+2)>>8), byte((i+2)&0xff)))
	}
	if roots != nil {
		d.tls = &tls.Config{RootCAs: roots, ServerName: "localhost", NextProtos: []string{"http/1.1"}}
	}
	switch proto {
	case "h2", "h2c":
		tr := &http.Transport{DialContext: d.dialContext, TLSClientConfig: d.tls, MaxIdleConnsPerHost: 1024,
			HTTP2: &http.HTTP2Config{MaxConcurrentStreams: h2MaxStreams}}
		tr.Protocols = new(http.Protocols)
		if proto == "h2" {
			tr.TLSClientConfig = d.tls.Clone()
			tr.TLSClientConfig.NextProtos = []string{"h2"}
			tr.Protocols.SetHTTP2(true)
		} else {
			tr.Protocols.SetUnencryptedHTTP2(true)
		}
		d.h2 = &http.Client{Transport: tr}
	}
	return d
}

func (d *dialer) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	if len(d.sources) > 0 {
		nd.LocalAddr = &net.TCPAddr{IP: d.sources[d.next.Add(1)%uint64(len(d.sources))]}
	}
	return nd.DialContext(ctx, network, addr)
}

// scheme is the URL scheme of the server.
func (d *dialer) scheme() string {
	if d.tls != nil {
		return "https"
	}
	return "http"
}

// pauser pauses before every read but the first, as a client busy with
// other work between its reads would.
type pauser struct {
	r    io.Reader
	d    time.Duration
	wait bool
}

func (p *pauser) Read(b []byte) (int, error) {
	if p.wait {
		time.Sleep(p.d)
	}
	p.wait = true
	return p.r.Read(b)
}

// dial opens stream i to path and reads the response head.
func (d *dialer) dial(i int, path string, m int) (*client, *bufio.Reader, error) {
	addr := d.addrs[i%len(d.addrs)]
	if d.h2 != nil {
		return d.dialH2(addr, path, m)
	}
	conn, err := d.dialContext(context.Background(), "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if d.tls != nil {
		tc := tls.Client(conn, d.tls)
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return nil, nil, err
		}
		conn = tc
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, nil, err
	}
	var r io.Reader = conn
	if d.pause > 0 {
		r = &pauser{r: conn, d: d.pause}
	}
	br := bufio.NewReaderSize(r, 32<<10) // the server writes up to 64 KiB at once
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	status, err := br.ReadSlice('\n')
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		conn.Close()
		return nil, nil, fmt.Errorf("%w: %q", errStatus, bytes.TrimSpace(status))
	}
	chunked := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Transfer-Encoding")) &&
			bytes.EqualFold(bytes.TrimSpace(v), []byte("chunked")) {
			chunked = true
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	body := br
	if chunked {
		body = bufio.NewReaderSize(httputil.NewChunkedReader(br), 8<<10)
	}
	c := newClient(m)
	c.stop = func() { _ = conn.SetReadDeadline(time.Now()) }
	c.close = func() { _ = conn.Close() }
	return c, body, nil
}

// dialH2 opens the stream as one HTTP/2 stream of the shared client.
func (d *dialer) dialH2(addr, path string, m int) (*client, *bufio.Reader, error) {
	req, err := http.NewRequest(http.MethodGet, d.scheme()+"://"+addr+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := d.h2.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		resp.Body.Close()
		return nil, nil, fmt.Errorf("%w: %s %s", errStatus, resp.Proto, resp.Status)
	}
	var r io.Reader = resp.Body
	if d.pause > 0 {
		r = &pauser{r: resp.Body, d: d.pause}
	}
	c := newClient(m)
	c.stop = func() { _ = resp.Body.Close() }
	c.close = c.stop
	return c, bufio.NewReaderSize(r, d.h2Buf), nil
}

func newClient(m int) *client {
	return &client{m: m, seen: make([]uint64, (m+63)/64), maxSeq: -1, done: make(chan struct{}), lats: make([]uint32, 0, m), minSent: 1<<63 - 1}
}

var (
	pfxID    = []byte("id: ")
	pfxEvent = []byte("event: ")
	pfxData  = []byte("data: ")
	keyT     = []byte(`"t":`)
	keyS     = []byte(`"s":`)
)

// read parses the stream until it ends. connected is called once, when the
// connected event arrives.
func (c *client) read(body *bufio.Reader, cnt *counters, connected func()) {
	defer close(c.done)
	var (
		id        uint64
		event     []byte
		eventBuf  [32]byte
		sent, seq int64 = -1, -1
		pending   int64
		now       int64 // receive time of what is buffered
		stale     = true
	)
	for {
		line, err := body.ReadSlice('\n')
		if err != nil {
			cnt.delivered.Add(pending)
			if !cnt.stopping.Load() {
				c.err, c.endedAt = err, time.Now().UnixNano()
				cnt.ended.Add(1)
			}
			connected() // never leave the driver waiting
			return
		}
		c.bytes += int64(len(line))
		line = line[:len(line)-1]
		switch {
		case len(line) == 0: // dispatch
			switch {
			case string(event) == "connected":
				if c.connectedAt == 0 {
					c.connectedAt = time.Now().UnixNano()
				}
				connected()
			case (len(event) == 0 || string(event) == "message") && seq >= 0:
				if stale {
					// Events that arrived in one read arrived at
					// once: one clock reading per read.
					now, stale = time.Now().UnixNano(), false
				}
				c.record(id, int(seq), sent, now)
				pending++
			}
			id, event, sent, seq = 0, nil, -1, -1
			if body.Buffered() == 0 {
				stale = true
				if pending > 0 {
					cnt.delivered.Add(pending)
					pending = 0
				}
			}
		case bytes.HasPrefix(line, pfxID):
			id, _ = strconv.ParseUint(string(line[len(pfxID):]), 10, 64)
		case bytes.HasPrefix(line, pfxEvent):
			event = append(eventBuf[:0], line[len(pfxEvent):]...)
		case bytes.HasPrefix(line, pfxData):
			sent, seq = field(line, keyT), field(line, keyS)
		}
	}
}

// endKind names how a stream the server ended looked to the client:
// "eof" (the body ended cleanly, with its last chunk), "unexpected_eof"
// (the connection closed in the middle of the body, as when the server
// cuts a stream), "reset", "timeout", or the error's text.
func endKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected_eof"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	s := err.Error()
	// An HTTP/2 stream reset: "stream error: stream ID 7; INTERNAL_ERROR;
	// received from peer"; the id would make each one a kind of its own.
	if rest, ok := strings.CutPrefix(s, "stream error: stream ID "); ok {
		if _, code, ok := strings.Cut(rest, "; "); ok {
			s = "h2 stream reset: " + code
		}
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// field returns the non-negative integer after key in line, or -1.
func field(line, key []byte) int64 {
	i := bytes.Index(line, key)
	if i < 0 {
		return -1
	}
	var v int64
	j := i + len(key)
	for ; j < len(line) && line[j] >= '0' && line[j] <= '9'; j++ {
		v = v*10 + int64(line[j]-'0')
	}
	if j == i+len(key) {
		return -1
	}
	return v
}

func (c *client) record(id uint64, seq int, sent, now int64) {
	if seq >= c.m {
		c.ooo++ // not an event of this run
		return
	}
	w, bit := seq/64, uint64(1)<<(seq%64)
	if c.seen[w]&bit != 0 {
		c.dup++
		return
	}
	c.seen[w] |= bit
	c.got++
	if seq < c.maxSeq || (id != 0 && id <= c.lastID) {
		c.ooo++
	}
	c.maxSeq = max(c.maxSeq, seq)
	c.lastID = max(c.lastID, id)
	if sent > 0 {
		c.minSent = min(c.minSent, sent)
		lat := max((now-sent)/1000, 0)
		c.lats = append(c.lats, uint32(min(lat, 1<<32-1)))
	}
	c.lastRcv = max(c.lastRcv, now)
}

// unicastChannel is the channel of client i when each has its own.
func unicastChannel(prefix string, i int) string { return prefix + "-" + strconv.Itoa(i) }

// connectAll opens n streams, numbered first to first+n-1 among all the
// run's streams, with bounded concurrency and starts their readers. It
// returns once every stream has its connected event, or failed.
func connectAll(d *dialer, channel string, unicast bool, first, n, m, conc int, cnt *counters) ([]*client, int, error) {
	clients := make([]*client, n)
	var (
		wg       sync.WaitGroup
		failed   atomic.Int64
		firstErr atomic.Value
	)
	sem := make(chan struct{}, conc)
	wg.Add(n)
	for i := range n {
		sem <- struct{}{}
		go func() {
			ch := channel
			if unicast {
				ch = unicastChannel(channel, first+i)
			}
			c, body, err := d.dial(first+i, "/events?channels="+ch, m)
			if err != nil {
				<-sem
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				wg.Done()
				return
			}
			clients[i] = c
			var once sync.Once
			go c.read(body, cnt, func() {
				once.Do(func() {
					<-sem
					wg.Done()
				})
			})
		}()
	}
	wg.Wait()
	var err error
	if e, ok := firstErr.Load().(error); ok {
		err = e
	}
	return clients, int(failed.Load()), err
}
