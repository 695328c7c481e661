package hubtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// fuzzHookConfig is the configuration the HTTP fuzz targets share: small
// limits so that every refusal is within reach, and an OnSubscribe hook
// that rejects channels named deny…, fails on "fail" and panics on "panic".
func fuzzHookConfig() ssevent.Config {
	return ssevent.Config{
		MaxChannelsPerClient: 4,
		MaxPayloadSize:       512,
		MaxTotalConnections:  8,
		DisableHeartbeat:     true,
		Timeout:              -1,
		ResumeWindow:         -1,
		Logger:               slog.New(slog.DiscardHandler),
		OnSubscribe: func(_, ch string, _ *http.Request) error {
			switch {
			case strings.HasPrefix(ch, "deny"):
				return &ssevent.HTTPError{Code: http.StatusForbidden, Message: "denied"}
			case ch == "fail":
				return errors.New("hook failed")
			case ch == "panic":
				panic("hook panicked")
			}
			return nil
		},
	}
}

// strictJSON decodes b into v, refusing unknown fields and trailing data.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// errorCodes are the codes each status may carry.
var errorCodes = map[int][]string{
	http.StatusBadRequest:            {shared.CodeInvalidJSON, shared.CodeBadRequest},
	http.StatusNotFound:              {shared.CodeUnknownClient},
	http.StatusRequestEntityTooLarge: {shared.CodePayloadTooLarge},
	http.StatusUnprocessableEntity:   {shared.CodeInvalidChannel, shared.CodeTooManyChannels},
	http.StatusInternalServerError:   {shared.CodeInternal},
}

// FuzzPostBody sends any body through the real handler over HTTP, for a
// live client whose set is {default} before each request ("{{ID}}" in the
// input becomes that client's id, "{{OTHER}}" an id no client has). The
// answer is a well-formed JSON error that changed nothing, or a 200 whose
// channel set is the hub's.
func FuzzPostBody(f *testing.F, m Mount) {
	for _, s := range []string{
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a"]}`,
		`{"action":"unsubscribe","clientId":"{{ID}}","channels":["default","a"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a","deny-x","b"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a","b","c","d"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a","b","c","d","e"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a","a","a"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["ok","panic"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["ok","fail"]}`,
		`{"action":"subscribe","clientId":"{{OTHER}}","channels":["a"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a\nb"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a,b"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["\u2028"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["\ud800"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":[""]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":[]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":null}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a"]} {}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a"]}` + "\n\t ",
		`{"action":"SUBSCRIBE","clientId":"{{ID}}","channels":["a"]}`,
		`{"ACTION":"subscribe","CLIENTID":"{{ID}}","Channels":["a"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a"],"channels":["b"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":"a"}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":[1]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["a"],"extra":{"deep":[[[[]]]]}}`,
		`{"action":"subscribe","clientId":"{{ID}} ","channels":["a"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["` + strings.Repeat("x", 129) + `"]}`,
		`{"action":"subscribe","clientId":"{{ID}}","channels":["` + strings.Repeat("x", 600) + `"]}`,
		`[]`, `null`, ``, `{`, `"x"`, "\xef\xbb\xbf{}", `{"action":"subscribe"`,
	} {
		f.Add(s)
	}
	ts := newSecServer(f, m, fuzzHookConfig())
	c := ts.connect(f, nil)
	id, other := c.id(), uuid.NewString()

	f.Fuzz(func(t *testing.T, body string) {
		body = strings.NewReplacer("{{ID}}", id, "{{OTHER}}", other).Replace(body)
		code, raw := ts.post(t, []byte(body))

		var req shared.SubscribeRequest
		reqErr := json.Unmarshal([]byte(body), &req)
		mentioned := append([]string{shared.DefaultChannel}, req.Channels...)

		if code != http.StatusOK {
			var e shared.ErrorResponse
			require.NoError(t, strictJSON(raw, &e), "status %d, body %q", code, raw)
			require.Contains(t, errorCodes[code], e.Error, "status %d, body %q", code, raw)
			require.NotEmpty(t, e.Message)
			if code == http.StatusNotFound {
				require.NotEqual(t, id, req.ClientID, "the live client was not found")
			}
			for _, ch := range mentioned {
				if shared.ValidChannel(ch) == nil {
					require.Equal(t, ch == shared.DefaultChannel, subscribedTo(ts.hub, id, ch),
						"a refused request (%d %s) changed channel %q", code, e.Error, ch)
				}
			}
			require.Equal(t, 1, ts.hub.ClientCount())
			return
		}

		var resp shared.SubscribeResponse
		require.NoError(t, strictJSON(raw, &resp), "body %q", raw)
		require.NoError(t, reqErr, "200 for a body that is not a request: %q", body)
		require.Equal(t, id, resp.ClientID)
		require.Equal(t, req.Action, resp.Action)
		require.True(t, slices.IsSorted(resp.Channels), "channels %q", resp.Channels)
		require.LessOrEqual(t, len(resp.Channels), 4)
		for _, ch := range resp.Channels {
			require.True(t, subscribedTo(ts.hub, id, ch), "the answer lists %q, the hub does not", ch)
		}
		for _, ch := range mentioned {
			if !slices.Contains(resp.Channels, ch) {
				require.False(t, subscribedTo(ts.hub, id, ch), "the hub holds %q, the answer does not", ch)
			}
		}
		want := map[string]bool{}
		switch req.Action {
		case shared.ActionSubscribe:
			want[shared.DefaultChannel] = true
			var denied []string
			for _, ch := range req.Channels {
				if strings.HasPrefix(ch, "deny") {
					denied = append(denied, ch)
				} else {
					want[ch] = true
					require.Contains(t, resp.Accepted, ch)
				}
			}
			var rejected []string
			for _, r := range resp.Rejected {
				rejected = append(rejected, r.Channel)
			}
			require.ElementsMatch(t, denied, rejected)
		case shared.ActionUnsubscribe:
			want[shared.DefaultChannel] = !slices.Contains(req.Channels, shared.DefaultChannel)
			require.Equal(t, req.Channels, resp.Accepted)
		default:
			t.Fatalf("200 for action %q", req.Action)
		}
		var wantSet []string
		for ch, ok := range want {
			if ok {
				wantSet = append(wantSet, ch)
			}
		}
		require.ElementsMatch(t, wantSet, resp.Channels)

		// Back to {default} for the next input.
		for _, ch := range resp.Channels {
			if ch != shared.DefaultChannel {
				require.NoError(t, ts.hub.Unsubscribe(id, ch))
			}
		}
		if !slices.Contains(resp.Channels, shared.DefaultChannel) {
			require.NoError(t, ts.hub.Subscribe(id, shared.DefaultChannel))
		}
	})
}
