package hubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestHostileUnplaceableLastEventID: a Last-Event-ID the hub cannot place
// in its sequence (another hub's, one from the future, one from before a
// restart, an old plain number) gets one gap event, and then every live
// event: the id never mutes the stream. The connected event's id is the
// hub's own position, never the id the client presented.
func TestHostileUnplaceableLastEventID(t *testing.T, m Mount) {
	const mutedAfter = 3 * time.Second
	cfg := ssevent.Config{HeartbeatInterval: -1, Logger: discardLogger()}
	ts := newTestServer(t, m, cfg)
	other := newTestServer(t, m, cfg)

	// Both hubs have a history; the probe follows this hub's position.
	probe := ts.connect(t, url.Values{"channels": {"u"}})
	position := probe.position
	send := func(payload string) {
		t.Helper()
		require.NoError(t, ts.hub.Send("u", payload))
		env, ev := probe.message()
		require.JSONEq(t, fmt.Sprintf("%q", payload), string(env.Payload))
		position = ev.ID
	}
	for i := range 3 {
		send(fmt.Sprint("held ", i))
	}
	oc := other.connect(t, url.Values{"channels": {"u"}})
	require.NoError(t, other.hub.Send("u", "elsewhere"))
	_, oev := oc.message()
	foreign := oev.ID

	cur := mustEventID(t, position)
	assert.NotEqual(t, cur.Epoch, mustEventID(t, foreign).Epoch, "two hubs share an epoch: %s and %s", position, foreign)
	restarted := "restarted0"
	if restarted == cur.Epoch {
		restarted = "restarted1"
	}
	for _, tc := range []struct{ name, id string }{
		{"another hub", foreign},
		{"the future", shared.EventID{Epoch: cur.Epoch, Seq: cur.Seq + 1_000_000}.String()},
		{"the far future", shared.EventID{Epoch: cur.Epoch, Seq: 1<<64 - 1}.String()},
		{"before a restart", shared.EventID{Epoch: restarted, Seq: cur.Seq}.String()},
		{"before a restart, far behind", shared.EventID{Epoch: restarted, Seq: 1}.String()},
		{"plain decimal", "12"},
		{"plain decimal, the same number", fmt.Sprint(cur.Seq)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := shared.ParseEventID(tc.id)
			require.NoError(t, err, "the premise: %q is well formed", tc.id)
			for _, via := range []string{"header", "query"} {
				q := url.Values{"channels": {"u"}}
				var h http.Header
				if via == "header" {
					h = lastID(nil, tc.id)
				} else {
					q.Set(shared.QueryLastEventID, tc.id)
				}
				c := openRaw(t, ts.addr(), "/events?"+q.Encode(), h, 0)
				assert.Equal(t, position, c.position, "%s: the connected event's id is the hub's position, not %q", via, tc.id)
				// Events come at once here: a short wait
				// tells a muted stream quickly.
				ev, err := c.nextErr(mutedAfter)
				require.NoError(t, err, "%s: waiting for the gap event", via)
				require.Equal(t, shared.EventGap, ev.Name, "%s: first event after connected: %s %s", via, ev.Name, ev.Data)
				var g shared.Gap
				require.NoError(t, json.Unmarshal(ev.Data, &g))
				assert.Equal(t, tc.id, g.LastEventID, via)
				for i := range 3 {
					live := fmt.Sprintf("%s live %d via %s", tc.name, i, via)
					send(live)
					ev, err := c.nextErr(mutedAfter)
					require.NoError(t, err, "%s: live event %d is muted", via, i)
					var env shared.Envelope
					require.NoError(t, json.Unmarshal(ev.Data, &env))
					require.JSONEq(t, fmt.Sprintf("%q", live), string(env.Payload), "%s: live event %d", via, i)
					require.Equal(t, position, ev.ID)
				}
				c.Close()
			}
		})
	}

	// Ids that do not parse are refused, as ever.
	for _, id := range []string{"abc", "-5", "+5", "12x", "1.5", "Epoch-5", "e-", "-", "e--5", "e-+5", "toolongepoch12345-1", "99999999999999999999999", "1 2", "e-1-2"} {
		_, err := shared.ParseEventID(id)
		require.Error(t, err, "the premise: %q is malformed", id)
		for _, via := range []string{"header", "query"} {
			q := url.Values{"channels": {"u"}}
			var h http.Header
			if via == "header" {
				h = lastID(nil, id)
			} else {
				q.Set(shared.QueryLastEventID, id)
			}
			resp, cancel := ts.dial(t, q, h)
			body := readBody(t, resp)
			cancel()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%q via %s", id, via)
			assert.Equal(t, shared.CodeBadRequest, errorBody(t, body).Error, "%q via %s", id, via)
		}
	}
	assert.Equal(t, 2, ts.hub.ClientCount()+other.hub.ClientCount(), "only the probes are connected")
}
