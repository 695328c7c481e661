package shared_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/shared"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name string
		ev   shared.Event
		want string
	}{
		{"data only", shared.Event{Data: []byte("hi")}, "data: hi\n\n"},
		{"all fields", shared.Event{ID: "7", Name: "note", Data: []byte(`{"a":1}`), Retry: 1500 * time.Millisecond},
			"retry: 1500\nid: 7\nevent: note\ndata: {\"a\":1}\n\n"},
		{"LF lines", shared.Event{Data: []byte("a\nb")}, "data: a\ndata: b\n\n"},
		{"CRLF lines", shared.Event{Data: []byte("a\r\nb")}, "data: a\ndata: b\n\n"},
		{"CR lines", shared.Event{Data: []byte("a\rb\r")}, "data: a\ndata: b\ndata: \n\n"},
		{"empty data", shared.Event{}, "data: \n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := shared.AppendEvent(nil, &tt.ev)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestAppendEventRefusesInjection(t *testing.T) {
	for _, ev := range []shared.Event{
		{ID: "1\nevent: x"}, {ID: "1\r"}, {ID: "a\x00"},
		{Name: "x\ndata: evil"}, {Name: "x\r"}, {Name: "\x00"},
	} {
		dst := []byte("keep")
		got, err := shared.AppendEvent(dst, &ev)
		assert.ErrorIs(t, err, shared.ErrInvalidField)
		assert.Equal(t, "keep", string(got))
	}
}

func TestWriteTo(t *testing.T) {
	var buf bytes.Buffer
	n, err := (&shared.Event{Name: "x", Data: []byte("y")}).WriteTo(&buf)
	require.NoError(t, err)
	assert.EqualValues(t, buf.Len(), n)
	assert.Equal(t, "event: x\ndata: y\n\n", buf.String())
}

func TestCommentAndRetry(t *testing.T) {
	assert.Equal(t, ": a b\n\n", string(shared.AppendComment(nil, "a\nb")))
	assert.Equal(t, "retry: 3000\n\n", string(shared.AppendRetry(nil, 3*time.Second)))
}

func decodeAll(t *testing.T, r io.Reader) ([]shared.Event, error) {
	t.Helper()
	d := shared.NewDecoder(r, 0)
	var evs []shared.Event
	for {
		ev, err := d.Next()
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

func TestDecoderSpec(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []shared.Event
		err  error
	}{
		{"LF", "data: a\n\n", []shared.Event{{Name: "message", Data: []byte("a")}}, io.EOF},
		{"CRLF", "data: a\r\ndata: b\r\n\r\n", []shared.Event{{Name: "message", Data: []byte("a\nb")}}, io.EOF},
		{"CR", "event: x\rdata: a\r\r", []shared.Event{{Name: "x", Data: []byte("a")}}, io.EOF},
		{"BOM", "\xEF\xBB\xBFdata: a\n\n", []shared.Event{{Name: "message", Data: []byte("a")}}, io.EOF},
		{"comments and unknown fields", ": hi\nfoo: bar\ndata: a\n\n", []shared.Event{{Name: "message", Data: []byte("a")}}, io.EOF},
		{"no space after colon", "data:a\nevent:b\n\n", []shared.Event{{Name: "b", Data: []byte("a")}}, io.EOF},
		{"two spaces keep one", "data:  a\n\n", []shared.Event{{Name: "message", Data: []byte(" a")}}, io.EOF},
		{"field without colon", "data\n\n", []shared.Event{{Name: "message", Data: []byte("")}}, io.EOF},
		{"no data is not dispatched", "event: x\n\ndata: y\n\n", []shared.Event{{Name: "message", Data: []byte("y")}}, io.EOF},
		{"id persists", "id: 5\ndata: a\n\ndata: b\n\n", []shared.Event{{ID: "5", Name: "message", Data: []byte("a")}, {ID: "5", Name: "message", Data: []byte("b")}}, io.EOF},
		{"id with NUL ignored", "id: 5\ndata: a\n\nid: 6\x00\ndata: b\n\n", []shared.Event{{ID: "5", Name: "message", Data: []byte("a")}, {ID: "5", Name: "message", Data: []byte("b")}}, io.EOF},
		{"partial last event discarded", "data: a\n\ndata: b\n", []shared.Event{{Name: "message", Data: []byte("a")}}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := decodeAll(t, strings.NewReader(tt.in))
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, tt.want, evs)
			// Byte at a time must give the same result: CRLF split across reads.
			evs, err = decodeAll(t, iotest.OneByteReader(strings.NewReader(tt.in)))
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, tt.want, evs)
		})
	}
}

func TestDecoderRetryAndLastID(t *testing.T) {
	d := shared.NewDecoder(strings.NewReader("retry: 2500\nid: 9\ndata: a\n\nretry: x1\n\n"), 0)
	_, err := d.Next()
	require.NoError(t, err)
	assert.Equal(t, 2500*time.Millisecond, d.Retry())
	assert.Equal(t, "9", d.LastEventID())
	_, err = d.Next()
	assert.ErrorIs(t, err, io.EOF)
	assert.Equal(t, 2500*time.Millisecond, d.Retry(), "a non-digit retry is ignored")
}

func TestDecoderSizeLimit(t *testing.T) {
	big := "data: " + strings.Repeat("x", 100) + "\n\n"
	d := shared.NewDecoder(strings.NewReader(big), 50)
	_, err := d.Next()
	assert.ErrorIs(t, err, shared.ErrEventTooLarge)

	many := strings.Repeat("data: xxxxxxxxxx\n", 10) + "\n"
	d = shared.NewDecoder(strings.NewReader(many), 100)
	_, err = d.Next()
	assert.ErrorIs(t, err, shared.ErrEventTooLarge, "the limit covers the whole event, not one line")
}

func TestDecoderReaderError(t *testing.T) {
	boom := errors.New("boom")
	d := shared.NewDecoder(iotest.ErrReader(boom), 0)
	_, err := d.Next()
	assert.ErrorIs(t, err, boom)
}
