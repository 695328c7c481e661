package hubtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/shared"
)

// validHeaderValue reports whether net/http sends v as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// FuzzStreamQuery opens streams with any ?channels= and any Last-Event-ID
// (as the header or as ?lastEventId=) through the real handler. A refusal
// is the one shared.ParseChannels and shared.ParseEventID call for, with a
// JSON body, and leaves no client; an accepted stream starts with the
// channel set asked for, less what OnSubscribe rejected.
func FuzzStreamQuery(f *testing.F, m Mount) {
	f.Add("a,b", "", false)
	f.Add(" a , ,b,a ", "1", true)
	f.Add("deny-1,ok", "18446744073709551615", false)
	f.Add("a,b,c,d", "", false)
	f.Add("a,b,c", "007", true)
	f.Add("a\nb", "1\n", false)
	f.Add("a,\x00", "-1", false)
	f.Add("panic", "", false)
	f.Add("fail,a", "", true)
	f.Add(",,,", " 12 ", true)
	f.Add("\u2028", "18446744073709551616", false)
	f.Add("é,中", "+1", true)
	f.Add(strings.Repeat("x", 129), "", false)
	ts := newSecServer(f, m, fuzzHookConfig())

	f.Fuzz(func(t *testing.T, channels, lastEventID string, asHeader bool) {
		q := url.Values{}
		if channels != "" {
			q.Set("channels", channels)
		}
		h := http.Header{}
		seen := lastEventID // what the server will read
		if asHeader && validHeaderValue(lastEventID) {
			h.Set("Last-Event-ID", lastEventID)
			seen = strings.Trim(lastEventID, " \t")
		} else if lastEventID != "" {
			q.Set("lastEventId", lastEventID)
		}
		if len(q.Encode()) > secMaxHeaderBytes/2 {
			return // the request line would not fit the server's header limit
		}

		chs, chErr := shared.ParseChannels(channels)
		var denied, ok []string
		hookFails := false
		for _, ch := range chs {
			switch {
			case strings.HasPrefix(ch, "deny"):
				denied = append(denied, ch)
			case ch == "fail" || ch == "panic":
				hookFails = true
			default:
				ok = append(ok, ch)
			}
		}
		_, idErr := shared.ParseEventID(seen)
		wantStatus, wantCode := http.StatusOK, ""
		switch {
		case chErr != nil:
			wantStatus, wantCode = http.StatusUnprocessableEntity, shared.CodeInvalidChannel
		case len(chs)+1 > 4:
			wantStatus, wantCode = http.StatusUnprocessableEntity, shared.CodeTooManyChannels
		case idErr != nil:
			wantStatus, wantCode = http.StatusBadRequest, shared.CodeBadRequest
		case hookFails:
			wantStatus, wantCode = http.StatusInternalServerError, shared.CodeInternal
		}

		resp, cancel := ts.dial(t, q, h)
		defer cancel()
		defer resp.Body.Close()
		stop := time.AfterFunc(waitTimeout, cancel)
		defer stop.Stop()
		require.Equal(t, wantStatus, resp.StatusCode, "channels %q, last event id %q (header %v)", channels, lastEventID, asHeader)
		if wantStatus != http.StatusOK {
			body := readBody(t, resp)
			var e shared.ErrorResponse
			require.NoError(t, strictJSON(body, &e), "body %q", body)
			require.Equal(t, wantCode, e.Error, "body %q", body)
			require.Zero(t, ts.hub.ClientCount(), "a refused GET left a stream")
			return
		}

		wire := &wireCheck{r: resp.Body}
		d := shared.NewDecoder(wire, 0)
		ev, err := d.Next()
		require.NoError(t, err)
		require.Equal(t, shared.EventConnected, ev.Name)
		var conn shared.Connected
		require.NoError(t, strictJSON(ev.Data, &conn))
		want := append([]string{shared.DefaultChannel}, ok...)
		slices.Sort(want)
		want = slices.Compact(want)
		require.Equal(t, want, conn.Channels)
		var rejected []string
		for _, r := range conn.Rejected {
			rejected = append(rejected, r.Channel)
		}
		require.Equal(t, denied, rejected)
		require.Equal(t, 1, ts.hub.ClientCount())

		// The server ends the session; nothing but a gap may precede
		// the closed event that ends the stream.
		require.NoError(t, ts.hub.Unsubscribe(conn.ClientID))
		require.Zero(t, ts.hub.ClientCount())
		closed := false
		for {
			ev, err := d.Next()
			if err != nil {
				break
			}
			require.False(t, closed, "nothing follows the closed event")
			if ev.Name == shared.EventClosed {
				closed = true
				require.JSONEq(t, `{"reason":"ended"}`, string(ev.Data))
				continue
			}
			require.Equal(t, shared.EventGap, ev.Name, "data %s", ev.Data)
			var gap shared.Gap
			require.NoError(t, json.Unmarshal(ev.Data, &gap))
		}
		require.True(t, closed, "the client is told its session ended")
		require.NoError(t, wire.err())
	})
}
