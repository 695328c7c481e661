package hubtest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestPostSubscribeAndUnsubscribe: POST subscribes and unsubscribes, with
// OnSubscribe's refusals listed as rejected.
func TestPostSubscribeAndUnsubscribe(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{
		OnSubscribe: func(id, ch string, r *http.Request) error {
			if strings.HasPrefix(ch, "admin") {
				return &ssevent.HTTPError{Code: http.StatusForbidden, Message: "admins only"}
			}
			return nil
		},
	})
	c := ts.connect(t, nil)

	got := ts.subscribe(t, shared.ActionSubscribe, c.id(), "news", "admin-log", "sport")
	assert.Equal(t, c.id(), got.ClientID)
	assert.Equal(t, shared.ActionSubscribe, got.Action)
	assert.Equal(t, []string{"news", "sport"}, got.Accepted)
	assert.Equal(t, []shared.Rejection{{Channel: "admin-log", Reason: "admins only"}}, got.Rejected)
	assert.Equal(t, []string{"default", "news", "sport"}, got.Channels)
	assert.Empty(t, ts.hub.ClientsByChannel("admin-log"))

	require.NoError(t, ts.hub.Send("sport", "live"))
	c.expectNext("sport", `"live"`)

	got = ts.subscribe(t, shared.ActionUnsubscribe, c.id(), "sport", "never")
	assert.Equal(t, []string{"sport", "never"}, got.Accepted)
	assert.Empty(t, got.Rejected)
	assert.Equal(t, []string{"default", "news"}, got.Channels)
	assert.Empty(t, ts.hub.ClientsByChannel("sport"))
}

// TestPostRefusals: every refusal of a POST has its status and code, and
// changes nothing.
func TestPostRefusals(t *testing.T, m Mount) {
	hookErr := false
	hookPanic := false
	ts := newTestServer(t, m, ssevent.Config{
		MaxPayloadSize:       512,
		MaxChannelsPerClient: 3,
		OnSubscribe: func(id, ch string, r *http.Request) error {
			switch {
			case hookErr && ch == "x":
				return errSentinel
			case hookPanic && ch == "x":
				panic("hook bug")
			}
			return nil
		},
	})
	c := ts.connect(t, nil)
	id := c.id()
	before := ts.hub.ClientsByChannel("default")

	tests := []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
		setup  func()
	}{
		{"not JSON", `{"action":`, "", 400, shared.CodeInvalidJSON, nil},
		{"JSON array", `[1,2]`, "", 400, shared.CodeInvalidJSON, nil},
		{"trailing data", `{"action":"subscribe","clientId":"` + id + `","channels":["a"]} {}`, "", 400, shared.CodeInvalidJSON, nil},
		{"wrong types", `{"action":1,"clientId":"` + id + `","channels":"a"}`, "", 400, shared.CodeInvalidJSON, nil},
		{"unknown action", `{"action":"join","clientId":"` + id + `","channels":["a"]}`, "", 400, shared.CodeBadRequest, nil},
		{"missing clientId", `{"action":"subscribe","channels":["a"]}`, "", 400, shared.CodeBadRequest, nil},
		{"malformed clientId", `{"action":"subscribe","clientId":"../../etc","channels":["a"]}`, "", 400, shared.CodeBadRequest, nil},
		{"empty channels", `{"action":"subscribe","clientId":"` + id + `","channels":[]}`, "", 400, shared.CodeBadRequest, nil},
		{"wrong content type", `{"action":"subscribe","clientId":"` + id + `","channels":["a"]}`, "text/plain", 415, shared.CodeUnsupportedMedia, nil},
		{"no content type", `{"action":"subscribe","clientId":"` + id + `","channels":["a"]}`, "-", 415, shared.CodeUnsupportedMedia, nil},
		{"unknown client", `{"action":"subscribe","clientId":"` + uuid.NewString() + `","channels":["a"]}`, "", 404, shared.CodeUnknownClient, nil},
		{"body too large", `{"action":"subscribe","clientId":"` + id + `","channels":["` + strings.Repeat("a", 600) + `"]}`, "", 413, shared.CodePayloadTooLarge, nil},
		{"empty channel name", `{"action":"subscribe","clientId":"` + id + `","channels":["a",""]}`, "", 422, shared.CodeInvalidChannel, nil},
		{"control character", `{"action":"subscribe","clientId":"` + id + `","channels":["a\u0000b"]}`, "", 422, shared.CodeInvalidChannel, nil},
		{"channel name too long", `{"action":"subscribe","clientId":"` + id + `","channels":["` + strings.Repeat("a", 129) + `"]}`, "", 422, shared.CodeInvalidChannel, nil},
		{"too many channels", `{"action":"subscribe","clientId":"` + id + `","channels":["a","b","c"]}`, "", 422, shared.CodeTooManyChannels, nil},
		{"hook error", `{"action":"subscribe","clientId":"` + id + `","channels":["a","x"]}`, "", 500, shared.CodeInternal, func() { hookErr = true }},
		{"hook panic", `{"action":"subscribe","clientId":"` + id + `","channels":["a","x"]}`, "", 500, shared.CodeInternal, func() { hookErr, hookPanic = false, true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			req, err := http.NewRequest(http.MethodPost, ts.url, strings.NewReader(tt.body))
			require.NoError(t, err)
			req.Header = ts.withKey(id, req.Header)
			switch tt.ctype {
			case "":
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
			case "-":
			default:
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body := readBody(t, resp)
			assert.Equal(t, tt.status, resp.StatusCode, "body %s", body)
			assert.Equal(t, "application/json", strings.Split(resp.Header.Get("Content-Type"), ";")[0])
			assert.Equal(t, tt.code, errorBody(t, body).Error)

			// Nothing changed, and the client's stream still works.
			assert.Empty(t, ts.hub.ClientsByChannel("a"))
			assert.Equal(t, before, ts.hub.ClientsByChannel("default"))
		})
	}
	require.NoError(t, ts.hub.Send("default", "alive"))
	c.expectNext("default", `"alive"`)
}

// TestPostToWaitingSession: a POST for a session whose stream is gone
// changes the session, which resumes with it.
func TestPostToWaitingSession(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{})
	c := ts.connect(t, nil)
	c.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")

	// The session waits for its client; a subscribe meanwhile is kept.
	got := ts.subscribe(t, shared.ActionSubscribe, c.id(), "while-away")
	assert.Equal(t, []string{"default", "while-away"}, got.Channels)
	c2 := ts.connect(t, url.Values{"clientId": {c.id()}})
	assert.Equal(t, []string{"default", "while-away"}, c2.connected.Channels)
}
