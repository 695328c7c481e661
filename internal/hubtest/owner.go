package hubtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// getStatus opens a stream with exactly these query and headers (no key
// added) and returns the status and the body of a refusal.
func (ts *testServer) getStatus(t *testing.T, query url.Values, header http.Header) (int, shared.Connected, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.url+"?"+query.Encode(), nil)
	require.NoError(t, err)
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, shared.Connected{}, readBody(t, resp)
	}
	d := shared.NewDecoder(resp.Body, 0)
	ev, err := d.Next()
	require.NoError(t, err)
	var c shared.Connected
	require.NoError(t, json.Unmarshal(ev.Data, &c))
	return resp.StatusCode, c, nil
}

// rawPost posts body with exactly these headers.
func (ts *testServer) rawPostWith(t *testing.T, body any, header http.Header) (int, []byte) {
	t.Helper()
	raw, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, ts.url, strings.NewReader(string(raw)))
	require.NoError(t, err)
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp.StatusCode, readBody(t, resp)
}

// TestOwnerAnonymousSessionNeedsItsKey: without Identify, a session is bound
// to its key: its id alone does not resume it or change it, and a wrong key
// changes nothing.
func TestOwnerAnonymousSessionNeedsItsKey(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1})
	alice := ts.connect(t, url.Values{"channels": {"news"}})
	key := alice.connected.SessionKey
	require.Len(t, key, 43, "256 random bits, base64url")

	// The key also arrives in an HttpOnly cookie scoped to the route.
	var ck *http.Cookie
	for _, c := range alice.resp.Cookies() {
		if c.Name == shared.CookieSessionKey+alice.id() {
			ck = c
		}
	}
	require.NotNil(t, ck, "the session cookie")
	assert.Equal(t, key, ck.Value)
	assert.True(t, ck.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	assert.Equal(t, "/events", ck.Path)
	assert.Positive(t, ck.MaxAge)

	forged := http.Header{shared.HeaderSessionKey: {strings.Repeat("A", 43)}}
	for _, header := range []http.Header{forged, {}} {
		for _, action := range []string{shared.ActionSubscribe, shared.ActionUnsubscribe} {
			code, body := ts.rawPostWith(t, shared.SubscribeRequest{Action: action, ClientID: alice.id(), Channels: []string{"news", "mallory"}}, header)
			require.Equal(t, http.StatusForbidden, code, "body %s", body)
			assert.Equal(t, shared.CodeForbidden, errorBody(t, body).Error)
		}
	}
	// A resume with a wrong key is refused; one with no key at all (a
	// browser that sent no cookie) is a fresh session.
	code, _, body := ts.getStatus(t, url.Values{"clientId": {alice.id()}}, forged)
	require.Equal(t, http.StatusForbidden, code, "body %s", body)
	code, fresh, _ := ts.getStatus(t, url.Values{"clientId": {alice.id()}}, http.Header{})
	require.Equal(t, http.StatusOK, code)
	assert.NotEqual(t, alice.id(), fresh.ClientID)
	assert.False(t, fresh.Resumed)

	// Nothing changed for Alice: her stream, her channels, her messages.
	assert.Equal(t, []string{alice.id()}, ts.hub.ClientsByChannel("news"))
	assert.Empty(t, ts.hub.ClientsByChannel("mallory"))
	require.NoError(t, ts.hub.SendTo(alice.id(), "private"))
	env, _ := alice.message()
	assert.JSONEq(t, `"private"`, string(env.Payload))

	// The cookie alone resumes (an EventSource cannot send headers).
	alice.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the streams to end")
	code, back, _ := ts.getStatus(t, url.Values{"clientId": {alice.id()}}, http.Header{"Cookie": {ck.String()}})
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, alice.id(), back.ClientID)
	assert.True(t, back.Resumed)
	assert.Equal(t, key, back.SessionKey)
}

// TestOwnerIdentifiedSession: with Identify, a session is bound to its user:
// another user cannot resume it, change it, or end its stream, whatever ids
// and keys he sends.
func TestOwnerIdentifiedSession(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{
		HeartbeatInterval: -1,
		Identify: func(r *http.Request) (string, error) {
			u := r.Header.Get("X-User")
			if u == "" {
				return "", &ssevent.HTTPError{Code: http.StatusUnauthorized}
			}
			return u, nil
		},
	})
	aliceH := http.Header{"X-User": {"alice"}}
	bobH := http.Header{"X-User": {"bob"}}
	alice := ts.connect(t, url.Values{"channels": {"private-alice"}}, aliceH)
	assert.Empty(t, alice.connected.SessionKey, "the user is the binding: no key")
	require.NoError(t, ts.hub.SendTo(alice.id(), "secret"))
	env, ev := alice.message()
	assert.JSONEq(t, `"secret"`, string(env.Payload))

	code, _, body := ts.getStatus(t, url.Values{"clientId": {alice.id()}, "lastEventId": {alice.position}}, bobH)
	require.Equal(t, http.StatusForbidden, code, "body %s", body)
	assert.Equal(t, shared.CodeForbidden, errorBody(t, body).Error)
	code, body = ts.rawPostWith(t, shared.SubscribeRequest{Action: shared.ActionUnsubscribe, ClientID: alice.id(), Channels: []string{"private-alice", "default"}}, bobH)
	require.Equal(t, http.StatusForbidden, code, "body %s", body)
	code, _, _ = ts.getStatus(t, url.Values{"clientId": {alice.id()}}, http.Header{})
	require.Equal(t, http.StatusUnauthorized, code, "Identify refuses")

	// Alice's stream is untouched and still hers.
	assert.Equal(t, []string{alice.id()}, ts.hub.ClientsByChannel("private-alice"))
	require.NoError(t, ts.hub.Send("private-alice", "still here"))
	env, ev = alice.message()
	assert.JSONEq(t, `"still here"`, string(env.Payload))

	// Alice herself resumes without any key, from another connection.
	alice.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "Alice's stream to end")
	require.NoError(t, ts.hub.SendTo(alice.id(), "while away"))
	back := ts.connect(t, url.Values{"clientId": {alice.id()}}, http.Header{"X-User": {"alice"}, "Last-Event-Id": {ev.ID}})
	assert.True(t, back.connected.Resumed)
	env, _ = back.message()
	assert.JSONEq(t, `"while away"`, string(env.Payload))
}

// TestOwnerPermissionsRecheckedOnResume: OnSubscribe runs again for every
// channel a session holds when it resumes: a permission revoked meanwhile
// does not survive the resume.
func TestOwnerPermissionsRecheckedOnResume(t *testing.T, m Mount) {
	var revoked atomic.Bool
	var calls atomic.Int32
	ts := newTestServer(t, m, ssevent.Config{
		HeartbeatInterval: -1,
		OnSubscribe: func(id, ch string, r *http.Request) error {
			calls.Add(1)
			if ch == "vip" && revoked.Load() {
				return &ssevent.HTTPError{Code: http.StatusForbidden, Message: "membership expired"}
			}
			return nil
		},
	})
	c := ts.connect(t, url.Values{"channels": {"vip,news"}})
	require.Equal(t, []string{"default", "news", "vip"}, c.connected.Channels)
	c.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")
	revoked.Store(true)
	before := calls.Load()
	back := ts.connect(t, url.Values{"clientId": {c.id()}})
	assert.True(t, back.connected.Resumed)
	assert.Equal(t, []string{"default", "news"}, back.connected.Channels)
	assert.Equal(t, []shared.Rejection{{Channel: "vip", Reason: "membership expired"}}, back.connected.Rejected)
	assert.Equal(t, before+2, calls.Load(), "once per channel held, default aside")
	assert.Empty(t, ts.hub.ClientsByChannel("vip"))
	require.NoError(t, ts.hub.Send("vip", "members only"))
	require.NoError(t, ts.hub.Send("news", "marker"))
	back.expectNext("news", `"marker"`)

	// A hook that fails on resume refuses the resume and changes nothing.
	back.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")
	ts2 := newTestServer(t, m, ssevent.Config{OnSubscribe: func(id, ch string, r *http.Request) error {
		if r.URL.Query().Get("clientId") != "" {
			return errors.New("policy store down")
		}
		return nil
	}})
	d := ts2.connect(t, url.Values{"channels": {"news"}})
	d.close()
	eventually(t, func() bool { return ts2.hub.ClientCount() == 0 }, "the stream to end")
	code, _, body := ts2.getStatus(t, url.Values{"clientId": {d.id()}}, ts2.withKey(d.id(), http.Header{}))
	require.Equal(t, http.StatusInternalServerError, code, "body %s", body)
	require.NoError(t, ts2.hub.SendTo(d.id(), "kept"), "the session is still there")
}

// TestOwnerSessionEndAndChannelChanges: Unsubscribe with no channels ends
// the session: the client is told, and the id no longer resumes. Server-side
// changes of the channel set are reported to the client.
func TestOwnerSessionEndAndChannelChanges(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1})
	c := ts.connect(t, url.Values{"channels": {"a"}})
	require.NoError(t, ts.hub.Subscribe(c.id(), "b"))
	ev := c.nextAny()
	require.Equal(t, shared.EventChannels, ev.Name)
	assert.JSONEq(t, `{"channels":["a","b","default"]}`, string(ev.Data))
	require.NoError(t, ts.hub.Unsubscribe(c.id(), "a"))
	ev = c.nextAny()
	require.Equal(t, shared.EventChannels, ev.Name)
	assert.JSONEq(t, `{"channels":["b","default"]}`, string(ev.Data))

	require.NoError(t, ts.hub.Send("b", "last"))
	require.NoError(t, ts.hub.Unsubscribe(c.id()))
	c.expectNext("b", `"last"`)
	ev = c.nextAny()
	require.Equal(t, shared.EventClosed, ev.Name)
	assert.JSONEq(t, `{"reason":"ended"}`, string(ev.Data))
	c.ended()
	again := ts.connect(t, url.Values{"clientId": {c.id()}})
	assert.False(t, again.connected.Resumed)
	assert.NotEqual(t, c.id(), again.id())
}

// TestOwnerConfigValidation: TrustOrigins must be origins, and a Timeout
// under a second is refused.
func TestOwnerConfigValidation(t *testing.T, m Mount) {
	for _, o := range []string{"app.example.com", "https://", "https://app.example.com/path", "//app.example.com", "https://user@app.example.com"} {
		err := ssevent.Config{TrustOrigins: []string{o}}.Validate()
		assert.ErrorIs(t, err, ssevent.ErrInvalidConfig, o)
	}
	require.NoError(t, ssevent.Config{TrustOrigins: []string{"https://app.example.com", "http://127.0.0.1:8080"}}.Validate())
	assert.ErrorIs(t, ssevent.Config{Timeout: 500 * 1e6}.Validate(), ssevent.ErrInvalidConfig, "a timeout under a second")
}
