package redisbroker_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// BenchmarkCrossHubDelivery publishes on one hub to subscribers of
// another: an op is one Send, delivered to every subscriber's stream.
func BenchmarkCrossHubDelivery(b *testing.B) {
	for _, subs := range []int{1, 100} {
		b.Run(strconv.Itoa(subs)+"subscribers", func(b *testing.B) {
			u, prefix := redisURL(b), testPrefix(b)
			cfg := server.Config{QueueSize: 1 << 16, MaxTotalConnections: -1, HeartbeatInterval: -1}
			pub := newNode(b, "pub", u, prefix, cfg)
			sub := newNode(b, "sub", u, prefix, cfg)
			var got atomic.Int64
			done := make(chan struct{}, subs)
			target := make(chan int64, 1)
			for range subs {
				countEvents(b, sub.url+"?"+url.Values{"channels": {"bench"}}.Encode(), &got, done, target)
			}
			payload := map[string]any{"n": 1, "text": "a short message for the benchmark"}
			b.ReportAllocs()
			b.ResetTimer()
			target <- int64(b.N)
			for range b.N {
				if err := pub.hub.Send("bench", payload); err != nil {
					b.Fatal(err)
				}
			}
			for range subs {
				<-done
			}
			b.StopTimer()
			b.ReportMetric(float64(got.Load())/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// countEvents reads a stream and signals done once it got the number of
// messages sent on target.
func countEvents(b *testing.B, u string, got *atomic.Int64, done chan<- struct{}, target chan int64) {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(b, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	b.Cleanup(func() { cancel(); resp.Body.Close() })
	d := shared.NewDecoder(resp.Body, 0)
	ev, err := d.Next()
	require.NoError(b, err)
	require.Equal(b, shared.EventConnected, ev.Name)
	go func() {
		var n, want int64
		for {
			ev, err := d.Next()
			if err != nil {
				return
			}
			if ev.Name != shared.EventMessage {
				continue
			}
			got.Add(1)
			n++
			if want == 0 {
				want = <-target
				target <- want
			}
			if n == want {
				done <- struct{}{}
			}
		}
	}()
}
