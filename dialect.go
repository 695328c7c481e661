package ssevent

// Dialects: what a stream's client expects on the wire. Our own clients
// read the JSON envelope; htmx and Datastar pages read events of their
// own. Every message is encoded for the JSON envelope when it is
// published; the first stream of another dialect that needs it encodes it
// for that dialect, once, and every other stream of that dialect shares
// that encoding (frame.as). Control events (connected, heartbeat, gap,
// reconnect, closed, channels) are the same in every dialect: each client
// acts on the names it knows and ignores the others.

import (
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"sync"

	"github.com/ssevent/ssevent/shared"
)

// QueryFormat is the query parameter that chooses a stream's dialect:
// ?format=htmx2, htmx4, datastar or json (docs/HYPERMEDIA.md).
const QueryFormat = "format"

// Stream formats, the values of ?format=.
const (
	// FormatJSON is the default: every message a "message" event whose
	// data is the {"channel", "payload"} envelope (docs/PROTOCOL.md).
	FormatJSON = "json"
	// FormatHTMX2 is for htmx 2 with htmx-ext-sse: a channel message is an
	// event named after its channel, its data the HTML or the text of a
	// string payload, other payloads as JSON. "htmx" means the same.
	FormatHTMX2 = "htmx2"
	// FormatHTMX4 is for htmx 4's hx-sse: HTML and text are unnamed
	// messages, swapped into the connecting element's target; other
	// payloads are events named after their channel, which htmx turns
	// into DOM events.
	FormatHTMX4 = "htmx4"
	// FormatDatastar is for Datastar v1: HTML and patches are
	// datastar-patch-elements and datastar-patch-signals events; other
	// messages keep the JSON envelope, which Datastar ignores.
	FormatDatastar = "datastar"
)

// Request headers that identify a client when ?format= is absent.
const (
	// HeaderDatastarRequest is sent by Datastar's client on its requests.
	HeaderDatastarRequest = "Datastar-Request"
	// HeaderHXRequest is sent by htmx 4 on its requests, the stream's
	// included. htmx 2 opens its streams with a native EventSource, which
	// sends no header of its own: it needs ?format=htmx2.
	HeaderHXRequest = "HX-Request"
)

// dialect is a stream's wire format.
type dialect uint8

const (
	dialectJSON dialect = iota
	dialectHTMX2
	dialectHTMX4
	dialectDatastar
	numDialects
)

// dialectOf chooses the dialect of a stream request: ?format= if given,
// else Datastar-Request: true, else HX-Request: true (htmx 4), else the
// JSON envelope. ok is false for an unknown format.
func dialectOf(r *http.Request, q map[string][]string) (d dialect, ok bool) {
	if v := q[QueryFormat]; len(v) > 0 && v[0] != "" {
		switch strings.ToLower(v[0]) {
		case FormatJSON:
			return dialectJSON, true
		case "htmx", FormatHTMX2:
			return dialectHTMX2, true
		case FormatHTMX4:
			return dialectHTMX4, true
		case FormatDatastar:
			return dialectDatastar, true
		}
		return dialectJSON, false
	}
	switch {
	case strings.EqualFold(r.Header.Get(HeaderDatastarRequest), "true"):
		return dialectDatastar, true
	case strings.EqualFold(r.Header.Get(HeaderHXRequest), "true"):
		return dialectHTMX4, true
	}
	return dialectJSON, true
}

// alts holds a message's encodings in the dialects other than the JSON
// envelope, each made once, by the first stream that needs it.
type alts struct {
	once [numDialects]sync.Once
	f    [numDialects]*frame
}

// as returns f, the JSON frame of m, in dialect d: f itself for the JSON
// envelope and for control events (no id), else m's encoding for d, made
// by the first caller and shared by the rest.
func (f *frame) as(d dialect, m *Message, h *Hub) *frame {
	if d == dialectJSON || f.id == 0 {
		return f
	}
	a := f.alts.Load()
	if a == nil {
		a = new(alts)
		if !f.alts.CompareAndSwap(nil, a) {
			a = f.alts.Load()
		}
	}
	a.once[d].Do(func() {
		if b := m.encode(d, h.epoch()); b != nil {
			a.f[d] = &frame{id: f.id, b: b}
		} else {
			a.f[d] = f
		}
	})
	return a.f[d]
}

// encode returns m's wire form in d, its id in epoch, or nil where it is
// the JSON frame's.
func (m *Message) encode(d dialect, epoch string) []byte {
	id := shared.EventID{Epoch: epoch, Seq: m.ID}
	switch d {
	case dialectHTMX2:
		name := m.Event
		if name == "" && m.Topic.Kind == TopicChannel {
			name = m.Topic.Name
		}
		text, _ := m.text()
		return appendTextEvent(nil, name, id, text)
	case dialectHTMX4:
		text, isText := m.text()
		switch {
		case m.Event != "":
			return appendTextEvent(nil, m.Event, id, text)
		case isText:
			if m.Kind == KindElements {
				text = htmxPartial(m.Data)
			}
			return appendTextEvent(nil, "", id, text)
		}
		name := shared.EventMessage
		if m.Topic.Kind == TopicChannel {
			name = m.Topic.Name
		}
		return appendTextEvent(nil, name, id, text)
	case dialectDatastar:
		return m.datastar(id)
	}
	return nil
}

// text returns what htmx clients get as data: the HTML of an HTML message
// or of a patch of elements, the text of a JSON string payload (isText
// true), else the JSON (the signals of a patch of signals).
func (m *Message) text() (text string, isText bool) {
	switch m.Kind {
	case KindHTML:
		var s string
		if json.Unmarshal(m.Data, &s) == nil {
			return s, true
		}
	case KindElements:
		var p elementsPatch
		if json.Unmarshal(m.Data, &p) == nil {
			return p.Elements, true
		}
	case KindSignals:
		var p signalsPatch
		if json.Unmarshal(m.Data, &p) == nil {
			return string(p.Signals), false
		}
	default:
		if len(m.Data) > 0 && m.Data[0] == '"' {
			var s string
			if json.Unmarshal(m.Data, &s) == nil {
				return s, true
			}
		}
	}
	return string(m.Data), false
}

// htmxSwap maps Datastar's patch modes to htmx's swap styles.
var htmxSwap = map[PatchMode]string{
	"": "outerHTML", PatchOuter: "outerHTML", PatchInner: "innerHTML", PatchReplace: "outerHTML",
	PatchPrepend: "afterbegin", PatchAppend: "beforeend", PatchBefore: "beforebegin",
	PatchAfter: "afterend", PatchRemove: "delete",
}

// htmxPartial renders a patch of elements for htmx 4: the elements, within
// an <hx-partial> aimed at the patch's selector with the swap of its mode
// when it has a selector.
func htmxPartial(data []byte) string {
	var p elementsPatch
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	if p.Selector == "" {
		return p.Elements
	}
	return `<hx-partial hx-target="` + html.EscapeString(p.Selector) + `" hx-swap="` + htmxSwap[p.Mode] + `">` +
		p.Elements + `</hx-partial>`
}

// appendTextEvent appends an event named name (none if "") with
// id and text as its data, one data line per line of text: a line break
// of any kind (CRLF, CR, LF) starts a new data line, so that no break
// inside the text ends a field early.
func appendTextEvent(dst []byte, name string, id shared.EventID, text string) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "id: "...)
	dst = id.Append(dst)
	dst = append(dst, '\n')
	dst = appendLines(dst, "data: ", "", text)
	return append(dst, '\n')
}

// appendLines appends one "<field><prefix><line>\n" per line of text,
// breaking at CRLF, CR and LF.
func appendLines(dst []byte, field, prefix, text string) []byte {
	for {
		i := strings.IndexAny(text, "\r\n")
		line := text
		if i >= 0 {
			line = text[:i]
		}
		dst = append(dst, field...)
		dst = append(dst, prefix...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
		if i < 0 {
			return dst
		}
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
}

// Datastar's event names.
const (
	datastarPatchElements = "datastar-patch-elements"
	datastarPatchSignals  = "datastar-patch-signals"
)

// datastar returns m as Datastar's client reads it, byte for byte as the
// Datastar Go SDK (github.com/starfederation/datastar-go) writes the same
// patch with the same id: the event, the id, the option lines, the
// elements or signals one line each, then a blank line, and one more
// line break the SDK writes. The SDK splits at LF only; this splits at
// CR and CRLF too, which an SSE parser reads as line ends. A message that
// is not HTML or a patch stays as the JSON envelope (nil), which
// Datastar's client ignores.
func (m *Message) datastar(id shared.EventID) []byte {
	var dst []byte
	head := func(event string) {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, "\nid: "...)
		dst = id.Append(dst)
		dst = append(dst, '\n')
	}
	switch m.Kind {
	case KindHTML:
		text, _ := m.text()
		head(datastarPatchElements)
		if text != "" {
			dst = appendLines(dst, "data: ", "elements ", text)
		}
	case KindElements:
		var p elementsPatch
		if json.Unmarshal(m.Data, &p) != nil {
			return nil
		}
		head(datastarPatchElements)
		if p.Selector != "" {
			dst = appendLines(dst, "data: ", "selector ", p.Selector)
		}
		if p.Mode != "" && p.Mode != PatchOuter {
			dst = appendLines(dst, "data: ", "mode ", string(p.Mode))
		}
		if p.Namespace != "" && p.Namespace != "html" {
			dst = appendLines(dst, "data: ", "namespace ", p.Namespace)
		}
		if p.UseViewTransition {
			dst = append(dst, "data: useViewTransition true\n"...)
		}
		if p.Elements != "" {
			dst = appendLines(dst, "data: ", "elements ", p.Elements)
		}
	case KindSignals:
		var p signalsPatch
		if json.Unmarshal(m.Data, &p) != nil {
			return nil
		}
		head(datastarPatchSignals)
		if p.OnlyIfMissing {
			dst = append(dst, "data: onlyIfMissing true\n"...)
		}
		dst = appendLines(dst, "data: ", "signals ", string(p.Signals))
	default:
		return nil
	}
	return append(dst, "\n\n"...)
}

// endsAbruptly reports whether the stream, now ended, must end without the
// end of its body. Datastar's client reconnects (with its default retry)
// after a network error only: a stream the server ended cleanly, for its
// Timeout, a shutdown or a slow reader, would leave its page without
// updates for good. So a Datastar stream ends abruptly, once what it drains
// is written, unless the server ended its session (Unsubscribe with no
// channel, ClearClients: the client must not come back) or the client left.
func (st *stream) endsAbruptly() bool {
	return st.dialect == dialectDatastar && st.reason != reasonEnded && st.reason != reasonGone
}

// abort ends a standard-path response without the end of its body: over
// HTTP/1.x by closing its connection (what was written is flushed), over
// HTTP/2 and wherever the connection cannot be taken, by resetting the
// stream with http.ErrAbortHandler (the handler's middleware then sees a
// panic, as net/http means it: Echo's Recover passes it on).
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
