package redisbroker

import (
	"testing"

	"github.com/ssevent/ssevent/server"
)

// TestPackMessageKinds: every kind survives the log's encoding, and an
// entry written before kinds existed reads as KindJSON.
func TestPackMessageKinds(t *testing.T) {
	for _, kind := range []server.MessageKind{server.KindJSON, server.KindHTML, server.KindElements, server.KindSignals} {
		m := server.Message{Topic: server.Topic{Kind: server.TopicChannel, Name: "news"}, Event: "", Kind: kind, Data: []byte(`"<p>x</p>"`)}
		got, ok := unpackMessage("42-0", packMessage(m))
		if !ok || got.Kind != kind || got.Topic != m.Topic || string(got.Data) != string(m.Data) || got.ID != 42 {
			t.Errorf("kind %d: got %+v, %v", kind, got, ok)
		}
	}
	old, ok := unpackMessage("7-0", "unews-client\nping\n{\"a\":1}")
	if !ok || old.Kind != server.KindJSON || old.Topic.Kind != server.TopicClient || old.Event != "ping" {
		t.Errorf("an entry of the earlier encoding: got %+v, %v", old, ok)
	}
	for _, bad := range []string{"k", "kc", "k0cnews\n\n1", "kxcnews\n\n1", "k2"} {
		if _, ok := unpackMessage("1-0", bad); ok {
			t.Errorf("%q decoded", bad)
		}
	}
}
