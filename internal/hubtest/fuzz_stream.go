package hubtest

import (
	"encoding/json"
	"log/slog"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// FuzzStreamRoundTrip publishes any channel name, event name and payload
// through a real hub and reads them back from a real stream: what the API
// accepts arrives identical (the payload as json.Marshal encodes it), what
// it refuses never reaches the stream, each event has a larger id than the
// last, and nothing else is written before a marker that follows.
func FuzzStreamRoundTrip(f *testing.F, m Mount) {
	f.Add("news", "update", "hello", []byte(`{"a":1}`))
	f.Add("default", "", "multi\nline\r\npayload\r", []byte("[1,\n2]"))
	f.Add(`q"uote\`, "message", "\x00\u2028\u2029", []byte(`"<&>"`))
	f.Add("a\nb", "a\nevent: x", "x", []byte("not json"))
	f.Add("a\rb", "x\r", "\xff\xfe", []byte(" null "))
	f.Add("", "connected", "", []byte(""))
	f.Add("é 中 😀", "heartbeat", "é", []byte(`{"k":"\u2028"}`))
	f.Add("a,b", "ünïcode name", "payload", []byte(`9999999999999999999999`))
	f.Add("x", "x\x00", "", []byte(`{"a":{"b":[true,false,null]}}`))
	const limit = 2048
	ts := newSecServer(f, m, ssevent.Config{
		MaxPayloadSize:   limit,
		DisableHeartbeat: true,
		Timeout:          -1,
		Logger:           slog.New(slog.DiscardHandler),
	})
	c, wire := ts.openChecked(f, nil)
	id := c.id()
	var lastID uint64

	// next reads the next event and checks that its id grows.
	next := func(t *testing.T) shared.Event {
		t.Helper()
		ev := c.nextT(t)
		n, err := seq(ev.ID)
		require.NoError(t, err, "event %s has id %q", ev.Name, ev.ID)
		require.Greater(t, n, lastID, "event ids must grow")
		lastID = n
		return ev
	}

	f.Fuzz(func(t *testing.T, channel, event, payload string, raw []byte) {
		want, err := json.Marshal(payload)
		require.NoError(t, err)
		fits := len(want) <= limit

		// Send to a channel.
		err = ts.hub.Subscribe(id, channel)
		if shared.ValidChannel(channel) != nil {
			require.ErrorIs(t, err, ssevent.ErrInvalidChannel)
			require.ErrorIs(t, ts.hub.Send(channel, payload), ssevent.ErrInvalidChannel)
		} else {
			require.NoError(t, err)
			err = ts.hub.Send(channel, payload)
			if !fits {
				require.ErrorIs(t, err, ssevent.ErrPayloadTooLarge)
			} else {
				require.NoError(t, err)
				ev := next(t)
				require.Equal(t, shared.EventMessage, ev.Name)
				var env shared.Envelope
				require.NoError(t, strictJSON(ev.Data, &env))
				require.Equal(t, channel, env.Channel)
				require.Equal(t, string(want), string(env.Payload))
				if utf8.ValidString(payload) {
					var back string
					require.NoError(t, json.Unmarshal(env.Payload, &back))
					require.Equal(t, payload, back)
				}
			}
			if channel != shared.DefaultChannel {
				require.NoError(t, ts.hub.Unsubscribe(id, channel))
			}
		}

		// SendTo with an event name.
		err = ts.hub.SendTo(id, payload, event)
		switch {
		case event != "" && event != shared.EventMessage && shared.ValidEventName(event) != nil:
			require.ErrorIs(t, err, ssevent.ErrInvalidEvent)
			require.ErrorIs(t, ts.hub.Broadcast(payload, event), ssevent.ErrInvalidEvent)
		case !fits:
			require.ErrorIs(t, err, ssevent.ErrPayloadTooLarge)
		case event == "" || event == shared.EventMessage:
			require.NoError(t, err)
			ev := next(t)
			require.Equal(t, shared.EventMessage, ev.Name)
			var env shared.Envelope
			require.NoError(t, strictJSON(ev.Data, &env))
			require.Equal(t, "", env.Channel)
			require.Equal(t, string(want), string(env.Payload))
		default:
			require.NoError(t, err)
			ev := next(t)
			require.Equal(t, event, ev.Name)
			require.Equal(t, string(want), string(ev.Data))
		}

		// Broadcast raw JSON.
		rawWant, marshalErr := json.Marshal(json.RawMessage(raw))
		err = ts.hub.Broadcast(json.RawMessage(raw), "raw")
		switch {
		case marshalErr != nil:
			require.Error(t, err)
		case len(rawWant) > limit:
			require.ErrorIs(t, err, ssevent.ErrPayloadTooLarge)
		default:
			require.NoError(t, err)
			ev := next(t)
			require.Equal(t, "raw", ev.Name)
			require.Equal(t, string(rawWant), string(ev.Data))
		}

		secMarker(t, ts.testServer, c)
		require.NoError(t, wire.err())
	})
}
