package ssevent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// jarStream is a stream opened by a client that keeps cookies, as a
// browser does.
type jarStream struct {
	cancel context.CancelFunc
	dec    *shared.Decoder
	resp   *http.Response
}

func openWithJar(t *testing.T, client *http.Client, u string) (*jarStream, shared.Connected) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &jarStream{cancel: cancel, dec: shared.NewDecoder(resp.Body, 0), resp: resp}
	t.Cleanup(s.close)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ev, err := s.dec.Next()
	require.NoError(t, err)
	require.Equal(t, shared.EventConnected, ev.Name)
	var c shared.Connected
	require.NoError(t, json.Unmarshal(ev.Data, &c))
	return s, c
}

func (s *jarStream) close() {
	s.cancel()
	s.resp.Body.Close()
}

func (s *jarStream) next(t *testing.T) got {
	t.Helper()
	ev, err := s.dec.Next()
	require.NoError(t, err)
	return got{ev.Name, string(ev.Data)}
}

// TestPageResumesItsSession: a page's stream URL carries ?page=; a stream
// the page opens anew with the same URL and no Last-Event-ID (htmx 2's
// EventSource after a refused reconnection) resumes the page's session
// and gets what it missed, not the page's first position again.
func TestPageResumesItsSession(t *testing.T) {
	hub, endpoint := newDialectHub(t)
	ctx := t.Context()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	q := url.Values{"channels": {"feed"}, "format": {"htmx2"}, "lastEventId": {hub.LastEventID()}, "page": {ssevent.NewPageID()}}
	u := endpoint + "?" + q.Encode()

	s, first := openWithJar(t, browser, u)
	require.NoError(t, hub.SendHTML(ctx, "feed", "<li>1</li>"))
	assert.Equal(t, got{"feed", "<li>1</li>"}, s.next(t))
	s.close()
	require.Eventually(t, func() bool { return hub.Stats().Streams == 0 }, 15*time.Second, 5*time.Millisecond)
	require.NoError(t, hub.SendHTML(ctx, "feed", "<li>2</li>"))
	require.NoError(t, hub.SendHTML(ctx, "feed", "<li>3</li>"))

	s, again := openWithJar(t, browser, u)
	assert.Equal(t, first.ClientID, again.ClientID)
	assert.True(t, again.Resumed)
	assert.Equal(t, got{"feed", "<li>2</li>"}, s.next(t), "what was missed, not <li>1</li> again")
	assert.Equal(t, got{"feed", "<li>3</li>"}, s.next(t))

	// A stream that has its last event id replays from it, in a session
	// of its own, whatever the page's cookie says.
	s.close()
	require.Eventually(t, func() bool { return hub.Stats().Streams == 0 }, 15*time.Second, 5*time.Millisecond)
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Last-Event-ID", hub.LastEventID())
	require.NoError(t, hub.SendHTML(ctx, "feed", "<li>4</li>"))
	resp, err := browser.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	dec := shared.NewDecoder(resp.Body, 0)
	ev, err := dec.Next()
	require.NoError(t, err)
	var withID shared.Connected
	require.NoError(t, json.Unmarshal(ev.Data, &withID))
	assert.NotEqual(t, first.ClientID, withID.ClientID)
	ev, err = dec.Next()
	require.NoError(t, err)
	assert.Equal(t, got{"feed", "<li>4</li>"}, got{ev.Name, string(ev.Data)})

	// Another page (another id), or another browser (no cookies): a
	// session of its own, from the URL's position.
	q.Set("page", ssevent.NewPageID())
	_, other := openWithJar(t, browser, endpoint+"?"+q.Encode())
	assert.NotEqual(t, first.ClientID, other.ClientID)
	_, stranger := openWithJar(t, &http.Client{}, u)
	assert.NotEqual(t, first.ClientID, stranger.ClientID)
	assert.False(t, stranger.Resumed)
}

// TestPageBadID: a malformed page id is refused.
func TestPageBadID(t *testing.T) {
	_, endpoint := newDialectHub(t)
	for _, bad := range []string{"a b", "é", string(make([]byte, 65))} {
		resp, err := http.Get(endpoint + "?" + url.Values{"page": {bad}}.Encode())
		require.NoError(t, err)
		var body shared.ErrorResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Equal(t, "malformed page", body.Message)
	}
	assert.Regexp(t, `^[A-Za-z0-9_-]{22}$`, ssevent.NewPageID())
}
