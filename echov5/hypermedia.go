package echov5

import (
	"context"

	"github.com/ssevent/ssevent"
)

// Publishing for htmx and Datastar pages: see package ssevent and
// docs/HYPERMEDIA.md.
type (
	// MessageKind is ssevent.MessageKind: what a Message's Data holds.
	MessageKind = ssevent.MessageKind
	// PatchMode is ssevent.PatchMode: how Datastar applies patched
	// elements.
	PatchMode = ssevent.PatchMode
	// ElementsOption is ssevent.ElementsOption, an option of
	// PatchElements.
	ElementsOption = ssevent.ElementsOption
	// SignalsOption is ssevent.SignalsOption, an option of PatchSignals.
	SignalsOption = ssevent.SignalsOption
)

// Message kinds: see ssevent.MessageKind.
const (
	KindJSON     = ssevent.KindJSON
	KindHTML     = ssevent.KindHTML
	KindElements = ssevent.KindElements
	KindSignals  = ssevent.KindSignals
)

// Patch modes: see ssevent.PatchMode.
const (
	PatchOuter   = ssevent.PatchOuter
	PatchInner   = ssevent.PatchInner
	PatchReplace = ssevent.PatchReplace
	PatchPrepend = ssevent.PatchPrepend
	PatchAppend  = ssevent.PatchAppend
	PatchBefore  = ssevent.PatchBefore
	PatchAfter   = ssevent.PatchAfter
	PatchRemove  = ssevent.PatchRemove
)

// Stream formats and the parameter and headers that choose them: see
// ssevent.QueryFormat.
const (
	QueryFormat           = ssevent.QueryFormat
	FormatJSON            = ssevent.FormatJSON
	FormatHTMX2           = ssevent.FormatHTMX2
	FormatHTMX4           = ssevent.FormatHTMX4
	FormatDatastar        = ssevent.FormatDatastar
	HeaderDatastarRequest = ssevent.HeaderDatastarRequest
	HeaderHXRequest       = ssevent.HeaderHXRequest
	// QueryPage names a page's stream (ssevent.QueryPage), CookiePage
	// prefixes the cookie that remembers its session.
	QueryPage  = ssevent.QueryPage
	CookiePage = ssevent.CookiePage
)

// NewPageID is ssevent.NewPageID: a random id for a page's stream URL
// (?page=), so that a stream the page opens anew resumes its session.
func NewPageID() string { return ssevent.NewPageID() }

// ErrInvalidPatch is ssevent.ErrInvalidPatch: a patch Datastar cannot
// apply; nothing was published.
var ErrInvalidPatch = ssevent.ErrInvalidPatch

// WithSelector is ssevent.WithSelector: the patch targets the elements
// the CSS selector matches.
func WithSelector(selector string) ElementsOption { return ssevent.WithSelector(selector) }

// WithMode is ssevent.WithMode: how the elements are applied.
func WithMode(mode PatchMode) ElementsOption { return ssevent.WithMode(mode) }

// WithNamespace is ssevent.WithNamespace: "svg" or "mathml".
func WithNamespace(namespace string) ElementsOption { return ssevent.WithNamespace(namespace) }

// WithViewTransition is ssevent.WithViewTransition.
func WithViewTransition() ElementsOption { return ssevent.WithViewTransition() }

// OnlyIfMissing is ssevent.OnlyIfMissing: set only the signals the page
// lacks.
func OnlyIfMissing() SignalsOption { return ssevent.OnlyIfMissing() }

// SendHTML publishes an HTML fragment to the subscribers of channel, each
// receiving it in its stream's dialect (ssevent.Hub.SendHTML).
// Core().SendHTML takes a context.
func (h *Hub) SendHTML(channel, html string) error {
	return h.core.SendHTML(context.Background(), channel, html)
}

// PatchElements publishes a Datastar patch-elements event to the
// subscribers of channel (ssevent.Hub.PatchElements). Core().PatchElements
// takes a context.
func (h *Hub) PatchElements(channel, elements string, opts ...ElementsOption) error {
	return h.core.PatchElements(context.Background(), channel, elements, opts...)
}

// PatchSignals publishes a Datastar patch-signals event to the subscribers
// of channel (ssevent.Hub.PatchSignals). Core().PatchSignals takes a
// context.
func (h *Hub) PatchSignals(channel string, signals any, opts ...SignalsOption) error {
	return h.core.PatchSignals(context.Background(), channel, signals, opts...)
}

// LastEventID returns the id of the last event the hub delivered, for a
// server-rendered page's stream URL (ssevent.Hub.LastEventID).
func (h *Hub) LastEventID() string { return h.core.LastEventID() }
