package ssevent

// Pages: a server-rendered page names its stream with ?page=<id>, an id
// it makes when it renders (NewPageID). The hub remembers, in a cookie
// scoped to the events route, which session the page's stream last
// opened; a stream the page opens anew with the same URL, without the
// Last-Event-ID of the one before (htmx 2's EventSource after a refused
// reconnection), resumes that session and replays from the last event
// the session wrote, rather than from the page's first position. A stream
// that presents a Last-Event-ID replays from it and does not look at the
// cookie, so that two streams of one page cannot take one session from
// each other. Resuming still takes the session's key cookie, or the same
// identity with Config.Identify.

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"
)

// QueryPage is the query parameter naming a page's stream: 1 to 64
// letters, digits, '-' or '_', made by NewPageID.
const QueryPage = "page"

// CookiePage prefixes the name of the cookie in which the hub remembers
// the session of a page's stream ("ssevent-page-<page>"). It is HttpOnly,
// SameSite=Lax and scoped to the events route.
const CookiePage = "ssevent-page-"

// NewPageID returns a new random page id for a page's stream URL
// (?page=): 22 characters, 128 bits.
func NewPageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func validPageID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return s != ""
}

// pageSession returns the session the page's cookie names, if any.
func pageSession(r *http.Request, page string) (string, bool) {
	ck, err := r.Cookie(CookiePage + page)
	if err != nil || !validClientID(ck.Value) {
		return "", false
	}
	return ck.Value, true
}

// setPageCookie remembers the session of a page's stream, for as long as
// the session may be resumed.
func (h *Hub) setPageCookie(w http.ResponseWriter, r *http.Request, page, id string) {
	life := h.cfg.Timeout + h.cfg.ResumeWindow
	if h.cfg.Timeout <= 0 {
		life = 24 * time.Hour
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookiePage + page,
		Value:    id,
		Path:     r.URL.Path,
		MaxAge:   int(life / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
		SameSite: http.SameSiteLaxMode,
	})
}
