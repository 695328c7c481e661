package shared_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/shared"
)

// The server's unchecked encoders write exactly what AppendEvent writes
// for the same event, and the envelope decodes to what was sent.
func TestAppendMessageAndJSONEvent(t *testing.T) {
	tests := []struct {
		name    string
		id      shared.EventID
		channel string // "" for a message to one client or all
		event   string // "" for a message event
		payload string
	}{
		{name: "channel", id: shared.EventID{Epoch: "k3x9ab", Seq: 42}, channel: "news", payload: `{"a":1}`},
		{name: "quote and backslash", id: shared.EventID{Epoch: "e", Seq: 1}, channel: `we"ird\name`, payload: `"x"`},
		{name: "unicode channel", id: shared.EventID{Seq: 7}, channel: "nachrichten-ü", payload: `[1,2]`},
		{name: "to one client", id: shared.EventID{Epoch: "z", Seq: 9}, payload: `null`},
		{name: "custom event", id: shared.EventID{Epoch: "z", Seq: 10}, event: "price", payload: `{"p":3.5}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, shared.ValidChannel(tt.channel+"x"))
			var got []byte
			want := &shared.Event{ID: tt.id.String(), Name: tt.event, Data: []byte(tt.payload)}
			if tt.event == "" {
				ch := []byte(`""`)
				if tt.channel != "" {
					ch = shared.AppendChannelJSON(nil, tt.channel)
				}
				got = shared.AppendMessageEvent(nil, tt.id, ch, []byte(tt.payload))
				env, err := json.Marshal(shared.Envelope{Channel: tt.channel, Payload: shared.RawMessage(tt.payload)})
				require.NoError(t, err)
				want.Name, want.Data = shared.EventMessage, env
				var back shared.Envelope
				require.NoError(t, json.Unmarshal(shared.AppendEnvelope(nil, ch, []byte(tt.payload)), &back))
				require.Equal(t, tt.channel, back.Channel)
			} else {
				got = shared.AppendJSONEvent(nil, tt.id, tt.event, []byte(tt.payload))
			}
			exp, err := shared.AppendEvent(nil, want)
			require.NoError(t, err)
			require.Equal(t, string(exp), string(got))
		})
	}
}
