package shared

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Event is one event of a text/event-stream, as the WHATWG HTML standard
// ("Server-sent events") defines it.
type Event struct {
	// ID is the id field. Empty means the event has no id line when
	// encoded; when decoded it is the stream's last event id at dispatch,
	// as a browser's MessageEvent.lastEventId reports it.
	ID string
	// Name is the event field. Empty means "message", both when encoded
	// (no event line is written) and when decoded (Name is set to
	// "message").
	Name string
	// Data is the payload. Each line of it (split at LF, CRLF or CR) is
	// written as its own data line; a decoder joins them with LF.
	Data []byte
	// Retry, when positive, is written as a retry field in whole
	// milliseconds: the reconnection delay a browser EventSource uses.
	Retry time.Duration
}

// Errors returned by the encoder.
var (
	// ErrInvalidField reports an id or event name that would break the
	// stream: it holds CR, LF or NUL.
	ErrInvalidField = errors.New("ssevent: event field holds CR, LF or NUL")
)

// validField reports whether s can be written as the value of an id or
// event field without ending the line early or being ignored.
func validField(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00")
}

// AppendEvent appends the wire form of ev to dst, ending with the blank line
// that dispatches it, and returns the extended buffer. An ID or Name holding
// CR, LF or NUL gives ErrInvalidField and leaves dst unchanged, so nothing a
// caller passes can inject a field into the stream. An event with neither
// Data nor any other field encodes as a single data line with no value,
// which a browser dispatches with empty data.
func AppendEvent(dst []byte, ev *Event) ([]byte, error) {
	if !validField(ev.ID) || !validField(ev.Name) {
		return dst, ErrInvalidField
	}
	if ev.Retry > 0 {
		dst = append(dst, "retry: "...)
		dst = strconv.AppendInt(dst, ev.Retry.Milliseconds(), 10)
		dst = append(dst, '\n')
	}
	if ev.ID != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, ev.ID...)
		dst = append(dst, '\n')
	}
	if ev.Name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, ev.Name...)
		dst = append(dst, '\n')
	}
	dst = appendData(dst, ev.Data)
	return append(dst, '\n'), nil
}

// appendData writes data as data lines, splitting at LF, CRLF and CR.
func appendData(dst, data []byte) []byte {
	for {
		i := 0
		for i < len(data) && data[i] != '\n' && data[i] != '\r' {
			i++
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		if i == len(data) {
			return dst
		}
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// WriteTo writes the encoded event to w. It implements io.WriterTo.
func (ev *Event) WriteTo(w io.Writer) (int64, error) {
	b, err := AppendEvent(nil, ev)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// AppendComment appends a comment line (": text") to dst. Browsers ignore
// comments; they keep proxies from closing an idle stream. Line breaks in
// text are replaced by spaces.
func AppendComment(dst []byte, text string) []byte {
	dst = append(dst, ':', ' ')
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return append(dst, '\n', '\n')
}

// AppendRetry appends a lone retry field followed by a blank line.
func AppendRetry(dst []byte, d time.Duration) []byte {
	dst = append(dst, "retry: "...)
	dst = strconv.AppendInt(dst, d.Milliseconds(), 10)
	return append(dst, '\n', '\n')
}
