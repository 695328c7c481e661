package shared_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/shared"
)

func TestValidChannel(t *testing.T) {
	for _, ok := range []string{"news", "user-42", "a b", "日本", "x:y/z", strings.Repeat("a", shared.MaxChannelLen)} {
		assert.NoError(t, shared.ValidChannel(ok), ok)
	}
	for _, bad := range []string{"", "a,b", "a\nb", "a\rb", "a\x00", "\x7f", "\xff", "a\u2028", strings.Repeat("a", shared.MaxChannelLen+1)} {
		err := shared.ValidChannel(bad)
		assert.ErrorIs(t, err, shared.ErrInvalidChannel, "%q", bad)
	}
	assert.Equal(t, "ssevent: invalid channel name: contains a comma", shared.ValidChannel("a,b").Error())
}

func TestValidEventName(t *testing.T) {
	for _, ok := range []string{"message", "alert", "user.updated"} {
		assert.NoError(t, shared.ValidEventName(ok), ok)
	}
	for _, bad := range []string{"", "connected", "heartbeat", "gap", "reconnect", "closed", "channels", "open", "error", "reconnecting", "a\nb", "a\r", strings.Repeat("e", 65)} {
		assert.ErrorIs(t, shared.ValidEventName(bad), shared.ErrInvalidEventName, "%q", bad)
	}
}

func TestParseChannels(t *testing.T) {
	got, err := shared.ParseChannels(" news, sport,,news ,x ")
	require.NoError(t, err)
	assert.Equal(t, []string{"news", "sport", "x"}, got)

	got, err = shared.ParseChannels("")
	require.NoError(t, err)
	assert.Empty(t, got)

	_, err = shared.ParseChannels("ok,bad\x01")
	assert.ErrorIs(t, err, shared.ErrInvalidChannel)

	got, err = shared.ParseChannels("\ta ,\tb")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, got, "spaces and tabs are trimmed")
	for _, bad := range []string{"a\n", "\ra", "a,b\u2028"} {
		_, err = shared.ParseChannels(bad)
		assert.ErrorIs(t, err, shared.ErrInvalidChannel, "%q: a line break is not trimmed away", bad)
	}
}

func TestParseEventID(t *testing.T) {
	for in, want := range map[string]shared.EventID{
		"":                     {},
		"0":                    {Seq: 0},
		"42":                   {Seq: 42},
		"18446744073709551615": {Seq: 1<<64 - 1},
		"k3x9-42":              {Epoch: "k3x9", Seq: 42},
		"0123456789abcdef-7":   {Epoch: "0123456789abcdef", Seq: 7},
	} {
		got, err := shared.ParseEventID(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"-1", "+1", "1.5", "x", " 1", "18446744073709551616", "000000000000000000001",
		"ab-", "-", "AB-1", "a b-1", "ab--1", "ab-+1", "0123456789abcdefg-1", "ab-1-2", "é-1"} {
		_, err := shared.ParseEventID(bad)
		assert.ErrorIs(t, err, shared.ErrInvalidEventID, bad)
	}
	assert.Equal(t, "42", shared.EventID{Seq: 42}.String())
	assert.Equal(t, "k3x9-42", shared.EventID{Epoch: "k3x9", Seq: 42}.String())
}

func TestEnvelopeJSON(t *testing.T) {
	b := shared.AppendEnvelope(nil, []byte(`"news"`), []byte(`{"a":[1,2]}`))
	var env shared.Envelope
	require.NoError(t, json.Unmarshal(b, &env))
	assert.Equal(t, "news", env.Channel)
	assert.JSONEq(t, `{"a":[1,2]}`, string(env.Payload))

	out, err := json.Marshal(shared.Envelope{Channel: "c", Payload: shared.RawMessage(`1`)})
	require.NoError(t, err)
	assert.Equal(t, `{"channel":"c","payload":1}`, string(out))

	out, err = json.Marshal(shared.Envelope{})
	require.NoError(t, err)
	assert.Equal(t, `{"channel":"","payload":null}`, string(out))
}
