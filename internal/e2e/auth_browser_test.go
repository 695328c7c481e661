//go:build !(js && wasm)

package e2e_test

// End-to-end tests of "sessions belong to their user" as an application
// with JWT authentication uses the hub: a real Echo app with echo-jwt on
// the events route (HS256 tokens signed here, keys looked up by kid in a
// set the test rotates), Identify returning the token's subject,
// OnSubscribe allowing private-<sub> only to that user and "vip" only to
// holders of a revocable permission, a real http.Server on 127.0.0.1, and
// headless Chromium driving the client through the script-tag shim, the ES
// module and the Go API. Every request target the server receives is
// recorded, and no token may appear in one.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	echojwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/internal/e2e/browsertest"
	"github.com/ssevent/ssevent/internal/netcut"
	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
	"github.com/ssevent/ssevent/static"
)

// jwtDriver is the page script of the shim and module pages: start(opts)
// connects one client whose headers function returns
// "Authorization: Bearer " + tokens[0] (the page's current token, which
// the test replaces), and records its events as the shim's test page does.
const jwtDriver = `
window.start = (opts) => {
  window.tokens = opts.tokens;
  window.headerCalls = 0;
  opts.headers = () => { headerCalls++; return { Authorization: 'Bearer ' + tokens[0] }; };
  window.events = [];
  const c = connect('/events', opts);
  for (const name of ['open', 'connected', 'message', 'error', 'reconnecting', 'gap', 'reconnect', 'channels', 'closed']) {
    c.on(name, (ev) => {
      const r = { client: 0, type: name, id: ev.id || '', raw: ev.raw || '', attempt: ev.attempt || 0, delay: ev.delay || 0 };
      if (name === 'channels') r.channels = ev.data.channels;
      if (name === 'message') { r.channel = ev.data.channel; r.payload = ev.data.payload; }
      if (name === 'connected') { r.clientId = ev.data.clientId; r.resumed = ev.data.resumed; }
      if (ev.error) { r.code = ev.error.code; r.status = ev.error.status || 0; r.message = ev.error.message; }
      events.push(r);
    });
  }
  window.app = {
    clientId: () => c.getClientId(),
    channels: () => c.getChannels(),
    state: () => c.getReadyState(),
    subscribe: (i, ...chs) => c.subscribe(...chs).then(() => '', (e) => e.code || 'error'),
    unsubscribe: (i, ...chs) => c.unsubscribe(...chs).then(() => '', (e) => e.code || 'error'),
  };
};
`

const jwtShimPage = `<!doctype html><html><head><meta charset="utf-8">
<script src="/ssevent/ssevent.js"></script></head><body><script>
const connect = (u, o) => SSEvent.connect(u, o);
` + jwtDriver + `</script></body></html>`

const jwtModulePage = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script type="module">
import connectSSE from '/ssevent/ssevent.mjs';
const connect = connectSSE;
` + jwtDriver + `</script></body></html>`

// jwtGoPage runs testapp once start(opts) has set its options
// (its headersFn "go" reads tokens[0] before every request).
const jwtGoPage = `<!doctype html><html><head><meta charset="utf-8">
<script src="/ssevent/wasm_exec.js"></script></head><body><script>
window.start = (opts) => {
  window.appOptions = Object.assign({ headersFn: 'go' }, opts);
  const go = new Go();
  WebAssembly.instantiateStreaming(fetch('/app.wasm'), go.importObject).then((r) => go.run(r.instance));
};
</script></body></html>`

var jwtKinds = []string{"shim", "module", "go"}

func eachJWTKind(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range jwtKinds {
		t.Run(kind, func(t *testing.T) { f(t, kind) })
	}
}

// jwtApp is the application under test: Echo, echo-jwt on /events, the
// hub, and a recorder of every request target the server receives.
type jwtApp struct {
	t   *testing.T
	hub *server.Hub
	srv *httptest.Server
	net *netcut.Listener

	mu       sync.Mutex
	secrets  map[string][]byte // kid → HS256 secret, every key made
	accepted map[string]bool   // the kids echo-jwt accepts now
	vip      map[string]bool   // the users holding the vip permission
	urls     []string          // every request target received, in order
	minted   []string          // every token signed
	keys     []string          // every session key seen in a connected event
	hold     *streamHold       // holds the next GET of the events route
	holds    []*streamHold     // every hold made, let go at cleanup
}

// streamHold makes one GET of the events route wait at the door.
type streamHold struct {
	arrived chan struct{} // closed when the GET waits
	release chan struct{} // closed to let it through
	once    sync.Once
}

func (h *streamHold) let() { h.once.Do(func() { close(h.release) }) }

// newJWTApp starts the application with keys k1 (accepted) and k2 (made
// but not accepted yet).
func newJWTApp(t *testing.T) *jwtApp {
	t.Helper()
	a := &jwtApp{t: t, secrets: map[string][]byte{}, accepted: map[string]bool{"k1": true}, vip: map[string]bool{}}
	for _, kid := range []string{"k1", "k2"} {
		a.secrets[kid] = make([]byte, 32)
		rand.Read(a.secrets[kid])
	}
	a.hub = server.New(server.Config{
		Identify: func(c echo.Context) (string, error) {
			sub := subject(c)
			if sub == "" {
				return "", echo.ErrUnauthorized
			}
			return sub, nil
		},
		OnSubscribe: func(_, ch string, c echo.Context) error {
			sub := subject(c)
			if strings.HasPrefix(ch, "private-") && ch != "private-"+sub {
				return echo.NewHTTPError(http.StatusForbidden, "not yours")
			}
			if ch == "vip" {
				a.mu.Lock()
				ok := a.vip[sub]
				a.mu.Unlock()
				if !ok {
					return echo.NewHTTPError(http.StatusForbidden, "vip only")
				}
			}
			return nil
		},
	})

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			a.mu.Lock()
			a.urls = append(a.urls, c.Request().RequestURI)
			a.mu.Unlock()
			return next(c)
		}
	})
	e.Any("/events", a.hub.Handler, a.holdMiddleware, echojwt.WithConfig(echojwt.Config{KeyFunc: a.keyFunc}))
	e.GET("/ssevent/*", echo.WrapHandler(http.StripPrefix("/ssevent/", static.Handler())))
	pages := map[string]string{"shim": jwtShimPage, "module": jwtModulePage, "go": jwtGoPage}
	e.GET("/auth/:kind", func(c echo.Context) error {
		html, ok := pages[strings.TrimSuffix(c.Param("kind"), ".html")]
		if !ok {
			return echo.ErrNotFound
		}
		return c.HTML(http.StatusOK, html)
	})
	e.GET("/app.wasm", func(c echo.Context) error {
		c.Response().Header().Set("Content-Type", "application/wasm")
		return c.File(testApp(t))
	})

	a.srv = httptest.NewUnstartedServer(e) // listens on 127.0.0.1
	a.srv.Config.ReadHeaderTimeout = 10 * time.Second
	a.srv.Config.ReadTimeout = 30 * time.Second
	a.srv.Config.MaxHeaderBytes = 64 << 10
	a.net = netcut.Wrap(a.srv.Listener)
	a.srv.Listener = a.net
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	t.Cleanup(func() {
		a.mu.Lock()
		holds := a.holds
		a.mu.Unlock()
		for _, h := range holds {
			h.let()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.hub.Close(ctx)
	})
	return a
}

// subject is the sub claim of the token echo-jwt stored, or "".
func subject(c echo.Context) string {
	tok, ok := c.Get("user").(*jwt.Token)
	if !ok || tok == nil {
		return ""
	}
	sub, err := tok.Claims.GetSubject()
	if err != nil {
		return ""
	}
	return sub
}

// keyFunc gives echo-jwt the secret of a token's kid while that key is
// accepted. With a KeyFunc echo-jwt checks no algorithm: it is done here.
func (a *jwtApp) keyFunc(tok *jwt.Token) (any, error) {
	if tok.Method != jwt.SigningMethodHS256 {
		return nil, fmt.Errorf("unexpected signing method %v", tok.Header["alg"])
	}
	kid, _ := tok.Header["kid"].(string)
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.accepted[kid] {
		return nil, errors.New("unknown key id")
	}
	return a.secrets[kid], nil
}

// token signs a token for sub with the key kid, valid for an hour.
func (a *jwtApp) token(sub, kid string) string {
	a.t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	})
	tok.Header["kid"] = kid
	a.mu.Lock()
	secret := a.secrets[kid]
	a.mu.Unlock()
	s, err := tok.SignedString(secret)
	if err != nil {
		a.t.Fatal(err)
	}
	a.mu.Lock()
	a.minted = append(a.minted, s)
	a.mu.Unlock()
	return s
}

// rotate makes kid the only key accepted.
func (a *jwtApp) rotate(kid string) {
	a.mu.Lock()
	a.accepted = map[string]bool{kid: true}
	a.mu.Unlock()
}

func (a *jwtApp) setVIP(sub string, on bool) {
	a.mu.Lock()
	a.vip[sub] = on
	a.mu.Unlock()
}

// holdNextStream makes the next GET of the events route wait, before
// echo-jwt reads its token, until the returned hold is let go.
func (a *jwtApp) holdNextStream() *streamHold {
	h := &streamHold{arrived: make(chan struct{}), release: make(chan struct{})}
	a.mu.Lock()
	a.hold = h
	a.holds = append(a.holds, h)
	a.mu.Unlock()
	return h
}

func (a *jwtApp) holdMiddleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method == http.MethodGet {
			a.mu.Lock()
			h := a.hold
			a.hold = nil
			a.mu.Unlock()
			if h != nil {
				close(h.arrived)
				select {
				case <-h.release:
				case <-c.Request().Context().Done():
					return nil
				case <-time.After(20 * time.Second):
				}
			}
		}
		return next(c)
	}
}

// open opens a tab on the page of kind and connects a client with this
// token (handed over through the page's script, never in a URL).
func (a *jwtApp) open(kind, token string, channels ...string) *page {
	a.t.Helper()
	p := &page{t: a.t, tab: browsertest.NewTab(a.t, 60*time.Second), hub: a.hub, srv: a.srv, net: a.net}
	if err := chromedp.Do(p.tab, chromedp.Navigate(a.srv.URL+"/auth/"+kind+".html")); err != nil {
		a.t.Fatal(err)
	}
	p.wait(`typeof window.start === 'function'`)
	opts, _ := json.Marshal(map[string]any{"tokens": []string{token}, "channels": channels, "reconnectDelay": 50})
	eval[any](p, "start("+string(opts)+"), null")
	return p
}

// rawGet opens a stream as a hand-written client would, with this token,
// and returns the status and, for a refusal, the error body; a stream that
// opens is read to its connected event and closed.
func (a *jwtApp) rawGet(token string, q url.Values, header http.Header) (int, shared.ErrorResponse, shared.Connected, http.Header) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.srv.URL+"/events?"+q.Encode(), nil)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return a.do(req)
}

// rawPost posts body with this token.
func (a *jwtApp) rawPost(token string, body shared.SubscribeRequest) (int, shared.ErrorResponse) {
	a.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, a.srv.URL+"/events", strings.NewReader(string(b)))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	code, er, _, _ := a.do(req)
	return code, er
}

func (a *jwtApp) do(req *http.Request) (int, shared.ErrorResponse, shared.Connected, http.Header) {
	a.t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var er shared.ErrorResponse
	var conn shared.Connected
	if resp.StatusCode == http.StatusOK && req.Method == http.MethodGet {
		ev, err := shared.NewDecoder(resp.Body, 0).Next()
		if err != nil {
			a.t.Fatalf("reading the stream: %v", err)
		}
		if err := json.Unmarshal(ev.Data, &conn); err != nil {
			a.t.Fatalf("connected %q: %v", ev.Data, err)
		}
		if conn.SessionKey != "" {
			a.mu.Lock()
			a.keys = append(a.keys, conn.SessionKey)
			a.mu.Unlock()
		}
	} else {
		json.NewDecoder(resp.Body).Decode(&er)
	}
	return resp.StatusCode, er, conn, resp.Header
}

// checkURLs asserts that no request target the server received, nor any
// URL a page requested, holds a token (or its signature alone) or a
// session key.
func (a *jwtApp) checkURLs(pages ...*page) {
	a.t.Helper()
	a.mu.Lock()
	urls := slices.Clone(a.urls)
	var secrets []string
	for _, tok := range a.minted {
		secrets = append(secrets, tok, tok[strings.LastIndexByte(tok, '.')+1:])
	}
	secrets = append(secrets, a.keys...)
	a.mu.Unlock()
	for _, p := range pages {
		for _, r := range p.tab.Log().Requests("") {
			urls = append(urls, r.URL)
		}
	}
	streams := 0
	for _, u := range urls {
		if strings.HasPrefix(u, "/events?") {
			streams++
		}
		un, _ := url.QueryUnescape(u)
		for _, s := range secrets {
			if strings.Contains(u, s) || strings.Contains(un, s) {
				a.t.Errorf("a secret in the URL %s", u)
			}
		}
	}
	if streams == 0 {
		a.t.Fatalf("no stream request recorded among %q", urls)
	}
}

// connectedData is the data of a recorded connected event.
func connectedData(t *testing.T, r rec) shared.Connected {
	t.Helper()
	var c shared.Connected
	if err := json.Unmarshal([]byte(r.Raw), &c); err != nil {
		t.Fatalf("connected data %q: %v", r.Raw, err)
	}
	return c
}

func payloads(msgs []rec) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Payload))
	}
	return out
}

// Bob, with his own valid token, tries every path into Alice's session
// with her clientId: resuming it (with a Last-Event-ID, as header or
// query, and without), subscribing and unsubscribing it. Each is 403
// forbidden and changes nothing: Alice's stream goes on (a SendTo after
// the attempts reaches her), her channels are hers, and neither Bob's
// requests nor Bob's own page in the browser get any of her messages.
func TestBrowserJWTSessionsBelongToTheirUser(t *testing.T) {
	eachJWTKind(t, func(t *testing.T, kind string) {
		a := newJWTApp(t)
		aliceTok, bobTok := a.token("alice", "k1"), a.token("bob", "k1")
		alice := a.open(kind, aliceTok, "private-alice")
		aliceID := alice.connected(0, 1)
		bob := a.open(kind, bobTok, "private-bob", "private-alice")
		bobID := bob.connected(0, 1)

		// Bob's own session was refused Alice's channel, at connect time
		// and by POST.
		bc := connectedData(t, bob.events(`e.type === 'connected'`)[0])
		if !slices.Equal(bc.Channels, []string{"default", "private-bob"}) ||
			!slices.Equal(bc.Rejected, []shared.Rejection{{Channel: "private-alice", Reason: "not yours"}}) {
			t.Fatalf("Bob's connected: %+v", bc)
		}
		if code := bob.call("subscribe", 0, "private-alice"); code != "rejected" {
			t.Fatalf("Bob subscribing to Alice's channel: %q", code)
		}
		if ac := connectedData(t, alice.events(`e.type === 'connected'`)[0]); ac.SessionKey != "" || strings.Contains(alice.dump(), "sessionKey") {
			t.Fatalf("a hub with Identify issued a session key: %+v", ac)
		}

		a.hub.Send("private-alice", "a1")
		a.hub.SendTo(aliceID, "dm1")
		got := alice.messages(0, `e.payload === 'a1' || e.payload === 'dm1'`, 2)
		last := got[1].ID

		// Takeover by GET: her id, his token.
		resume := url.Values{shared.QueryClientID: {aliceID}, shared.QueryChannels: {"private-alice"}}
		withQueryID := url.Values{shared.QueryClientID: {aliceID}, shared.QueryLastEventID: {last}}
		for _, v := range []struct {
			q url.Values
			h http.Header
		}{
			{resume, http.Header{shared.HeaderLastEventID: {last}}},
			{withQueryID, nil},
			{resume, nil},
		} {
			code, er, conn, _ := a.rawGet(bobTok, v.q, v.h)
			if code != http.StatusForbidden || er.Error != shared.CodeForbidden {
				t.Fatalf("Bob resuming Alice's session (%v): %d %+v %+v", v.q, code, er, conn)
			}
		}
		// Takeover by POST.
		for _, req := range []shared.SubscribeRequest{
			{Action: shared.ActionSubscribe, ClientID: aliceID, Channels: []string{"private-bob"}},
			{Action: shared.ActionUnsubscribe, ClientID: aliceID, Channels: []string{"private-alice", "default"}},
		} {
			if code, er := a.rawPost(bobTok, req); code != http.StatusForbidden || er.Error != shared.CodeForbidden {
				t.Fatalf("Bob's %s of Alice's session: %d %+v", req.Action, code, er)
			}
		}
		// A forged token for Alice: another key, or no signature at all.
		forged := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "alice"})
		forged.Header["kid"] = "k1"
		forgedTok, _ := forged.SignedString([]byte("not the key"))
		none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: "alice"})
		none.Header["kid"] = "k1"
		noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		for _, tok := range []string{forgedTok, noneTok, ""} {
			if code, er, _, _ := a.rawGet(tok, url.Values{shared.QueryClientID: {aliceID}}, nil); code != http.StatusUnauthorized {
				t.Fatalf("resuming with a forged token %q: %d %+v", tok, code, er)
			}
			if code, er := a.rawPost(tok, shared.SubscribeRequest{Action: shared.ActionUnsubscribe, ClientID: aliceID, Channels: []string{"private-alice"}}); code != http.StatusUnauthorized {
				t.Fatalf("posting with a forged token %q: %d %+v", tok, code, er)
			}
		}

		// Nothing changed.
		if got := a.hub.ClientsByChannel("private-alice"); !slices.Equal(got, []string{aliceID}) {
			t.Fatalf("private-alice holds %v", got)
		}
		if got := a.hub.ClientsByChannel("private-bob"); !slices.Equal(got, []string{bobID}) {
			t.Fatalf("private-bob holds %v", got)
		}
		if got := a.hub.ClientsByChannel("default"); len(got) != 2 || !slices.Contains(got, aliceID) {
			t.Fatalf("default holds %v", got)
		}
		if got := eval[[]string](alice, "app.channels(0)"); !slices.Equal(got, []string{"default", "private-alice"}) {
			t.Fatalf("Alice's client has channels %v", got)
		}

		// Alice's stream goes on; Bob's page gets only what is his.
		a.hub.SendTo(aliceID, "dm2")
		a.hub.Send("private-alice", "a2")
		a.hub.Send("private-bob", "b1")
		a.hub.Broadcast("marker")
		got = alice.messages(0, `e.payload === 'dm2' || e.payload === 'a2' || e.payload === 'marker'`, 3)
		if p := payloads(got); !slices.Equal(p, []string{`"dm2"`, `"a2"`, `"marker"`}) {
			t.Fatalf("Alice got %v", p)
		}
		if n := len(alice.events(`e.type === 'connected' || e.type === 'error' || e.type === 'reconnecting' || e.type === 'channels'`)); n != 1 {
			t.Fatalf("Alice's stream was disturbed: %s", alice.dump())
		}
		// The marker was sent last: Bob's stream, in order, holds all it
		// will ever get of these.
		bob.messages(0, `e.payload === 'marker'`, 1)
		if p := payloads(bob.events(`e.type === 'message'`)); !slices.Equal(p, []string{`"b1"`, `"marker"`}) {
			t.Fatalf("Bob's page got %v", p)
		}
		if n := a.hub.ClientCount(); n != 2 {
			t.Fatalf("%d streams, want Alice's and Bob's", n)
		}

		// With Identify the user is the binding: no key, no cookie.
		code, _, conn, h := a.rawGet(aliceTok, url.Values{}, nil)
		if code != http.StatusOK || conn.SessionKey != "" || strings.Contains(h.Get("Set-Cookie"), shared.CookieSessionKey) {
			t.Fatalf("Alice's own stream: %d %+v %v", code, conn, h)
		}
		a.checkURLs(alice, bob)
	})
}

// Alice's vip permission is revoked while she holds the channel; her
// stream is cut, and on resuming she loses vip: connected.rejected lists
// it, her client's channel list no longer has it, and events to vip no
// longer reach her.
func TestBrowserJWTRevokedPermission(t *testing.T) {
	eachJWTKind(t, func(t *testing.T, kind string) {
		a := newJWTApp(t)
		a.setVIP("alice", true)
		alice := a.open(kind, a.token("alice", "k1"), "private-alice", "vip")
		id := alice.connected(0, 1)
		if c := connectedData(t, alice.events(`e.type === 'connected'`)[0]); !slices.Equal(c.Channels, []string{"default", "private-alice", "vip"}) {
			t.Fatalf("connected %+v", c)
		}
		a.hub.Send("vip", "v1")
		alice.messages(0, `e.payload === 'v1'`, 1)

		a.setVIP("alice", false)
		a.net.CutAll()
		if got := alice.connected(0, 2); got != id {
			t.Fatalf("resumed as %q, want %q", got, id)
		}
		c := connectedData(t, alice.events(`e.type === 'connected'`)[1])
		if !c.Resumed || !slices.Equal(c.Channels, []string{"default", "private-alice"}) ||
			!slices.Equal(c.Rejected, []shared.Rejection{{Channel: "vip", Reason: "vip only"}}) {
			t.Fatalf("connected on resume %+v", c)
		}
		if got := eval[[]string](alice, "app.channels(0)"); !slices.Equal(got, []string{"default", "private-alice"}) {
			t.Fatalf("the client's channels after the resume: %v", got)
		}
		if got := a.hub.ClientsByChannel("vip"); len(got) != 0 {
			t.Fatalf("vip holds %v", got)
		}
		a.hub.Send("vip", "v2")
		a.hub.Send("private-alice", "after")
		alice.messages(0, `e.payload === 'after'`, 1)
		if got := alice.events(`e.payload === 'v2'`); len(got) != 0 {
			t.Fatalf("vip reached Alice after the revocation: %+v", got)
		}
		if code := alice.call("subscribe", 0, "vip"); code != "rejected" {
			t.Fatalf("subscribing to vip again: %q", code)
		}
		a.checkURLs(alice)
	})
}

// The token rotates while Alice's stream is down: the server stops
// accepting the old key (the old token is now 401) and publishes while her
// client's next attempt, made with the old token, waits at the door. Her
// page's token source then hands out the new token; the attempt is
// refused, the client asks its headers function again, comes back with the
// new token as the same client, and receives every event sent meanwhile
// exactly once, in order. Bob, meanwhile, cannot take the idle session.
func TestBrowserJWTTokenRotatedDuringCut(t *testing.T) {
	eachJWTKind(t, func(t *testing.T, kind string) {
		a := newJWTApp(t)
		oldTok, newTok, bobTok := a.token("alice", "k1"), a.token("alice", "k2"), a.token("bob", "k2")
		alice := a.open(kind, oldTok, "news")
		id := alice.connected(0, 1)
		a.hub.Send("news", 0)
		alice.messages(0, `e.payload === 0`, 1)

		hold := a.holdNextStream()
		a.net.CutAll()
		select {
		case <-hold.arrived:
		case <-time.After(15 * time.Second):
			t.Fatalf("the client did not come back: %s", alice.dump())
		}
		const n = 20
		for i := 1; i <= n; i++ {
			if err := a.hub.Send("news", i); err != nil {
				t.Fatal(err)
			}
		}
		a.rotate("k2")
		if code, er, _, _ := a.rawGet(oldTok, url.Values{}, nil); code != http.StatusUnauthorized {
			t.Fatalf("the old token after the rotation: %d %+v", code, er)
		}
		// The idle session is Alice's alone.
		if code, er, _, _ := a.rawGet(bobTok, url.Values{shared.QueryClientID: {id}}, nil); code != http.StatusForbidden || er.Error != shared.CodeForbidden {
			t.Fatalf("Bob resuming Alice's idle session: %d %+v", code, er)
		}
		if code, er := a.rawPost(bobTok, shared.SubscribeRequest{Action: shared.ActionUnsubscribe, ClientID: id, Channels: []string{"news"}}); code != http.StatusForbidden {
			t.Fatalf("Bob changing Alice's idle session: %d %+v", code, er)
		}

		eval[any](alice, fmt.Sprintf("tokens[0] = %q, null", newTok))
		hold.let()
		if got := alice.connected(0, 2); got != id {
			t.Fatalf("came back as %q, want %q", got, id)
		}
		if c := connectedData(t, alice.events(`e.type === 'connected'`)[1]); !c.Resumed {
			t.Fatalf("not resumed: %+v", c)
		}
		for i := n + 1; i <= n+5; i++ {
			a.hub.Send("news", i)
		}
		msgs := alice.messages(0, `e.channel === 'news'`, n+6)
		want := make([]string, n+6)
		for i := range want {
			want[i] = fmt.Sprint(i)
		}
		if got := payloads(msgs); !slices.Equal(got, want) {
			t.Fatalf("messages %v", got)
		}
		seen := map[string]bool{}
		for _, m := range msgs {
			if m.ID == "" || seen[m.ID] {
				t.Fatalf("message id %q missing or repeated", m.ID)
			}
			seen[m.ID] = true
		}
		if errs := alice.events(`e.type === 'error' && e.code !== 'stream_ended'`); len(errs) != 1 || errs[0].Code != "unauthorized" || errs[0].Status != 401 {
			t.Fatalf("errors %+v", errs)
		}
		if got := a.hub.ClientsByChannel("news"); !slices.Equal(got, []string{id}) {
			t.Fatalf("news holds %v", got)
		}
		a.checkURLs(alice)
	})
}
