package shared_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ssevent/ssevent/shared"
)

// controlFree reports whether s holds no C0 or C1 control character, DEL,
// nor a Unicode line or paragraph separator.
func controlFree(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	})
}

// FuzzValidChannel checks ValidChannel against its definition, written
// independently, and that an accepted name travels through ?channels=.
func FuzzValidChannel(f *testing.F) {
	for _, s := range []string{"news", "", "a,b", "a\nb", "\x7f", "\u0085", "\u2028", "\xff", " a ", "é中😀",
		strings.Repeat("x", 128), strings.Repeat("x", 129), strings.Repeat("é", 64), `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		want := name != "" && len(name) <= shared.MaxChannelLen && utf8.ValidString(name) &&
			!strings.Contains(name, ",") && controlFree(name)
		err := shared.ValidChannel(name)
		if (err == nil) != want {
			t.Fatalf("ValidChannel(%q) = %v, want valid %v", name, err, want)
		}
		if err != nil {
			if !errors.Is(err, shared.ErrInvalidChannel) {
				t.Fatalf("ValidChannel(%q) = %v, not ErrInvalidChannel", name, err)
			}
			return
		}
		// ?channels= trims spaces and tabs around names; what is left is
		// still a valid name, and a repeated name counts once.
		got, err := shared.ParseChannels(name + "," + name)
		if err != nil {
			t.Fatalf("ParseChannels of the valid %q: %v", name, err)
		}
		if trimmed := strings.Trim(name, " \t"); trimmed == "" {
			if len(got) != 0 {
				t.Fatalf("ParseChannels(%q) = %q", name, got)
			}
		} else if !slices.Equal(got, []string{trimmed}) || shared.ValidChannel(trimmed) != nil {
			t.Fatalf("ParseChannels(%q) = %q", name, got)
		}
	})
}

// FuzzValidEventName checks ValidEventName against its definition, and
// that an accepted name encodes as one event line that decodes back to it.
func FuzzValidEventName(f *testing.F) {
	for _, s := range []string{"update", "", "message", "connected", "heartbeat", "gap", "reconnect", "closed", "channels", "open", "error", "reconnecting",
		"a\nb", "a\rb", "a\x00", "\u2028", " lead", "a:b", "data: x", "\xc3", strings.Repeat("x", 64), strings.Repeat("x", 65)} {
		f.Add(s)
	}
	reserved := []string{"connected", "heartbeat", "gap", "reconnect", "closed", "channels", "open", "error", "reconnecting"}
	f.Fuzz(func(t *testing.T, name string) {
		want := name != "" && len(name) <= shared.MaxEventNameLen && utf8.ValidString(name) &&
			controlFree(name) && !slices.Contains(reserved, name)
		err := shared.ValidEventName(name)
		if (err == nil) != want {
			t.Fatalf("ValidEventName(%q) = %v, want valid %v", name, err, want)
		}
		if err != nil {
			if !errors.Is(err, shared.ErrInvalidEventName) {
				t.Fatalf("ValidEventName(%q) = %v, not ErrInvalidEventName", name, err)
			}
			return
		}
		b, err := shared.AppendEvent(nil, &shared.Event{Name: name, Data: []byte("x")})
		if err != nil {
			t.Fatalf("the encoder refused the valid name %q: %v", name, err)
		}
		if n := bytes.Count(b, []byte("\n")); n != 3 {
			t.Fatalf("%q encodes as %d lines: %q", name, n, b)
		}
		ev, err := shared.NewDecoder(bytes.NewReader(b), 0).Next()
		if err != nil || ev.Name != name || string(ev.Data) != "x" {
			t.Fatalf("%q decodes as %+v, %v", name, ev, err)
		}
	})
}
