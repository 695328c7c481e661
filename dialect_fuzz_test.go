package ssevent

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ssevent/ssevent/shared"
)

// FuzzDialectRoundTrip encodes any HTML fragment to any channel in each
// dialect and reads it back with the protocol's decoder: one event, its
// id, its name, and its text with every line break (CRLF, CR, LF) read as
// LF: no line break in the text ends a field or an event early.
func FuzzDialectRoundTrip(f *testing.F) {
	f.Add("news", "<p>a</p>")
	f.Add("a b", "<ul>\r\n<li>x</li>\r<li>y</li>\n</ul>")
	f.Add("ch", "\n\n")
	f.Add("ch", "data: x\n\nevent: y\r\n\r\nid: 1")
	f.Add("ch", "")
	f.Fuzz(func(t *testing.T, channel, html string) {
		if shared.ValidChannel(channel) != nil {
			return
		}
		data, err := marshalHTML(html)
		if err != nil || !json.Valid(data) {
			return
		}
		m := Message{ID: 1767225600000001, Topic: Topic{Kind: TopicChannel, Name: channel}, Kind: KindHTML, Data: data}
		var s string
		if json.Unmarshal(data, &s) != nil {
			return // not UTF-8: JSON replaced some bytes
		}
		want := strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		for _, tc := range []struct {
			d    dialect
			name string
			data string
		}{
			{dialectHTMX2, channel, want},
			{dialectHTMX4, "message", want},
			{dialectDatastar, datastarPatchElements, "elements " + strings.ReplaceAll(want, "\n", "\nelements ")},
		} {
			b := m.encode(tc.d, "k3x9ab")
			dec := shared.NewDecoder(bytes.NewReader(b), len(b)+1)
			if tc.d == dialectDatastar && s == "" {
				// No elements: no data line, nothing dispatched, as
				// the Datastar SDK writes it.
				if ev, err := dec.Next(); err == nil {
					t.Fatalf("empty fragment read as %+v", ev)
				}
				continue
			}
			ev, err := dec.Next()
			if err != nil {
				t.Fatalf("dialect %d: %q: %v", tc.d, b, err)
			}
			if ev.Name != tc.name || string(ev.Data) != tc.data || ev.ID != "k3x9ab-1767225600000001" {
				t.Fatalf("dialect %d: %q read as %q %q %q", tc.d, b, ev.Name, ev.Data, ev.ID)
			}
			if ev, err := dec.Next(); err == nil {
				t.Fatalf("dialect %d: %q: a second event %+v", tc.d, b, ev)
			}
		}
	})
}
