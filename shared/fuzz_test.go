package shared_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ssevent/ssevent/shared"
)

// FuzzRoundTrip checks that any id, event name and data the encoder accepts
// decodes back identical, as exactly one event.
func FuzzRoundTrip(f *testing.F) {
	f.Add("1", "message", []byte("hello"))
	f.Add("", "", []byte("a\r\nb\rc\n"))
	f.Add("9", "x", []byte(""))
	f.Add("7", "note", []byte("\xEF\xBB\xBFdata: x\n\n"))
	f.Add(" 1", " y", []byte(": not a comment"))
	f.Fuzz(func(t *testing.T, id, name string, data []byte) {
		b, err := shared.AppendEvent(nil, &shared.Event{ID: id, Name: name, Data: data})
		if err != nil {
			if strings.ContainsAny(id+name, "\r\n\x00") {
				return
			}
			t.Fatalf("valid fields refused: %v", err)
		}
		d := shared.NewDecoder(bytes.NewReader(b), len(b)+1)
		ev, err := d.Next()
		if err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		// A data line's value loses one leading space on decode; the encoder
		// writes "data: " so the value survives. Line breaks normalise to LF.
		wantData := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data))
		wantName := name
		if wantName == "" {
			wantName = "message"
		}
		if ev.Name != wantName || string(ev.Data) != wantData {
			t.Fatalf("got name %q data %q, want %q %q", ev.Name, ev.Data, wantName, wantData)
		}
		// A leading space in the id is removed by the field parser's one
		// space rule only when the encoder writes none; it writes "id: ".
		if ev.ID != id {
			t.Fatalf("got id %q, want %q", ev.ID, id)
		}
		if _, err := d.Next(); err != io.EOF {
			t.Fatalf("extra event or error after the first: %v", err)
		}
	})
}

// FuzzDecoder feeds arbitrary bytes to the decoder: it must not panic, must
// terminate, and must respect its size limit.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("data: a\n\n"))
	f.Add([]byte("\xEF\xBB\xBFid: 1\r\nevent: x\r\ndata: y\r\n\r\n"))
	f.Add([]byte("retry: 99999999999999999999999\n\n"))
	f.Add([]byte(":\r\r\r\n\ndata\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 64
		d := shared.NewDecoder(bytes.NewReader(in), limit)
		for i := 0; i <= len(in); i++ {
			ev, err := d.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > limit {
				t.Fatalf("event of %d bytes passed a %d-byte limit", len(ev.Data), limit)
			}
		}
		t.Fatalf("more events than input bytes")
	})
}

// FuzzParseChannels checks that whatever ParseChannels accepts is valid,
// unique and free of separators.
func FuzzParseChannels(f *testing.F) {
	f.Add("a,b, c")
	f.Add(",,\x00,")
	f.Add("\u00a0, a\n")
	f.Fuzz(func(t *testing.T, s string) {
		chs, err := shared.ParseChannels(s)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, c := range chs {
			// Valid (as a POST would require), unique, and with no space
			// or tab left around it.
			if shared.ValidChannel(c) != nil || seen[c] || strings.Trim(c, " \t") != c {
				t.Fatalf("ParseChannels(%q) returned bad channel %q", s, c)
			}
			seen[c] = true
		}
	})
}

// FuzzParseEventID checks that accepted ids format back to themselves
// (modulo leading zeros of the sequence number), and that what a hub
// formats parses back to the same id.
func FuzzParseEventID(f *testing.F) {
	f.Add("123")
	f.Add("007")
	f.Add("k3x9-42")
	f.Add("ab-0001")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := shared.ParseEventID(s)
		if err != nil || s == "" {
			return
		}
		if id.Epoch != "" && !shared.ValidEpoch(id.Epoch) {
			t.Fatalf("ParseEventID(%q) accepted epoch %q", s, id.Epoch)
		}
		seq := s[strings.IndexByte(s, '-')+1:]
		if strings.TrimLeft(seq, "0") != strings.TrimLeft(shared.EventID{Seq: id.Seq}.String(), "0") {
			t.Fatalf("ParseEventID(%q) = %+v", s, id)
		}
		again, err := shared.ParseEventID(id.String())
		if err != nil || again != id {
			t.Fatalf("%+v formats as %q, which parses as %+v, %v", id, id.String(), again, err)
		}
	})
}
