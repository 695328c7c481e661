package ssevent

// Sessions belong to whoever opened them. A session is bound, when it is
// made, to the identity of its request (Config.Identify), or, for
// anonymous sessions, to a random key the client holds. Resuming the
// session, or changing its channels, takes the same identity or the key:
// the clientId alone, which travels in URLs and logs, is not enough.
//
// The key reaches the client in the connected event (for clients that send
// it back in the SSEvent-Key header) and in an HttpOnly cookie scoped to the
// events route (for a browser's EventSource, which cannot set headers). The
// hub keeps only its SHA-256 hash.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// errNotOwner means a request named a session that is not its own.
var errNotOwner = errors.New("ssevent: the session belongs to another client")

// newSessionKey returns a fresh session key: 256 random bits, base64url.
func newSessionKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashKey is what the hub keeps of a session key.
func hashKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// identify returns the identity of r: "" without Config.Identify.
func (h *Hub) identify(r *http.Request) (string, error) {
	if h.cfg.Identify == nil {
		return "", nil
	}
	var id string
	err := callHook(func() (err error) {
		id, err = h.cfg.Identify(r)
		return err
	})
	return id, err
}

// presentedKey returns the session key r carries for the session id: the
// SSEvent-Key header, or else the session's cookie.
func presentedKey(r *http.Request, id string) string {
	if k := r.Header.Get(shared.HeaderSessionKey); k != "" {
		return k
	}
	if ck, err := r.Cookie(shared.CookieSessionKey + id); err == nil {
		return ck.Value
	}
	return ""
}

// owns reports whether a request with this identity and key may use a
// session bound to owner and keyHash.
func (h *Hub) owns(owner string, keyHash []byte, ident, key string) bool {
	if h.cfg.Identify != nil {
		return subtle.ConstantTimeCompare([]byte(owner), []byte(ident)) == 1
	}
	return len(keyHash) > 0 && subtle.ConstantTimeCompare(keyHash, hashKey(key)) == 1
}

// sessionFor looks up the session id for a request with this identity and
// key. It returns the session's channels and whether it exists; errNotOwner
// when it is someone else's, ErrUnavailable (wrapped) when the cluster
// cannot tell. Nothing changes.
func (h *Hub) sessionFor(ctx context.Context, id, ident, key string) (channels []string, ok bool, err error) {
	h.mu.RLock()
	s := h.clients[id]
	if s != nil {
		owner, keyHash := s.owner, s.keyHash
		channels = s.channelList()
		h.mu.RUnlock()
		if !h.owns(owner, keyHash, ident, key) {
			return nil, true, errNotOwner
		}
		return channels, true, nil
	}
	h.mu.RUnlock()
	rec, ok, err := h.sessions.load(ctx, id)
	switch {
	case err != nil:
		return nil, false, err
	case !ok:
		return nil, false, nil
	case !h.owns(rec.Owner, rec.KeyHash, ident, key):
		return nil, true, errNotOwner
	}
	return rec.Channels, true, nil
}

// setKeyCookie hands the session key to a browser in a cookie scoped to
// the events route, for as long as the session may be resumed.
func (h *Hub) setKeyCookie(w http.ResponseWriter, r *http.Request, id, key string) {
	life := h.cfg.Timeout + h.cfg.ResumeWindow
	if h.cfg.Timeout <= 0 {
		life = 24 * time.Hour
	}
	http.SetCookie(w, &http.Cookie{
		Name:     shared.CookieSessionKey + id,
		Value:    key,
		Path:     r.URL.Path,
		MaxAge:   int(life / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
		SameSite: http.SameSiteLaxMode,
	})
}
