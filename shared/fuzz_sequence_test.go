package shared_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// FuzzEventSequence encodes two events, with a retry field and a comment
// between them, into one stream: the decoder returns exactly those two
// events, each identical to what was encoded, the second inheriting the
// first's id when it has none, and the retry. No input yields an extra
// event or field.
func FuzzEventSequence(f *testing.F) {
	f.Add("1", "a", []byte("x"), "", "", []byte("y\r"), "comment")
	f.Add("", "", []byte("\r\n\r\n"), "2", "b", []byte("\n"), "\r\ndata: injected\r\n")
	f.Add("3", "c", []byte("data: x\n\nid: 9\n\n"), "4", "d", []byte(":"), "")
	f.Add(" 5", "  e", []byte(""), "6 ", "f ", []byte("\xEF\xBB\xBF"), "\x00")
	f.Fuzz(func(t *testing.T, id1, name1 string, data1 []byte, id2, name2 string, data2 []byte, comment string) {
		var stream []byte
		var err error
		if stream, err = shared.AppendEvent(stream, &shared.Event{ID: id1, Name: name1, Data: data1}); err != nil {
			return // fields holding CR, LF or NUL: FuzzRoundTrip covers the refusal
		}
		stream = shared.AppendComment(stream, comment)
		stream = shared.AppendRetry(stream, 1500*time.Millisecond)
		if stream, err = shared.AppendEvent(stream, &shared.Event{ID: id2, Name: name2, Data: data2}); err != nil {
			return
		}
		norm := strings.NewReplacer("\r\n", "\n", "\r", "\n")
		d := shared.NewDecoder(bytes.NewReader(stream), len(stream)+1)
		check := func(id, name string, data []byte) {
			t.Helper()
			ev, err := d.Next()
			if err != nil {
				t.Fatalf("decoding %q: %v", stream, err)
			}
			if name == "" {
				name = shared.EventMessage
			}
			if ev.ID != id || ev.Name != name || string(ev.Data) != norm.Replace(string(data)) {
				t.Fatalf("decoded %+v from %q, want id %q name %q data %q", ev, stream, id, name, data)
			}
		}
		check(id1, name1, data1)
		if id2 == "" {
			id2 = id1 // the last event id persists
		}
		check(id2, name2, data2)
		if d.Retry() != 1500*time.Millisecond {
			t.Fatalf("retry %v from %q", d.Retry(), stream)
		}
		if ev, err := d.Next(); err != io.EOF {
			t.Fatalf("extra event %+v or error %v after two in %q", ev, err, stream)
		}
	})
}
