package hubtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// The http.Server timeouts docs/SECURITY.md recommends, scaled down so that
// the tests that exercise them finish quickly. Production values are in
// that document.
const (
	secReadHeaderTimeout = 300 * time.Millisecond
	secReadTimeout       = 600 * time.Millisecond
	secIdleTimeout       = 2 * time.Second
	secMaxHeaderBytes    = 16 << 10
)

// secServer is a hub behind an http.Server configured as docs/SECURITY.md
// recommends, listening on 127.0.0.1, that counts the bytes it reads from
// its connections.
type secServer struct {
	*testServer
	addr string       // host:port
	read atomic.Int64 // bytes the server read from all its connections
}

// serverTimeouts are the http.Server limits a secServer runs with.
type serverTimeouts struct {
	readHeader, read, idle time.Duration
	maxHeaderBytes         int
	write                  time.Duration // http.Server.WriteTimeout; 0 in the recommended setup
}

// testTimeouts are the recommended limits scaled down for tests.
var testTimeouts = serverTimeouts{secReadHeaderTimeout, secReadTimeout, secIdleTimeout, secMaxHeaderBytes, 0}

// recommendedTimeouts are the limits docs/SECURITY.md recommends for
// production; the soak test runs with them.
var recommendedTimeouts = serverTimeouts{10 * time.Second, 30 * time.Second, 2 * time.Minute, 64 << 10, 0}

func newSecServer(t testing.TB, m Mount, cfg ssevent.Config) *secServer {
	t.Helper()
	return newSecServerWith(t, m, cfg, testTimeouts)
}

func newSecServerWith(t testing.TB, m Mount, cfg ssevent.Config, to serverTimeouts) *secServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &secServer{}
	h, app := newHub(m, cfg)
	s.testServer = serveHub(t, h, app, func(srv *httptest.Server) {
		srv.Config.ReadHeaderTimeout = to.readHeader
		srv.Config.ReadTimeout = to.read
		srv.Config.IdleTimeout = to.idle
		srv.Config.MaxHeaderBytes = to.maxHeaderBytes
		srv.Config.WriteTimeout = to.write
		srv.Listener = &countingListener{Listener: srv.Listener, n: &s.read}
	})
	srv := s.srv
	s.addr = srv.Listener.Addr().String()
	return s
}

// countingListener counts the bytes read from the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// wireCheck passes a stream through and records the first thing in it that
// is not a well-formed line of the hub's event stream: any CR or NUL byte,
// a line that is not empty and not one of the hub's fields, an id or retry
// that is not decimal, an event name the protocol does not allow.
type wireCheck struct {
	r io.Reader

	mu   sync.Mutex
	line []byte
	bad  error
	n    int64
}

func (w *wireCheck) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.mu.Lock()
	for _, b := range p[:n] {
		w.feed(b)
	}
	w.n += int64(n)
	w.mu.Unlock()
	return n, err
}

func (w *wireCheck) fail(format string, args ...any) {
	if w.bad == nil {
		w.bad = fmt.Errorf("byte %d of the stream: %s", w.n, fmt.Sprintf(format, args...))
	}
}

func (w *wireCheck) feed(b byte) {
	switch b {
	case 0:
		w.fail("NUL on the wire after %q", w.line)
	case '\r':
		w.fail("CR on the wire after %q", w.line)
	case '\n':
		w.checkLine(string(w.line))
		w.line = w.line[:0]
	default:
		w.line = append(w.line, b)
	}
}

var serverEvents = map[string]bool{
	shared.EventConnected: true, shared.EventHeartbeat: true, shared.EventGap: true, shared.EventMessage: true,
	shared.EventReconnect: true, shared.EventChannels: true, shared.EventClosed: true,
}

func (w *wireCheck) checkLine(l string) {
	digits := func(s string) bool {
		_, err := strconv.ParseUint(s, 10, 64)
		return err == nil
	}
	switch {
	case l == "":
	case strings.HasPrefix(l, "data: "):
	case strings.HasPrefix(l, "id: "):
		if _, err := seq(l[4:]); err != nil {
			w.fail("id line %q", l)
		}
	case strings.HasPrefix(l, "retry: "):
		if !digits(l[7:]) {
			w.fail("retry line %q", l)
		}
	case strings.HasPrefix(l, "event: "):
		if name := l[7:]; !serverEvents[name] && shared.ValidEventName(name) != nil {
			w.fail("event line %q", l)
		}
	default:
		w.fail("unexpected line %q", l)
	}
}

func (w *wireCheck) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bad
}

// openChecked opens a stream like connect, with every byte of it checked by
// a wireCheck.
func (ts *testServer) openChecked(t testing.TB, query url.Values, header ...http.Header) (*sseClient, *wireCheck) {
	t.Helper()
	var wc *wireCheck
	c := ts.connectVia(t, query, func(r io.Reader) io.Reader {
		wc = &wireCheck{r: r}
		return wc
	}, header...)
	return c, wc
}

// refusedGET sends a GET that should be refused and returns its status and
// body. A stream opened by mistake is closed at once, its body empty.
func (ts *testServer) refusedGET(t testing.TB, query url.Values, header http.Header) (int, []byte) {
	t.Helper()
	resp, cancel := ts.dial(t, query, header)
	defer cancel()
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, nil
	}
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// secMarker sends a marker event to c and expects it as c's next event,
// proving that nothing else was queued for c before it.
func secMarker(t testing.TB, ts *testServer, c *sseClient) {
	t.Helper()
	mark := uuid.NewString()
	require.NoError(t, ts.hub.SendTo(c.id(), mark, "marker"))
	ev := c.nextT(t)
	require.Equal(t, "marker", ev.Name, "an unexpected event came first: %s", ev.Data)
	require.Equal(t, strconv.Quote(mark), string(ev.Data))
}

// subscribedTo reports whether id is among channel's subscribers.
func subscribedTo(h *hub, id, channel string) bool {
	for _, c := range h.ClientsByChannel(channel) {
		if c == id {
			return true
		}
	}
	return false
}

// TestSecurityOriginChecks: the origin checks, GET and POST, against a table
// of origins and referers trusted or not.
func TestSecurityOriginChecks(t *testing.T, m Mount) {
	cfg := ssevent.Config{
		TrustOrigins:        []string{"https://app.example.com"},
		TrustOriginPatterns: []*regexp.Regexp{regexp.MustCompile(`^https://[a-z0-9-]+\.example\.org$`)},
	}
	ts := newSecServer(t, m, cfg)
	victim := ts.connect(t, nil, http.Header{"Origin": {"https://app.example.com"}})

	tests := []struct {
		name    string
		header  http.Header
		allowed bool
	}{
		{"exact origin", http.Header{"Origin": {"https://app.example.com"}}, true},
		{"origin in another case", http.Header{"Origin": {"https://APP.example.com"}}, true},
		{"pattern", http.Header{"Origin": {"https://shop.example.org"}}, true},
		{"referer without origin", http.Header{"Referer": {"https://app.example.com/page?x=1"}}, true},
		{"referer matching a pattern", http.Header{"Referer": {"https://shop.example.org/"}}, true},
		{"trusted origin, foreign referer", http.Header{"Origin": {"https://app.example.com"}, "Referer": {"https://evil.test/"}}, true},

		{"no origin, no referer", http.Header{}, false},
		{"foreign origin", http.Header{"Origin": {"https://evil.test"}}, false},
		{"null origin", http.Header{"Origin": {"null"}}, false},
		{"null origin, trusted referer", http.Header{"Origin": {"null"}, "Referer": {"https://app.example.com/"}}, false},
		{"foreign origin, trusted referer", http.Header{"Origin": {"https://evil.test"}, "Referer": {"https://app.example.com/"}}, false},
		{"other scheme", http.Header{"Origin": {"http://app.example.com"}}, false},
		{"other port", http.Header{"Origin": {"https://app.example.com:8443"}}, false},
		{"suffix of a trusted host", http.Header{"Origin": {"https://app.example.com.evil.test"}}, false},
		{"prefix of a trusted host", http.Header{"Origin": {"https://evilapp.example.com"}}, false},
		{"origin with a path", http.Header{"Origin": {"https://app.example.com/x"}}, false},
		{"pattern suffix", http.Header{"Origin": {"https://shop.example.org.evil.test"}}, false},
		{"pattern, deeper host", http.Header{"Origin": {"https://a.b.example.org"}}, false},
		{"pattern, other scheme", http.Header{"Origin": {"http://shop.example.org"}}, false},
		{"foreign referer", http.Header{"Referer": {"https://evil.test/https://app.example.com"}}, false},
		{"referer with userinfo", http.Header{"Referer": {"https://app.example.com@evil.test/"}}, false},
		{"referer of a trusted host's suffix", http.Header{"Referer": {"https://app.example.com.evil.test/"}}, false},
		{"relative referer", http.Header{"Referer": {"/page"}}, false},
		{"referer null", http.Header{"Referer": {"null"}}, false},
		{"scheme-less referer", http.Header{"Referer": {"//app.example.com/"}}, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// GET
			probe := "probe-" + strconv.Itoa(i)
			code, body := ts.refusedGET(t, url.Values{"channels": {probe}}, tc.header)
			if tc.allowed {
				require.Equal(t, http.StatusOK, code)
			} else {
				require.Equal(t, http.StatusForbidden, code, "body %s", body)
				require.Equal(t, shared.CodeOriginRefused, errorBody(t, body).Error)
				require.Empty(t, ts.hub.ClientsByChannel(probe), "a refused GET left a client")
			}

			// POST on the victim's behalf
			code, body = ts.post(t, shared.SubscribeRequest{Action: shared.ActionSubscribe, ClientID: victim.id(), Channels: []string{"x"}}, tc.header)
			if tc.allowed {
				require.Equal(t, http.StatusOK, code, "body %s", body)
				require.NoError(t, ts.hub.Unsubscribe(victim.id(), "x"))
			} else {
				require.Equal(t, http.StatusForbidden, code, "body %s", body)
				require.Equal(t, shared.CodeOriginRefused, errorBody(t, body).Error)
				require.False(t, subscribedTo(ts.hub, victim.id(), "x"), "a refused POST subscribed")
			}
			// An unsubscribe is refused the same way.
			code, body = ts.post(t, shared.SubscribeRequest{Action: shared.ActionUnsubscribe, ClientID: victim.id(), Channels: []string{shared.DefaultChannel}}, tc.header)
			if tc.allowed {
				require.Equal(t, http.StatusOK, code, "body %s", body)
				require.NoError(t, ts.hub.Subscribe(victim.id(), shared.DefaultChannel))
			} else {
				require.Equal(t, http.StatusForbidden, code, "body %s", body)
				require.True(t, subscribedTo(ts.hub, victim.id(), shared.DefaultChannel), "a refused POST unsubscribed")
			}
		})
	}
	// The victim's stream saw none of it.
	secMarker(t, ts.testServer, victim)
}

// TestSecurityForeignSessionPost: a client id is not an authorisation. A
// request carrying another client's id from a user OnSubscribe refuses
// changes nothing for that client.
func TestSecurityForeignSessionPost(t *testing.T, m Mount) {
	var calls atomic.Int32
	ts := newSecServer(t, m, ssevent.Config{
		OnConnect: func(r *http.Request) error {
			if r.Header.Get("X-User") == "" {
				return &ssevent.HTTPError{Code: http.StatusUnauthorized}
			}
			return nil
		},
		OnSubscribe: func(id, ch string, r *http.Request) error {
			calls.Add(1)
			user := r.Header.Get("X-User")
			if owner, ok := strings.CutPrefix(ch, "private-"); ok && owner != user {
				return &ssevent.HTTPError{Code: http.StatusForbidden, Message: "not your channel"}
			}
			return nil
		},
	})
	alice, wire := ts.openChecked(t, url.Values{"channels": {"private-alice"}}, http.Header{"X-User": {"alice"}})
	require.Equal(t, []string{"default", "private-alice"}, alice.connected.Channels)
	mallory := http.Header{"X-User": {"mallory"}}

	code, body := ts.post(t, shared.SubscribeRequest{Action: shared.ActionSubscribe, ClientID: alice.id(),
		Channels: []string{"private-bob", "private-carol"}}, mallory)
	require.Equal(t, http.StatusOK, code, "body %s", body)
	var resp shared.SubscribeResponse
	require.NoError(t, json.Unmarshal(body, &resp))
	assert.Empty(t, resp.Accepted)
	assert.Equal(t, []shared.Rejection{{Channel: "private-bob", Reason: "not your channel"}, {Channel: "private-carol", Reason: "not your channel"}}, resp.Rejected)
	assert.Equal(t, []string{"default", "private-alice"}, resp.Channels)
	assert.Empty(t, ts.hub.ClientsByChannel("private-bob"))
	assert.Empty(t, ts.hub.ClientsByChannel("private-carol"))

	// Mixed: the allowed channel joins, the refused one does not.
	code, body = ts.post(t, shared.SubscribeRequest{Action: shared.ActionSubscribe, ClientID: alice.id(),
		Channels: []string{"public", "private-bob"}}, mallory)
	require.Equal(t, http.StatusOK, code, "body %s", body)
	require.NoError(t, json.Unmarshal(body, &resp))
	assert.Equal(t, []string{"public"}, resp.Accepted)
	assert.Empty(t, ts.hub.ClientsByChannel("private-bob"))

	// Taking the session over needs OnConnect's consent.
	code, body = ts.refusedGET(t, url.Values{"clientId": {alice.id()}}, nil)
	require.Equal(t, http.StatusUnauthorized, code, "body %s", body)
	require.Equal(t, []string{alice.id()}, ts.hub.ClientsByChannel("private-alice"))

	// Alice's stream still works and got nothing from Mallory.
	require.NoError(t, ts.hub.Send("private-bob", "for bob"))
	require.NoError(t, ts.hub.Send("private-alice", "for alice"))
	env, _ := alice.message()
	assert.Equal(t, "private-alice", env.Channel)
	secMarker(t, ts.testServer, alice)
	require.NoError(t, wire.err())
	require.Positive(t, calls.Load())
}

// TestSecuritySendToReachesOnlyItsClient: private messages go to one stream.
func TestSecuritySendToReachesOnlyItsClient(t *testing.T, m Mount) {
	const n = 24
	ts := newSecServer(t, m, ssevent.Config{})
	clients := make([]*sseClient, n)
	wires := make([]*wireCheck, n)
	for i := range clients {
		clients[i], wires[i] = ts.openChecked(t, nil)
	}
	for round := range 3 {
		for i, c := range clients {
			require.NoError(t, ts.hub.SendTo(c.id(), map[string]any{"to": c.id(), "i": i, "round": round}, "private"))
			require.NoError(t, ts.hub.SendTo(c.id(), i)) // as a message envelope
		}
		require.NoError(t, ts.hub.Broadcast(round, "end"))
		for i, c := range clients {
			ev := c.nextT(t)
			require.Equal(t, "private", ev.Name)
			var got struct {
				To    string `json:"to"`
				I     int    `json:"i"`
				Round int    `json:"round"`
			}
			require.NoError(t, json.Unmarshal(ev.Data, &got))
			require.Equal(t, c.id(), got.To)
			require.Equal(t, i, got.I)
			require.Equal(t, round, got.Round)
			env, _ := c.message()
			require.Equal(t, "", env.Channel)
			require.Equal(t, strconv.Itoa(i), string(env.Payload))
			ev = c.nextT(t)
			require.Equal(t, "end", ev.Name, "client %d got something else before the broadcast: %s", i, ev.Data)
		}
	}

	// A client that left: SendTo to its id reaches nobody, not even a
	// newcomer.
	gone := clients[0]
	require.NoError(t, ts.hub.Unsubscribe(gone.id()))
	gone.ended()
	require.ErrorIs(t, ts.hub.SendTo(gone.id(), "late"), ssevent.ErrUnknownClient)
	require.ErrorIs(t, ts.hub.SendTo(uuid.NewString(), "made up"), ssevent.ErrUnknownClient)
	require.ErrorIs(t, ts.hub.SendTo("", "empty"), ssevent.ErrUnknownClient)
	newcomer, w := ts.openChecked(t, nil)
	require.NotEqual(t, gone.id(), newcomer.id())
	for _, c := range append(clients[1:], newcomer) {
		secMarker(t, ts.testServer, c)
	}
	for _, w := range append(wires, w) {
		require.NoError(t, w.err())
	}
}

// TestSecurityUnknownClientID: made-up and malformed ids are refused the
// same way whatever ids exist, and change nothing.
func TestSecurityUnknownClientID(t *testing.T, m Mount) {
	ts := newSecServer(t, m, ssevent.Config{})
	real := ts.connect(t, nil)
	left := ts.connect(t, nil)
	require.NoError(t, ts.hub.Unsubscribe(left.id())) // existed once
	left.ended()

	post := func(id string) (int, string) {
		code, body := ts.post(t, shared.SubscribeRequest{Action: shared.ActionSubscribe, ClientID: id, Channels: []string{"x"}})
		return code, string(body)
	}
	unknown := []string{left.id(), uuid.NewString(), uuid.Nil.String(), "ffffffff-ffff-4fff-bfff-ffffffffffff"}
	u := []byte(real.id())
	u[0] = "10"[boolIndex(u[0] == '1')] // one character off a live id
	unknown = append(unknown, string(u))
	_, ref404 := post(uuid.NewString())
	for _, id := range unknown {
		code, body := post(id)
		require.Equal(t, http.StatusNotFound, code, "id %q", id)
		require.Equal(t, ref404, body, "the 404 body differs for id %q", id)
		require.NotContains(t, body, id)
	}
	require.Equal(t, shared.CodeUnknownClient, errorBody(t, []byte(ref404)).Error)

	malformed := []string{
		"", "x", "null", strings.ToUpper(real.id()), real.id() + " ", " " + real.id(), real.id() + "\n",
		real.id()[:35], real.id() + "0", "{" + real.id() + "}", "urn:uuid:" + real.id(),
		strings.ReplaceAll(real.id(), "-", ""), real.id() + "\x00", strings.Repeat("a", 1000),
	}
	_, ref400 := post("nope")
	for _, id := range malformed {
		code, body := post(id)
		require.Equal(t, http.StatusBadRequest, code, "id %q", id)
		require.Equal(t, ref400, body, "the 400 body differs for id %q", id)
	}
	require.Equal(t, shared.CodeBadRequest, errorBody(t, []byte(ref400)).Error)
	require.False(t, subscribedTo(ts.hub, real.id(), "x"))

	// GET ?clientId= with an unknown id starts a fresh session; a
	// malformed one is a 400 with one body.
	for _, id := range unknown {
		c := ts.connect(t, url.Values{"clientId": {id}})
		require.False(t, c.connected.Resumed)
		require.NotEqual(t, id, c.id())
		require.NotEqual(t, real.id(), c.id())
		require.NoError(t, ts.hub.Unsubscribe(c.id()))
		c.ended()
	}
	var first []byte
	for _, id := range malformed[1:] { // an empty ?clientId= is no resumption
		code, body := ts.refusedGET(t, url.Values{"clientId": {id}}, nil)
		require.Equal(t, http.StatusBadRequest, code, "id %q", id)
		if first == nil {
			first = body
		}
		require.Equal(t, string(first), string(body), "the 400 body differs for id %q", id)
	}
	eventually(t, func() bool { return ts.hub.ClientCount() == 1 }, "only the real client left")
	secMarker(t, ts.testServer, real)
}

// TestSecurityNoInjection: CR, LF and NUL in anything a caller or a client
// passes never reach the wire; the calls that would need them fail.
func TestSecurityNoInjection(t *testing.T, m Mount) {
	ts := newSecServer(t, m, ssevent.Config{
		OnSubscribe: func(id, ch string, r *http.Request) error {
			if strings.HasPrefix(ch, "deny") {
				return &ssevent.HTTPError{Code: http.StatusForbidden, Message: "no\r\nevent: injected\r\ndata: x\n\n\x00"}
			}
			return nil
		},
	})
	c, wire := ts.openChecked(t, url.Values{"channels": {"a,deny-me"}})
	require.Equal(t, "no\r\nevent: injected\r\ndata: x\n\n\x00", c.connected.Rejected[0].Reason, "the reason survives, escaped as JSON")

	evil := []string{"\n", "\r", "\r\n", "\x00", "a\nevent: x", "a\rdata: x", "a\r\nid: 1", "x\x00y", "\n\n", "a\u2028b", "a\u0085b"}
	for _, s := range evil {
		assert.ErrorIs(t, ts.hub.SendTo(c.id(), 1, s), ssevent.ErrInvalidEvent, "%q", s)
		assert.ErrorIs(t, ts.hub.Broadcast(1, s), ssevent.ErrInvalidEvent, "%q", s)
		assert.ErrorIs(t, ts.hub.Send(s, 1), ssevent.ErrInvalidChannel, "%q", s)
		assert.ErrorIs(t, ts.hub.Send("a"+s, 1), ssevent.ErrInvalidChannel, "%q", s)
		assert.ErrorIs(t, ts.hub.Subscribe(c.id(), s), ssevent.ErrInvalidChannel, "%q", s)
		assert.ErrorIs(t, ts.hub.SendTo(c.id()+s, 1), ssevent.ErrUnknownClient, "%q", s)

		code, body := ts.post(t, shared.SubscribeRequest{Action: shared.ActionSubscribe, ClientID: c.id(), Channels: []string{"ok", "b" + s}})
		assert.Equal(t, http.StatusUnprocessableEntity, code, "%q: %s", s, body)
		// ?channels= trims white space around names, so the control
		// characters go inside one.
		code, body = ts.refusedGET(t, url.Values{"channels": {"ok,b" + s + "c"}}, nil)
		assert.Equal(t, http.StatusUnprocessableEntity, code, "%q: %s", s, body)
		code, body = ts.refusedGET(t, url.Values{"lastEventId": {"1" + s}}, nil)
		assert.Equal(t, http.StatusBadRequest, code, "%q: %s", s, body)
	}
	assert.False(t, subscribedTo(ts.hub, c.id(), "ok"), "a refused POST subscribed part of its channels")

	// Payloads may hold anything; it arrives JSON-escaped on one line.
	payloads := []any{
		"line\nbreak", "cr\rlf\r\n", "nul\x00", "\u2028\u2029", map[string]string{"k\n": "v\r"},
		json.RawMessage("{\"a\":\r\n 1,\n\"b\":\t[2,\n3]}"), []string{"\n\ndata: x\n\n"},
	}
	for _, p := range payloads {
		want, err := json.Marshal(p)
		require.NoError(t, err)
		require.NoError(t, ts.hub.Send("a", p))
		env, _ := c.message()
		require.Equal(t, string(want), string(env.Payload))
		require.NoError(t, ts.hub.SendTo(c.id(), p, "custom"))
		ev := c.nextT(t)
		require.Equal(t, "custom", ev.Name)
		require.Equal(t, string(want), string(ev.Data))
		require.NoError(t, ts.hub.Broadcast(p))
		env, _ = c.message()
		require.Equal(t, string(want), string(env.Payload))
	}
	// A channel name may hold quotes and backslashes; they stay in the JSON.
	for _, ch := range []string{`q"uote`, `back\slash`, `"}{"payload":1}`, "<script>", "é ü 中"} {
		require.NoError(t, ts.hub.Subscribe(c.id(), ch))
		require.NoError(t, ts.hub.Send(ch, ch))
		env, _ := c.message()
		require.Equal(t, ch, env.Channel)
		want, _ := json.Marshal(ch)
		require.Equal(t, string(want), string(env.Payload))
		require.NoError(t, ts.hub.Unsubscribe(c.id(), ch))
	}
	secMarker(t, ts.testServer, c)
	require.NoError(t, wire.err())
}

// rawPost sends a POST with a body of size bytes from a generator over a
// raw connection, as fast as the server takes it, and returns the response
// and the bytes written. The body is chunked when size is negative
// (-size bytes are generated).
func rawPost(t *testing.T, addr string, size int64, chunked bool) (*http.Response, []byte, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitTimeout)))
	hdr := "POST /events HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n"
	if chunked {
		hdr += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		hdr += "Content-Length: " + strconv.FormatInt(size, 10) + "\r\n\r\n"
	}
	_, err = io.WriteString(conn, hdr)
	require.NoError(t, err)

	var written atomic.Int64
	done := make(chan struct{})
	go func() { // the generator: '{"action":"subscribe","channels":["aaaa…'
		defer close(done)
		chunk := make([]byte, 32<<10)
		for i := range chunk {
			chunk[i] = 'a'
		}
		first := []byte(`{"action":"subscribe","channels":["`)
		for written.Load() < size {
			b := chunk
			if written.Load() == 0 {
				b = append(first, chunk[len(first):]...)
			}
			if rest := size - written.Load(); int64(len(b)) > rest {
				b = b[:rest]
			}
			var err error
			if chunked {
				_, err = fmt.Fprintf(conn, "%x\r\n%s\r\n", len(b), b)
			} else {
				_, err = conn.Write(b)
			}
			if err != nil {
				return
			}
			written.Add(int64(len(b)))
		}
		if chunked {
			_, _ = io.WriteString(conn, "0\r\n\r\n")
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	conn.Close() // stops the generator if the server has not
	<-done
	return resp, body, written.Load()
}

// TestSecurityOversizedBody: a body over MaxPayloadSize is refused with 413
// after the server has read a bounded amount of it, however much the client
// would send.
func TestSecurityOversizedBody(t *testing.T, m Mount) {
	const gib = 1 << 30
	const limit = 64 << 10
	// The server reads the headers, at most MaxPayloadSize of a chunked
	// body, and at most the 256 KiB net/http drains from an unread one,
	// each through 4 KiB buffers.
	const bound = 1 << 20
	for _, chunked := range []bool{false, true} {
		t.Run(map[bool]string{false: "content-length", true: "chunked"}[chunked], func(t *testing.T) {
			// The recommended timeouts: the tests' 600ms ReadTimeout
			// once ended the read of the first 64 KiB on a loaded
			// machine, before the limit could refuse the body.
			ts := newSecServerWith(t, m, ssevent.Config{MaxPayloadSize: limit}, recommendedTimeouts)
			c := ts.connect(t, nil)
			before := ts.read.Load()
			resp, body, written := rawPost(t, ts.addr, gib, chunked)
			read := ts.read.Load() - before
			t.Logf("1 GiB body, chunked=%v: client wrote %d bytes, server read %d", chunked, written, read)
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, "body %s", body)
			require.Equal(t, shared.CodePayloadTooLarge, errorBody(t, body).Error)
			require.Less(t, read, int64(bound), "the server read %d bytes of a refused body", read)
			require.Less(t, written, int64(gib), "the whole body was sent")
			require.Equal(t, 1, ts.hub.ClientCount())
			secMarker(t, ts.testServer, c)
		})
	}

	t.Run("at the limit", func(t *testing.T) {
		ts := newSecServer(t, m, ssevent.Config{MaxPayloadSize: 1024})
		c := ts.connect(t, nil)
		req := fmt.Sprintf(`{"action":"subscribe","clientId":%q,"channels":["x"]}`, c.id())
		pad := strings.Repeat(" ", 1024-len(req))
		code, body := ts.post(t, req+pad)
		require.Equal(t, http.StatusOK, code, "body %s", body)
		code, body = ts.post(t, req+pad+" ")
		require.Equal(t, http.StatusRequestEntityTooLarge, code, "body %s", body)
		code, body = ts.post(t, struct{ io.Reader }{strings.NewReader(req + pad + " ")}) // no Content-Length
		require.Equal(t, http.StatusRequestEntityTooLarge, code, "body %s", body)
	})
}

// TestSecurityPanickingHooks: a hook that panics fails its request with 500
// and changes nothing; the server keeps serving.
func TestSecurityPanickingHooks(t *testing.T, m Mount) {
	var connectPanics atomic.Bool
	ts := newSecServer(t, m, ssevent.Config{
		OnConnect: func(r *http.Request) error {
			if connectPanics.Load() {
				panic("OnConnect exploded")
			}
			return nil
		},
		OnSubscribe: func(id, ch string, r *http.Request) error {
			switch ch {
			case "boom":
				panic("OnSubscribe exploded")
			case "nil":
				panic(nil)
			case "abort":
				panic(http.ErrAbortHandler)
			case "err":
				return errors.New("database down")
			}
			return nil
		},
	})
	c, wire := ts.openChecked(t, nil)
	before := ts.hub.ClientCount()

	connectPanics.Store(true)
	for range 3 {
		code, body := ts.refusedGET(t, url.Values{"channels": {"ok"}}, nil)
		require.Equal(t, http.StatusInternalServerError, code, "body %s", body)
		require.Equal(t, shared.CodeInternal, errorBody(t, body).Error)
		require.NotContains(t, string(body), "exploded", "the panic value leaks to the client")
	}
	connectPanics.Store(false)
	require.Equal(t, before, ts.hub.ClientCount())
	require.Empty(t, ts.hub.ClientsByChannel("ok"))

	for _, bad := range []string{"boom", "nil", "abort", "err"} {
		code, body := ts.refusedGET(t, url.Values{"channels": {"ok," + bad}}, nil)
		require.Equal(t, http.StatusInternalServerError, code, "%s: body %s", bad, body)
		require.Equal(t, shared.CodeInternal, errorBody(t, body).Error)

		code, body = ts.post(t, shared.SubscribeRequest{Action: shared.ActionSubscribe, ClientID: c.id(), Channels: []string{"ok", bad}})
		require.Equal(t, http.StatusInternalServerError, code, "%s: body %s", bad, body)
		require.Equal(t, shared.CodeInternal, errorBody(t, body).Error)
		require.Empty(t, ts.hub.ClientsByChannel("ok"), "a failed request changed the hub")
		require.Empty(t, ts.hub.ClientsByChannel(bad))
	}
	require.Equal(t, before, ts.hub.ClientCount())

	// Still serving.
	c2 := ts.connect(t, url.Values{"channels": {"ok"}})
	require.Equal(t, []string{c2.id()}, ts.hub.ClientsByChannel("ok"))
	secMarker(t, ts.testServer, c)
	require.NoError(t, wire.err())
}
