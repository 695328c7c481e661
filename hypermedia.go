package ssevent

// Publishing for server-rendered pages: HTML fragments and Datastar
// patches. Each is one Message of its kind; the hub encodes it once for
// each dialect its recipients speak (dialect.go), and a client of our own
// gets it as an ordinary envelope whose payload is the message's Data.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ssevent/ssevent/shared"
)

// MessageKind says what a Message's Data holds, so that each dialect can
// render it as its clients expect (docs/HYPERMEDIA.md).
type MessageKind uint8

// Message kinds. Whatever the kind, Data is JSON, and it is the payload a
// client of the JSON envelope receives.
const (
	// KindJSON: Data is any JSON payload (Send, SendTo, Broadcast).
	KindJSON MessageKind = iota
	// KindHTML: Data is a JSON string holding an HTML fragment (SendHTML).
	KindHTML
	// KindElements: Data is a Datastar patch-elements object,
	// {"elements", "selector", "mode", "namespace", "useViewTransition"},
	// the empty ones left out (PatchElements).
	KindElements
	// KindSignals: Data is a Datastar patch-signals object,
	// {"signals", "onlyIfMissing"} (PatchSignals).
	KindSignals
)

// ErrInvalidPatch means a PatchElements or PatchSignals call is not a
// patch Datastar can apply: an unknown mode, a selector with a line break,
// no elements to patch, signals that are not a JSON object. Nothing was
// published.
var ErrInvalidPatch = errors.New("ssevent: invalid patch")

// PatchMode is how Datastar applies patched elements to the page.
type PatchMode string

// Patch modes, as Datastar names them. The default is PatchOuter.
const (
	// PatchOuter morphs the element with the same id (or the selector's
	// element) into the new one.
	PatchOuter PatchMode = "outer"
	// PatchInner morphs the target's children.
	PatchInner PatchMode = "inner"
	// PatchReplace replaces the target outright, without morphing.
	PatchReplace PatchMode = "replace"
	// PatchPrepend inserts the elements as the target's first children.
	PatchPrepend PatchMode = "prepend"
	// PatchAppend inserts the elements as the target's last children.
	PatchAppend PatchMode = "append"
	// PatchBefore inserts the elements before the target.
	PatchBefore PatchMode = "before"
	// PatchAfter inserts the elements after the target.
	PatchAfter PatchMode = "after"
	// PatchRemove removes the target; no elements are needed.
	PatchRemove PatchMode = "remove"
)

func (m PatchMode) valid() bool {
	switch m {
	case PatchOuter, PatchInner, PatchReplace, PatchPrepend, PatchAppend, PatchBefore, PatchAfter, PatchRemove:
		return true
	}
	return false
}

// elementsPatch is the Data of a KindElements message.
type elementsPatch struct {
	Elements          string    `json:"elements,omitempty"`
	Selector          string    `json:"selector,omitempty"`
	Mode              PatchMode `json:"mode,omitempty"`
	Namespace         string    `json:"namespace,omitempty"`
	UseViewTransition bool      `json:"useViewTransition,omitempty"`
}

// signalsPatch is the Data of a KindSignals message.
type signalsPatch struct {
	Signals       json.RawMessage `json:"signals"`
	OnlyIfMissing bool            `json:"onlyIfMissing,omitempty"`
}

// ElementsOption sets an option of PatchElements.
type ElementsOption func(*elementsPatch)

// WithSelector targets the elements matched by the CSS selector instead of
// the elements whose ids the patch carries.
func WithSelector(selector string) ElementsOption {
	return func(p *elementsPatch) { p.Selector = selector }
}

// WithMode sets how the elements are applied; the default is PatchOuter.
func WithMode(mode PatchMode) ElementsOption {
	return func(p *elementsPatch) { p.Mode = mode }
}

// WithNamespace creates the elements in the "svg" or "mathml" namespace
// instead of HTML's.
func WithNamespace(namespace string) ElementsOption {
	return func(p *elementsPatch) { p.Namespace = namespace }
}

// WithViewTransition applies the patch inside a view transition where the
// browser has them.
func WithViewTransition() ElementsOption {
	return func(p *elementsPatch) { p.UseViewTransition = true }
}

// SignalsOption sets an option of PatchSignals.
type SignalsOption func(*signalsPatch)

// OnlyIfMissing sets only the signals the page does not have yet.
func OnlyIfMissing() SignalsOption {
	return func(p *signalsPatch) { p.OnlyIfMissing = true }
}

// SendHTML publishes an HTML fragment, rendered once by the caller (from
// html/template, a templ component, ...), to the subscribers of channel.
// Each receives it in its stream's dialect: htmx 2 as an event named after
// the channel, htmx 4 as a message swapped into its target, Datastar as a
// patch-elements event, our own clients as an envelope whose payload is
// the HTML string. It is stored for replay like any message. The hub does
// not sanitise html: escape what users wrote, as html/template does.
func (h *Hub) SendHTML(ctx context.Context, channel, html string) error {
	if err := validChannel(channel); err != nil {
		return err
	}
	data, err := marshalHTML(html)
	if err != nil {
		return fmt.Errorf("ssevent: encoding the fragment: %w", err)
	}
	return h.publishData(ctx, Topic{Kind: TopicChannel, Name: channel}, "", KindHTML, data)
}

// PatchElements publishes a Datastar patch-elements event to the
// subscribers of channel: elements (HTML, rendered once) applied by mode
// to the target, by default the elements of the same ids. Datastar clients
// get the datastar-patch-elements event, byte for byte as the Datastar Go
// SDK writes it; htmx clients get the elements as HTML (htmx 4 within an
// hx-partial aimed at the selector); our own clients an envelope whose
// payload is the patch object. It returns an error wrapping
// ErrInvalidPatch, and publishes nothing, for an unknown mode, a selector
// or namespace with a line break, or no elements unless the mode is
// PatchRemove with a selector.
func (h *Hub) PatchElements(ctx context.Context, channel, elements string, opts ...ElementsOption) error {
	if err := validChannel(channel); err != nil {
		return err
	}
	p := elementsPatch{Elements: elements}
	for _, o := range opts {
		o(&p)
	}
	if p.Mode == PatchOuter {
		p.Mode = ""
	}
	if p.Namespace == "html" {
		p.Namespace = ""
	}
	switch {
	case p.Mode != "" && !p.Mode.valid():
		return fmt.Errorf("%w: unknown mode %q", ErrInvalidPatch, p.Mode)
	case strings.ContainsAny(p.Selector, "\r\n"):
		return fmt.Errorf("%w: the selector holds a line break", ErrInvalidPatch)
	case p.Namespace != "" && p.Namespace != "svg" && p.Namespace != "mathml":
		return fmt.Errorf("%w: unknown namespace %q", ErrInvalidPatch, p.Namespace)
	case p.Mode == PatchRemove && p.Selector == "" && elements == "":
		return fmt.Errorf("%w: remove needs a selector or elements with ids", ErrInvalidPatch)
	case p.Mode != PatchRemove && elements == "":
		return fmt.Errorf("%w: no elements", ErrInvalidPatch)
	}
	data, err := marshalHTML(p)
	if err != nil {
		return fmt.Errorf("ssevent: encoding the patch: %w", err)
	}
	return h.publishData(ctx, Topic{Kind: TopicChannel, Name: channel}, "", KindElements, data)
}

// PatchSignals publishes a Datastar patch-signals event to the subscribers
// of channel. signals is encoded as JSON and must be an object (a
// json.RawMessage or []byte is taken as JSON already); a null member
// removes that signal. Datastar clients get the datastar-patch-signals
// event, htmx 2 clients an event named after the channel whose data is the
// signals JSON, htmx 4 clients a DOM event of that name, our own clients
// an envelope whose payload is {"signals", "onlyIfMissing"}.
func (h *Hub) PatchSignals(ctx context.Context, channel string, signals any, opts ...SignalsOption) error {
	if err := validChannel(channel); err != nil {
		return err
	}
	var raw []byte
	switch s := signals.(type) {
	case json.RawMessage:
		raw = s
	case []byte:
		raw = s
	default:
		b, err := json.Marshal(signals)
		if err != nil {
			return fmt.Errorf("ssevent: encoding the signals: %w", err)
		}
		raw = b
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return fmt.Errorf("%w: signals are not JSON: %v", ErrInvalidPatch, err)
	}
	if b := buf.Bytes(); len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("%w: signals must be a JSON object", ErrInvalidPatch)
	}
	p := signalsPatch{Signals: buf.Bytes()}
	for _, o := range opts {
		o(&p)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("ssevent: encoding the patch: %w", err)
	}
	return h.publishData(ctx, Topic{Kind: TopicChannel, Name: channel}, "", KindSignals, data)
}

// marshalHTML encodes v as JSON leaving <, > and & as they are: HTML
// escaped for JSON would be half again as long or more.
func marshalHTML(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// LastEventID returns the id of the last event the hub delivered, "" if
// none yet. A server-rendered page puts it in its stream's URL
// (?lastEventId=), so that its stream replays whatever was published
// between the page's rendering and the stream's opening, and an htmx 2
// page, whose EventSource is sometimes made anew without its last event
// id, replays from there rather than losing what it missed
// (docs/HYPERMEDIA.md).
func (h *Hub) LastEventID() string {
	pos := h.delivered.Load()
	if pos == 0 {
		return ""
	}
	return shared.EventID{Epoch: h.epoch(), Seq: pos}.String()
}
