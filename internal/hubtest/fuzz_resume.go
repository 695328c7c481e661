package hubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// FuzzResume: any Last-Event-ID, by header or query, with or without a
// clientId to resume (a session the client just left, an unknown one,
// garbage), against a hub with a history that has already dropped its
// oldest events. The answer is a JSON 4xx, or a stream whose first event is
// connected; on a stream, an event sent after connecting always arrives,
// and again on the stream of a resumption without Last-Event-ID that
// follows (whatever id the first presented, it does not stay with the
// session).
//
// An id of the hub's own epoch cannot be a fixed seed, since every process
// (each fuzzing worker) starts a hub with an epoch of its own: with current
// set, the id is the hub's epoch and its position moved by delta.
func FuzzResume(f *testing.F, m Mount) {
	ts := newTestServer(f, m, ssevent.Config{HeartbeatInterval: -1, HistorySize: 50, MaxTotalConnections: -1, Logger: discardLogger()})
	c := ts.connect(f, url.Values{"channels": {"fz"}})
	var last string
	for i := range 80 { // the first 30 are dropped
		require.NoError(f, ts.hub.Send("fz", i))
		_, ev := c.message()
		last = ev.ID
	}
	c.close()
	cur := mustEventID(f, last)

	// lastID, current, delta, resume, kind: kind%4 picks the clientId
	// (none, resume as given, the session just left, a random UUID);
	// kind&4 sends the id in the Last-Event-ID header rather than the
	// query.
	f.Add(last, false, int64(0), "", uint8(0))
	f.Add("", true, int64(0), "", uint8(2|4))
	f.Add("", true, int64(-10), "", uint8(2))
	f.Add("", true, int64(-60), "", uint8(0|4))     // dropped: a gap
	f.Add("", true, int64(1_000_000), "", uint8(2)) // the future
	f.Add("", true, int64(1), "", uint8(4))
	f.Add(shared.EventID{Epoch: "otherhub", Seq: cur.Seq}.String(), false, int64(0), "", uint8(2|4))
	f.Add(shared.EventID{Epoch: "x", Seq: 1<<64 - 1}.String(), false, int64(0), "", uint8(2))
	f.Add("12", false, int64(0), "", uint8(3))
	f.Add("18446744073709551615", false, int64(0), "", uint8(2))
	f.Add("garbage", false, int64(0), "not-a-uuid", uint8(1))
	f.Add("e-", false, int64(0), "", uint8(4))
	f.Add("", false, int64(0), uuid.NewString(), uint8(1))
	f.Add(strings.Repeat("9", 25), false, int64(0), "", uint8(0))
	f.Add("a-1-2", false, int64(0), "", uint8(2|4))

	marker := 0
	f.Fuzz(func(t *testing.T, lastID string, current bool, delta int64, resume string, kind uint8) {
		if current {
			lastID = shared.EventID{Epoch: cur.Epoch, Seq: cur.Seq + uint64(delta)}.String()
		}
		// A session the client just left, with the history behind it.
		left := ts.connect(t, url.Values{"channels": {"fz"}})
		left.close()

		q := url.Values{"channels": {"fz"}}
		switch kind % 4 {
		case 1:
			q.Set(shared.QueryClientID, resume)
		case 2:
			q.Set(shared.QueryClientID, left.id())
		case 3:
			q.Set(shared.QueryClientID, uuid.NewString())
		}
		h := http.Header{}
		if kind&4 != 0 && validHeaderValue(lastID) {
			h.Set(shared.HeaderLastEventID, lastID)
		} else {
			q.Set(shared.QueryLastEventID, lastID)
		}
		what := fmt.Sprintf("Last-Event-ID %q, clientId %q", lastID, q.Get(shared.QueryClientID))
		id, ok := fuzzStream(t, ts, q, h, &marker, what)
		if !ok {
			return
		}
		// Come back without an id: whatever the first presented, the
		// session is not muted.
		_, ok = fuzzStream(t, ts, url.Values{shared.QueryClientID: {id}}, nil, &marker, what+", then resumed without an id")
		require.True(t, ok, "the resumption was refused")
	})
}

// fuzzStream opens a stream, checks the answer is a JSON 4xx (ok false)
// or a stream that starts with connected, and that an event sent once it
// is connected arrives. It returns the stream's client id.
func fuzzStream(t *testing.T, ts *testServer, q url.Values, h http.Header, marker *int, what string) (string, bool) {
	t.Helper()
	resp, cancel := ts.dial(t, q, h)
	defer cancel()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
		require.NoError(t, err)
		require.True(t, resp.StatusCode >= 400 && resp.StatusCode < 500, "%s: status %d: %s", what, resp.StatusCode, body)
		var e shared.ErrorResponse
		require.NoError(t, json.Unmarshal(body, &e), "%s: status %d: %s", what, resp.StatusCode, body)
		require.NotEmpty(t, e.Error)
		return "", false
	}
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan shared.Event, 256)
	go func() {
		defer close(events)
		d := shared.NewDecoder(resp.Body, 0)
		for {
			ev, err := d.Next()
			if err != nil {
				return
			}
			events <- ev
		}
	}()
	defer func() {
		cancel()
		resp.Body.Close()
		for range events {
		}
	}()
	next := func(waiting string) shared.Event {
		t.Helper()
		select {
		case ev, ok := <-events:
			require.True(t, ok, "%s: the stream ended before %s", what, waiting)
			return ev
		case <-time.After(2 * time.Second): // events come in a millisecond here
			t.Fatalf("%s: nothing within 2s while waiting for %s", what, waiting)
		}
		return shared.Event{}
	}
	ev := next("the connected event")
	require.Equal(t, shared.EventConnected, ev.Name, "%s: first event", what)
	var cd shared.Connected
	require.NoError(t, json.Unmarshal(ev.Data, &cd))
	ts.remember(cd)

	*marker++
	want := fmt.Sprintf(`{"channel":"fz","payload":"marker %d"}`, *marker)
	require.NoError(t, ts.hub.Send("fz", fmt.Sprint("marker ", *marker)))
	for {
		ev := next("the event sent after connecting")
		if ev.Name == shared.EventMessage && string(ev.Data) == want {
			return cd.ClientID, true
		}
	}
}
