//go:build !(js && wasm)

package e2e_test

// Browser tests of sessions: the session key, credentials from a headers
// function, and the server's "closed" and "channels" events, through the Go
// API and the script-tag shim.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// sessionServer speaks enough of the protocol to test the client's side of
// sessions, apart from the hub: a new session gets a key in "connected" and
// in the cookie "ssevent-<id>" (HttpOnly, SameSite=Lax, path /events);
// resuming needs the key in the SSEvent-Key header or that cookie, and a
// POST needs it in the header (else 403). It records every request.
type sessionServer struct {
	mu       sync.Mutex
	n        int
	sessions map[string]*fakeSession
	reqs     []sessionReq
}

type fakeSession struct {
	id, key  string
	channels []string
	stream   chan shared.Event // of the current stream
}

// sessionReq is a request as the server saw it.
type sessionReq struct {
	method    string
	uri       string // path and query
	query     url.Values
	headerKey string // the SSEvent-Key header
	cookieKey string // the session's cookie, for the clientId the request names
}

func newSessionServer() *sessionServer {
	return &sessionServer{sessions: map[string]*fakeSession{}}
}

func refuseJSON(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(shared.ErrorResponse{Error: code, Message: code})
}

func (s *sessionServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body shared.SubscribeRequest
	id := r.URL.Query().Get(shared.QueryClientID)
	if r.Method == http.MethodPost {
		json.NewDecoder(r.Body).Decode(&body)
		id = body.ClientID
	}
	rq := sessionReq{method: r.Method, uri: r.URL.RequestURI(), query: r.URL.Query(), headerKey: r.Header.Get(shared.HeaderSessionKey)}
	if ck, err := r.Cookie(shared.CookieSessionKey + id); err == nil {
		rq.cookieKey = ck.Value
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, rq)
	sess := s.sessions[id]
	s.mu.Unlock()
	if r.Method == http.MethodPost {
		if sess == nil {
			refuseJSON(w, 404, shared.CodeUnknownClient)
			return
		}
		if rq.headerKey != sess.key {
			refuseJSON(w, 403, shared.CodeForbidden)
			return
		}
		s.mu.Lock()
		for _, ch := range body.Channels {
			if body.Action == shared.ActionSubscribe && !slices.Contains(sess.channels, ch) {
				sess.channels = append(sess.channels, ch)
			} else if body.Action == shared.ActionUnsubscribe {
				sess.channels = slices.DeleteFunc(sess.channels, func(c string) bool { return c == ch })
			}
		}
		resp := shared.SubscribeResponse{ClientID: id, Action: body.Action, Accepted: body.Channels, Rejected: []shared.Rejection{}, Channels: slices.Clone(sess.channels)}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
		return
	}

	conn := shared.Connected{}
	stream := make(chan shared.Event, 16)
	if sess != nil {
		key := rq.headerKey
		if key == "" {
			key = rq.cookieKey
		}
		if key != sess.key {
			refuseJSON(w, 403, shared.CodeForbidden)
			return
		}
		s.mu.Lock()
		sess.stream = stream
		conn = shared.Connected{ClientID: id, Channels: slices.Clone(sess.channels), Resumed: true}
		s.mu.Unlock()
	} else {
		chs, _ := shared.ParseChannels(r.URL.Query().Get(shared.QueryChannels))
		if !slices.Contains(chs, shared.DefaultChannel) {
			chs = append([]string{shared.DefaultChannel}, chs...)
		}
		s.mu.Lock()
		s.n++
		sess = &fakeSession{id: fmt.Sprintf("c-%d", s.n), key: fmt.Sprintf("k3y%dsecret", s.n), channels: chs, stream: stream}
		s.sessions[sess.id] = sess
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: shared.CookieSessionKey + sess.id, Value: sess.key, Path: "/events", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		conn = shared.Connected{ClientID: sess.id, Channels: chs, SessionKey: sess.key}
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	send := func(ev shared.Event) {
		b, err := shared.AppendEvent(nil, &ev)
		if err != nil {
			panic(err)
		}
		w.Write(b)
		rc.Flush()
	}
	data, _ := json.Marshal(conn)
	send(shared.Event{Name: shared.EventConnected, Data: data})
	for {
		select {
		case ev := <-stream:
			send(ev)
			if ev.Name == shared.EventClosed {
				s.mu.Lock()
				delete(s.sessions, sess.id)
				s.mu.Unlock()
				return
			}
		case <-r.Context().Done():
			return
		}
	}
}

// push sends an event on the session's current stream.
func (s *sessionServer) push(id string, ev shared.Event) {
	s.mu.Lock()
	st := s.sessions[id].stream
	s.mu.Unlock()
	st <- ev
}

func (s *sessionServer) key(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id].key
}

func (s *sessionServer) requests(method string) []sessionReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sessionReq
	for _, r := range s.reqs {
		if method == "" || r.method == method {
			out = append(out, r)
		}
	}
	return out
}

// The key of "connected" goes back in the SSEvent-Key header of every POST
// and of the resuming GET on the fetch transport; the EventSource's resume
// carries it in the hub's cookie. It is in no URL the page requested, and
// not in what the handlers got.
func TestBrowserSessionKey(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		for _, transport := range []string{"eventsource", "fetch"} {
			t.Run(transport, func(t *testing.T) {
				srv := newSessionServer()
				opts := map[string]any{"reconnectDelay": 50}
				if transport == "fetch" {
					opts["headers"] = map[string]string{"X-Test": "1"}
				}
				p := serve(t, kind, echo.WrapHandler(srv), func() {}, opts)
				id := p.connected(0, 1)
				key := srv.key(id)
				if code := p.call("subscribe", 0, "news"); code != "" {
					t.Fatalf("subscribe: %s", code)
				}
				p.net.CutAll()
				if got := p.connected(0, 2); got != id {
					t.Fatalf("reconnected as %q, want %q", got, id)
				}
				if code := p.call("subscribe", 0, "sport"); code != "" {
					t.Fatalf("subscribe after the resumption: %s", code)
				}
				conns := p.events(`e.type === 'connected'`)
				if !conns[1].Resumed {
					t.Fatalf("not resumed: %+v", conns[1])
				}
				for _, c := range conns {
					if strings.Contains(c.Raw, key) {
						t.Fatalf("the key reached a handler: %s", c.Raw)
					}
				}

				for _, rq := range srv.requests("") {
					if strings.Contains(rq.uri, key) {
						t.Fatalf("the key in the URL %s", rq.uri)
					}
				}
				for _, rq := range p.tab.Log().Requests(p.srv.URL) {
					if strings.Contains(rq.URL, key) {
						t.Fatalf("the page requested %s", rq.URL)
					}
				}
				posts := srv.requests("POST")
				if len(posts) != 2 || posts[0].headerKey != key || posts[1].headerKey != key {
					t.Fatalf("POSTs %+v", posts)
				}
				gets := srv.requests("GET")
				if len(gets) != 2 || gets[0].headerKey != "" {
					t.Fatalf("GETs %+v", gets)
				}
				resume := gets[1]
				if resume.query.Get(shared.QueryClientID) != id {
					t.Fatalf("resuming GET %s", resume.uri)
				}
				switch transport {
				case "fetch":
					if resume.headerKey != key {
						t.Fatalf("resuming fetch sent key %q", resume.headerKey)
					}
				case "eventsource":
					if resume.cookieKey != key {
						t.Fatalf("resuming EventSource sent cookie %q", resume.cookieKey)
					}
				}
			})
		}
	})
}

// "channels" replaces the client's set, which its next reconnection asks
// for; "closed" ends it for good: no request follows.
func TestBrowserSessionClosedAndChannels(t *testing.T) {
	each(t, func(t *testing.T, kind string) {
		srv := newSessionServer()
		p := serve(t, kind, echo.WrapHandler(srv), func() {}, map[string]any{"reconnectDelay": 50, "channels": []string{"news"}})
		id := p.connected(0, 1)
		srv.push(id, shared.Event{Name: shared.EventChannels, Data: []byte(`{"channels":["default","sport"]}`)})
		p.wait(`events.some((e) => e.type === 'channels')`)
		if ev := p.events(`e.type === 'channels'`)[0]; strings.Join(ev.Channels, ",") != "default,sport" {
			t.Fatalf("channels event %+v", ev)
		}
		if got := eval[[]string](p, "app.channels(0)"); strings.Join(got, ",") != "default,sport" {
			t.Fatalf("channels() = %q", got)
		}
		p.net.CutAll()
		p.connected(0, 2)
		gets := srv.requests("GET")
		if q := gets[len(gets)-1].query; q.Get(shared.QueryChannels) != "default,sport" || q.Get(shared.QueryClientID) != id {
			t.Fatalf("reconnection query %v", q)
		}

		srv.push(id, shared.Event{Name: shared.EventClosed, Data: []byte(`{"reason":"ended"}`)})
		p.wait(`app.state(0) === 2`)
		// Closed: its stream is closed and it starts no request, so the
		// counts are final now.
		if n := len(srv.requests("GET")); n != 2 {
			t.Fatalf("%d GETs, want 2", n)
		}
		if n := p.gets(); n != 2 {
			t.Fatalf("the page made %d GETs, want 2", n)
		}
		// The last events: "closed", then the final error.
		evs := p.events("")
		if evs = evs[len(evs)-2:]; evs[0].Type != "closed" || evs[0].Reason != shared.ReasonEnded ||
			evs[1].Type != "error" || evs[1].Code != "session_ended" {
			t.Fatalf("last events %+v", evs)
		}
		if code := p.call("subscribe", 0, "x"); code != "closed" {
			t.Fatalf("subscribe after the end = %q", code)
		}
	})
}

// eachHeadersFn runs f with the headers function of each face: Go's
// HeaderFunc, and the shim's function returning headers or a Promise.
func eachHeadersFn(t *testing.T, f func(t *testing.T, kind string, opts map[string]any)) {
	for _, v := range []struct{ kind, fn string }{{"go", "go"}, {"shim", "sync"}, {"shim", "async"}} {
		t.Run(v.kind+"/"+v.fn, func(t *testing.T) {
			f(t, v.kind, map[string]any{"headersFn": v.fn, "tokens": []string{"t1"}, "reconnectDelay": 50})
		})
	}
}

// tokenAuth is an OnConnect that accepts only the current token, and
// answers 503 while down.
type tokenAuth struct {
	token   atomic.Value
	down    atomic.Bool
	refused atomic.Int32 // while down
}

func (a *tokenAuth) onConnect(c echo.Context) error {
	if a.down.Load() {
		a.refused.Add(1)
		return echo.NewHTTPError(http.StatusServiceUnavailable, "down")
	}
	if c.Request().Header.Get("Authorization") != "Bearer "+a.token.Load().(string) {
		return echo.ErrUnauthorized
	}
	return nil
}

// requests counts the page's requests to the events endpoint.
func (p *page) requests() int {
	return len(p.tab.Log().Requests(p.srv.URL + "/events"))
}

// The token is rotated while the stream is down: the client comes back
// with the new one, as the same client, and receives every event sent
// meanwhile exactly once. The headers function was called for every
// request.
func TestBrowserTokenRotatedWhileDown(t *testing.T) {
	eachHeadersFn(t, func(t *testing.T, kind string, opts map[string]any) {
		a := &tokenAuth{}
		a.token.Store("t1")
		p := open(t, kind, server.Config{OnConnect: a.onConnect}, opts)
		id := p.connected(0, 1)
		if code := p.call("subscribe", 0, "news"); code != "" {
			t.Fatal(code)
		}
		p.hub.Send("news", 0)
		p.messages(0, `e.payload === 0`, 1)

		a.down.Store(true)
		p.net.CutAll()
		for i := 1; i <= 20; i++ {
			if err := p.hub.Send("news", i); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for a.refused.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no reconnection attempt while down")
			}
			time.Sleep(10 * time.Millisecond)
		}
		eval[any](p, `tokens.splice(0, tokens.length, 't2'), null`)
		a.token.Store("t2")
		a.down.Store(false)
		if got := p.connected(0, 2); got != id {
			t.Fatalf("reconnected as %q, want %q", got, id)
		}
		for i := 21; i <= 25; i++ {
			p.hub.Send("news", i)
		}
		msgs := p.messages(0, `e.channel === 'news'`, 26)
		for i, m := range msgs {
			if string(m.Payload) != fmt.Sprint(i) {
				t.Fatalf("message %d is %s; all: %+v", i, m.Payload, msgs)
			}
		}
		if n := len(p.events(`e.type === 'error' && e.code === 'unauthorized'`)); n != 0 {
			t.Fatalf("%d refusals for the token", n)
		}
		if calls, reqs := eval[int](p, "headerCalls"), p.requests(); calls != reqs {
			t.Fatalf("headers function called %d times for %d requests", calls, reqs)
		}
	})
}

// A 401 on a reconnection: the client calls the headers function again and
// comes back with its fresh token at once.
func TestBrowserUnauthorizedRefreshes(t *testing.T) {
	eachHeadersFn(t, func(t *testing.T, kind string, opts map[string]any) {
		a := &tokenAuth{}
		a.token.Store("t1")
		p := open(t, kind, server.Config{OnConnect: a.onConnect}, opts)
		id := p.connected(0, 1)
		a.token.Store("t2")
		// The function's next answer is stale, the one after fresh.
		eval[any](p, `tokens.splice(0, tokens.length, 't1', 't2'), null`)
		p.net.CutAll()
		if got := p.connected(0, 2); got != id {
			t.Fatalf("reconnected as %q, want %q", got, id)
		}
		errs := p.events(`e.type === 'error' && e.code !== 'stream_ended'`)
		if len(errs) != 1 || errs[0].Code != "unauthorized" || errs[0].Status != 401 {
			t.Fatalf("errors %+v", errs)
		}
		rc := p.events(`e.type === 'reconnecting'`)
		if len(rc) != 2 || rc[1].Delay != 0 {
			t.Fatalf("reconnecting %+v", rc)
		}
		if calls := eval[int](p, "headerCalls"); calls != 3 || p.gets() != 3 {
			t.Fatalf("headers function called %d times, %d GETs; want 3 and 3", calls, p.gets())
		}
	})
}

// A headers function that throws fails the attempt with code "headers",
// and the client keeps trying.
func TestBrowserHeadersFunctionThrows(t *testing.T) {
	p := open(t, "shim", server.Config{}, map[string]any{"headersFn": "throw", "reconnectDelay": 20})
	p.wait(`events.filter((e) => e.type === 'reconnecting').length >= 2`)
	errs := p.events(`e.type === 'error'`)
	if errs[0].Code != "headers" || !strings.Contains(errs[0].Message, "no token") {
		t.Fatalf("error %+v", errs[0])
	}
	if eval[int](p, "app.state(0)") != 0 || p.gets() != 0 {
		t.Fatalf("state %d after %d GETs", eval[int](p, "app.state(0)"), p.gets())
	}
}
