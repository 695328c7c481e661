package ssevent

import (
	"net/http"
	"net/url"
	"strings"
)

// originAllowed applies TrustOrigins and TrustOriginPatterns to r. With
// neither set every request is allowed.
func (h *Hub) originAllowed(r *http.Request) bool {
	if len(h.cfg.TrustOrigins) == 0 && len(h.cfg.TrustOriginPatterns) == 0 {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Scheme != "" && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	if origin == "" || origin == "null" {
		return false
	}
	for _, o := range h.cfg.TrustOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	for _, p := range h.cfg.TrustOriginPatterns {
		if p.MatchString(origin) {
			return true
		}
	}
	return false
}
