package shared

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"time"
)

// DefaultMaxEventSize is the Decoder's limit on one event's accumulated data
// when NewDecoder is given no other.
const DefaultMaxEventSize = 1 << 20

// ErrEventTooLarge is returned by Decoder.Next when one event's fields add up
// to more than the decoder's limit. The stream cannot be resumed after it.
var ErrEventTooLarge = errors.New("ssevent: event exceeds the decoder's size limit")

// Decoder reads events from a text/event-stream exactly as a browser's
// EventSource does: a leading UTF-8 byte order mark is skipped; lines end in
// LF, CRLF or CR; comment lines are skipped; a field without a colon has an
// empty value; one space after the colon is removed; data lines are joined
// with LF; an id holding NUL is ignored; a retry that is not all ASCII digits
// is ignored; an event with no data is not dispatched.
type Decoder struct {
	r       *bufio.Reader
	max     int
	started bool
	lastID  string
	retry   time.Duration
	line    []byte
	pendCR  bool // the previous line ended in CR: skip one LF that follows
}

// NewDecoder returns a Decoder reading from r. maxEventSize bounds one
// event's size in bytes (lines and data together); zero or less means
// DefaultMaxEventSize.
func NewDecoder(r io.Reader, maxEventSize int) *Decoder {
	if maxEventSize <= 0 {
		maxEventSize = DefaultMaxEventSize
	}
	return &Decoder{r: bufio.NewReaderSize(r, 4096), max: maxEventSize}
}

// LastEventID is the stream's last event id: the value a browser would send
// as the Last-Event-ID header when it reconnects.
func (d *Decoder) LastEventID() string { return d.lastID }

// Retry is the last reconnection delay the stream set with a retry field,
// or zero.
func (d *Decoder) Retry() time.Duration { return d.retry }

// readLine returns the next line without its terminator. The returned slice
// is valid until the next call. At the end of input a final unterminated
// line is returned with io.EOF only when it is empty (the standard discards
// an incomplete last event).
func (d *Decoder) readLine(budget int) ([]byte, error) {
	d.line = d.line[:0]
	for {
		b, err := d.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(d.line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if d.pendCR {
			d.pendCR = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return d.line, nil
		case '\r':
			d.pendCR = true
			return d.line, nil
		}
		if len(d.line) >= budget {
			return nil, ErrEventTooLarge
		}
		d.line = append(d.line, b)
	}
}

// Next returns the next dispatched event. It returns io.EOF when the stream
// ends cleanly between events, io.ErrUnexpectedEOF when it ends inside one
// (that partial event is discarded, as a browser does), ErrEventTooLarge when
// an event exceeds the limit, or the reader's error.
func (d *Decoder) Next() (Event, error) {
	var (
		data    []byte
		hasData bool
		name    string
		size    int
	)
	for {
		line, err := d.readLine(d.max - size)
		if err != nil {
			if err == io.EOF && (hasData || name != "" || size > 0) {
				err = io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		size += len(line) + 1
		if !d.started {
			d.started = true
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if len(line) == 0 {
			if !hasData {
				name = ""
				size = 0
				continue
			}
			if name == "" {
				name = EventMessage
			}
			if data == nil {
				data = []byte{}
			}
			return Event{ID: d.lastID, Name: name, Data: data}, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				d.lastID = string(value)
			}
		case "retry":
			if ms, ok := parseDigits(value); ok {
				d.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

// parseDigits parses a non-empty run of ASCII digits, saturating instead of
// overflowing.
func parseDigits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < (1<<62)/10 {
			n = n*10 + int64(c-'0')
		}
	}
	return n, true
}
