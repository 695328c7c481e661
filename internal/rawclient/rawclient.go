// Package rawclient speaks HTTP/1.1 by hand over TCP, for tests that need
// what net/http's client will not do: read a response's head and body at a
// controlled pace or not at all, keep sending bytes after a request, send a
// GET with a body, or see the very first bytes the server answered with.
//
// Nothing here is safe for concurrent use except what net.Conn allows: one
// goroutine reading while another writes.
package rawclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options tune a connection.
type Options struct {
	// RecvBuffer, when positive, sets the socket's receive buffer (SO_RCVBUF)
	// before it connects, so that the TCP window stays small and a client
	// that stops reading stalls the server's writes after a few KiB rather
	// than megabytes.
	RecvBuffer int
	// DialTimeout bounds the connect. Defaults to 10s.
	DialTimeout time.Duration
	// Wrap, when set, wraps a Stream's body before its events are read:
	// to pace the reads, or to watch the bytes.
	Wrap func(io.Reader) io.Reader
}

// Conn is one client connection.
type Conn struct {
	*net.TCPConn
	// R reads the connection, buffered. Read the response through it (or
	// through Response.Body), never through the TCPConn, or bytes it
	// buffered are skipped.
	R    *bufio.Reader
	addr string
}

// Dial connects to addr (host:port).
func Dial(addr string, opt Options) (*Conn, error) {
	d := net.Dialer{Timeout: opt.DialTimeout}
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if opt.RecvBuffer > 0 {
		d.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = setRecvBuffer(fd, opt.RecvBuffer)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &Conn{TCPConn: c.(*net.TCPConn), R: bufio.NewReaderSize(c, 4096), addr: addr}, nil
}

// WriteRequest writes a request head: the request line, Host, the given
// header fields in a stable order, and the blank line. Whatever the caller
// writes next is, to the server, the body or the next request.
func (c *Conn) WriteRequest(method, target string, header http.Header) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, c.addr)
	if err := header.Write(&b); err != nil {
		return err
	}
	b.WriteString("\r\n")
	_, err := c.Write(b.Bytes())
	return err
}

// Get writes a GET for target with header.
func (c *Conn) Get(target string, header http.Header) error {
	return c.WriteRequest(http.MethodGet, target, header)
}

// Response is a response head read by hand, with its body.
type Response struct {
	// Raw is the head exactly as received, blank line included.
	Raw []byte
	// StatusCode and Header are parsed from Raw.
	StatusCode int
	Header     http.Header
	// Body reads the body: decoded from chunked transfer coding, limited
	// to Content-Length, or up to the connection's end.
	Body io.Reader
}

// MaxHeadBytes bounds a response head.
const MaxHeadBytes = 64 << 10

// ErrNotHTTP means the first bytes of the answer are not a status line.
var ErrNotHTTP = errors.New("rawclient: the answer does not start with an HTTP/1.x status line")

// ReadHead reads the response head. When the answer does not start with a
// status line it returns ErrNotHTTP, and a Response whose Raw holds the
// bytes read (up to the first blank line), for the test to show.
func (c *Conn) ReadHead() (*Response, error) {
	var raw []byte
	for {
		line, err := c.R.ReadSlice('\n')
		raw = append(raw, line...)
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) && len(raw) < MaxHeadBytes {
				continue
			}
			return &Response{Raw: raw}, err
		}
		if len(raw) > MaxHeadBytes {
			return &Response{Raw: raw}, errors.New("rawclient: response head too large")
		}
		if string(line) == "\r\n" || string(line) == "\n" {
			break
		}
	}
	if !bytes.HasPrefix(raw, []byte("HTTP/1.")) {
		return &Response{Raw: raw}, ErrNotHTTP
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil {
		return &Response{Raw: raw}, err
	}
	out := &Response{Raw: raw, StatusCode: resp.StatusCode, Header: resp.Header}
	switch {
	case len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked":
		out.Body = httputil.NewChunkedReader(c.R)
	case resp.ContentLength >= 0:
		out.Body = io.LimitReader(c.R, resp.ContentLength)
	default:
		out.Body = c.R
	}
	return out, nil
}

// Event is one event of a text/event-stream.
type Event struct {
	// ID is the event's id field, "" when it had none. (Unlike a
	// browser's lastEventId, it is not carried over from earlier events.)
	ID string
	// Name is the event field; "message" when it had none.
	Name string
	// Data is the data lines joined with LF. It is valid until the next
	// call to Next.
	Data []byte
	// Retry is the value of a retry field met since the previous event,
	// in milliseconds, or -1.
	Retry int64
}

// EventReader reads the events of a stream the hub wrote. It is a fast,
// lenient reader for big test streams: lines end in LF (a CR before it is
// dropped), comments are skipped, and a block without data is not an event.
// shared.Decoder is the exact one.
type EventReader struct {
	r    *bufio.Reader
	data []byte
	long []byte // a line longer than r's buffer, gathered
	// Bytes counts the bytes read so far.
	Bytes int64
	// Retries counts the retry fields read so far, and LastRetry is the
	// value of the last one, in milliseconds: the delay a browser would
	// wait before reconnecting.
	Retries   int
	LastRetry int64
}

// NewEventReader reads events from r. It reads ahead at most 4 KiB: a
// test that stops calling Next leaves the rest of the stream to the socket.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: bufio.NewReaderSize(r, 4096), LastRetry: -1}
}

// Next returns the next event. At the end of the stream it returns io.EOF
// when the stream ended between events, io.ErrUnexpectedEOF inside one, or
// the reader's error.
func (er *EventReader) Next() (Event, error) {
	ev := Event{Retry: -1}
	er.data = er.data[:0]
	hasData, started := false, false
	for {
		line, err := er.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it.
			er.long = append(er.long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = er.r.ReadSlice('\n')
				er.long = append(er.long, line...)
			}
			line = er.long
		}
		er.Bytes += int64(len(line))
		if err != nil {
			if errors.Is(err, io.EOF) && (started || len(line) > 0) {
				err = io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
		if len(line) == 0 {
			if !hasData {
				started = false
				ev = Event{Retry: ev.Retry}
				continue
			}
			if ev.Name == "" {
				ev.Name = "message"
			}
			ev.Data = er.data
			return ev, nil
		}
		started = true
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			ev.ID = string(value)
		case "event":
			ev.Name = string(value)
		case "data":
			if hasData {
				er.data = append(er.data, '\n')
			}
			er.data = append(er.data, value...)
			hasData = true
		case "retry":
			if ms, err := strconv.ParseInt(string(value), 10, 64); err == nil {
				ev.Retry, er.LastRetry = ms, ms
				er.Retries++
			}
		}
	}
}

// Stream is a GET whose answer is an event stream. A read deadline that
// passes ends it for good: the chunked reader keeps the timeout error.
type Stream struct {
	*Conn
	Resp   *Response
	Events *EventReader
}

// OpenStream dials addr, GETs target with header, reads the head, and
// returns the stream when the answer is 200; otherwise it returns an error
// holding the status and the start of the body.
func OpenStream(addr, target string, header http.Header, opt Options) (*Stream, error) {
	c, err := Dial(addr, opt)
	if err != nil {
		return nil, err
	}
	if err := c.Get(target, header); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := c.ReadHead()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("reading the head %q: %w", resp.Raw, err)
	}
	if resp.StatusCode != http.StatusOK {
		body := make([]byte, 512)
		n, _ := io.ReadFull(resp.Body, body)
		c.Close()
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, body[:n])
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		c.Close()
		return nil, fmt.Errorf("content type %q", ct)
	}
	body := resp.Body
	if opt.Wrap != nil {
		body = opt.Wrap(body)
	}
	return &Stream{Conn: c, Resp: resp, Events: NewEventReader(body)}, nil
}
