package redisbroker_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
)

// startBroker returns a started broker of a prefix of its own, with only
// the history settings of a hub.
func startBroker(t testing.TB, redisURL string, opts server.BrokerOptions) *redisbroker.Broker {
	t.Helper()
	b, err := redisbroker.FromURL(redisURL, redisbroker.Options{Prefix: testPrefix(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Start(opts, func(server.Message) {}))
	return b
}

func publish(t testing.TB, b *redisbroker.Broker, topic server.Topic, data string) uint64 {
	t.Helper()
	id, err := b.Publish(context.Background(), server.Message{Topic: topic, Data: []byte(data)})
	require.NoError(t, err)
	return id
}

func ids(msgs []server.Message) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

func TestHistoryLimit(t *testing.T) {
	b := startBroker(t, redisURL(t), server.BrokerOptions{HistorySize: 100, HistoryTTL: time.Hour})
	news := server.Topic{Kind: server.TopicChannel, Name: "news"}
	sport := server.Topic{Kind: server.TopicChannel, Name: "sport"}
	all := server.Topic{Kind: server.TopicAll}
	topics := []server.Topic{news, sport, all}
	var sent []uint64
	var sentNews []uint64
	for i := range 12 {
		topic := topics[i%3]
		id := publish(t, b, topic, strconv.Itoa(i))
		sent = append(sent, id)
		if topic == news {
			sentNews = append(sentNews, id)
		}
	}
	ctx := context.Background()

	for _, tc := range []struct {
		name   string
		topics []server.Topic
		after  uint64
		limit  int
		want   []uint64
	}{
		{"first ones merged from the topics", topics, sent[0], 5, sent[1:6]},
		{"no limit", topics, sent[0], 0, sent[1:]},
		{"negative limit", topics, sent[0], -1, sent[1:]},
		{"limit above what is held", topics, sent[0], 100, sent[1:]},
		{"from the middle", topics, sent[5], 2, sent[6:8]},
		{"one topic", []server.Topic{news}, sent[0], 2, sentNews[1:3]},
		{"two topics", []server.Topic{sport, all}, sent[0], 3, []uint64{sent[1], sent[2], sent[4]}},
		{"nothing after", topics, sent[11], 5, []uint64{}},
		{"a topic without history", []server.Topic{{Kind: server.TopicChannel, Name: "none"}, news}, sent[0], 1, sentNews[1:2]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs, gap, err := b.History(ctx, tc.topics, tc.after, tc.limit)
			require.NoError(t, err)
			require.False(t, gap)
			require.Equal(t, tc.want, ids(msgs))
			for _, m := range msgs {
				require.Equal(t, strconv.Itoa(slices.Index(sent, m.ID)), string(m.Data))
			}
		})
	}
}

// TestHistoryLimitGap: when the history dropped messages after the id, the
// gap is told whatever the limit, and the limit counts from the first
// message held.
func TestHistoryLimitGap(t *testing.T) {
	b := startBroker(t, redisURL(t), server.BrokerOptions{HistorySize: 3, HistoryTTL: time.Hour})
	news := server.Topic{Kind: server.TopicChannel, Name: "news"}
	var sent []uint64
	for i := range 6 {
		sent = append(sent, publish(t, b, news, strconv.Itoa(i)))
	}
	ctx := context.Background()
	topics := []server.Topic{news}

	msgs, gap, err := b.History(ctx, topics, sent[0], 2)
	require.NoError(t, err)
	require.True(t, gap, "sent[1] and sent[2] are no longer held")
	require.Equal(t, sent[3:5], ids(msgs))

	// Right before the first message held: nothing is missing.
	msgs, gap, err = b.History(ctx, topics, sent[2], 1)
	require.NoError(t, err)
	require.False(t, gap)
	require.Equal(t, sent[3:4], ids(msgs))

	// An id above any given is a gap too.
	_, gap, err = b.History(ctx, topics, sent[5]+1_000_000_000, 1)
	require.NoError(t, err)
	require.True(t, gap)
}

// BenchmarkHistory reads the first 256 messages after the oldest of a
// 10,000-message history of 1 KiB messages, and, for comparison, all of
// them.
func BenchmarkHistory(b *testing.B) {
	br := startBroker(b, redisURL(b), server.BrokerOptions{HistorySize: 10000, HistoryTTL: time.Hour})
	news := server.Topic{Kind: server.TopicChannel, Name: "news"}
	data := make([]byte, 1024)
	for i := range data {
		data[i] = 'x'
	}
	first := publish(b, br, news, string(data))
	for range 9999 {
		publish(b, br, news, string(data))
	}
	for _, limit := range []int{256, 0} {
		b.Run("limit="+strconv.Itoa(limit), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := br.History(context.Background(), []server.Topic{news}, first, limit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
