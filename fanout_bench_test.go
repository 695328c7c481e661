package ssevent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strings"
	"testing"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// benchPayload is about 200 bytes of JSON, so that an encoded event is
// about 256 bytes on the wire.
var benchPayload = json.RawMessage(`{"t":1767225600000000000,"s":12345,"p":"` + strings.Repeat("x", 150) + `"}`)

// ctx is the context of the benchmarks' calls.
var ctx = context.Background()

func benchHub(b *testing.B, cfg ssevent.Config) *ssevent.Hub {
	b.Helper()
	cfg.MaxTotalConnections = -1
	cfg.HeartbeatInterval = -1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := ssevent.New(cfg)
	b.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// BenchmarkEncodeEvent is the shared encoder.
func BenchmarkEncodeEvent(b *testing.B) {
	ev := &shared.Event{ID: "1767225600000001", Name: "update", Data: benchPayload}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf, _ = shared.AppendEvent(buf[:0], ev)
	}
}

// BenchmarkEncodeMessage is the hub's encoder, run once per Send.
func BenchmarkEncodeMessage(b *testing.B) {
	m := ssevent.Message{ID: 1767225600000001, Topic: ssevent.Topic{Kind: ssevent.TopicChannel, Name: "bench"}, Data: benchPayload}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		_ = ssevent.EncodeMessage(m)
	}
}

// BenchmarkSend is one Send fanned out to n subscribers: marshal, id and
// history, encode once, queue a reference on every stream. Allocations per
// Send must not grow with n.
func BenchmarkSend(b *testing.B) { benchSend(b, false) }

// BenchmarkSendFed is BenchmarkSend to fed streams (feed.go), as streams
// taken over are once live: one append to the channel's feed, whatever n.
func BenchmarkSendFed(b *testing.B) { benchSend(b, true) }

func benchSend(b *testing.B, fed bool) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			h := benchHub(b, ssevent.Config{QueueSize: 1 << 20, QueueMaxBytes: 1 << 30})
			bs, err := ssevent.AttachStreams(h, "bench", n)
			if err != nil {
				b.Fatal(err)
			}
			defer bs.Close()
			if fed {
				bs.Feed()
			}
			// Fill every queue's buffer once so that steady state is
			// measured, not the first growth.
			for range 256 {
				_ = h.Send(ctx, "bench", benchPayload)
			}
			bs.Drain()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := h.Send(ctx, "bench", benchPayload); err != nil {
					b.Fatal(err)
				}
				if i++; i%256 == 0 {
					b.StopTimer()
					bs.Drain()
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

// churn subscribes each of ids in turn to a channel and unsubscribes it,
// once per iteration.
func churn(b *testing.B, h *ssevent.Hub, ids []string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		i++
		if err := h.Subscribe(ctx, id, "churn"); err != nil {
			b.Fatal(err)
		}
		if err := h.Unsubscribe(ctx, id, "churn"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubscribeChurn subscribes a client to a channel and unsubscribes
// it, among 1,000 clients.
func BenchmarkSubscribeChurn(b *testing.B) {
	h := benchHub(b, ssevent.Config{})
	bs, err := ssevent.AttachStreams(h, "bench", 1000)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	churn(b, h, bs.IDs())
}

// BenchmarkStreamChurn opens a session with its stream and ends it, among
// 1,000 open ones.
func BenchmarkStreamChurn(b *testing.B) {
	h := benchHub(b, ssevent.Config{})
	bs, err := ssevent.AttachStreams(h, "bench", 1000)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	b.ReportAllocs()
	for b.Loop() {
		one, err := ssevent.AttachStreams(h, "bench", 1)
		if err != nil {
			b.Fatal(err)
		}
		one.Close()
	}
}

// BenchmarkPost is a POST subscribe or unsubscribe through Echo, without
// the network.
func BenchmarkPost(b *testing.B) {
	// The streams are attached without a request, so their sessions have
	// no key and no owner: an Identify that names every request alike
	// lets the POSTs use them.
	h := benchHub(b, ssevent.Config{Identify: func(*http.Request) (string, error) { return "", nil }})
	bs, err := ssevent.AttachStreams(h, "bench", 100)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	id := bs.IDs()[0]
	bodies := [2][]byte{}
	for i, action := range []string{shared.ActionSubscribe, shared.ActionUnsubscribe} {
		bodies[i], _ = json.Marshal(shared.SubscribeRequest{Action: action, ClientID: id, Channels: []string{"news", "sport"}})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(bodies[i%2]))
		i++
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkStatsDuringSend reads Stats over 10,000 streams while another
// goroutine publishes to all of them without pause: what a metrics scrape
// costs, and what the publisher waits for it.
func BenchmarkStatsDuringSend(b *testing.B) {
	h := benchHub(b, ssevent.Config{QueueSize: 1 << 20, QueueMaxBytes: 1 << 30})
	bs, err := ssevent.AttachStreams(h, "bench", 10000)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	stop, done := make(chan struct{}), make(chan struct{})
	sends := 0
	go func() {
		defer close(done)
		for ; ; sends++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = h.Send(ctx, "bench", benchPayload)
			if sends%64 == 63 {
				bs.Drain()
			}
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		if s := h.Stats(); s.Streams != 10000 {
			b.Fatalf("%d streams", s.Streams)
		}
	}
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(sends)/b.Elapsed().Seconds(), "sends/s")
}

// BenchmarkSubscribeDuringSend is BenchmarkSubscribeChurn while another
// goroutine publishes without pause to 10,000 subscribers: what a
// subscription waits for the fan-out's hold on the registry.
func BenchmarkSubscribeDuringSend(b *testing.B) {
	h := benchHub(b, ssevent.Config{QueueSize: 1 << 20, QueueMaxBytes: 1 << 30})
	bs, err := ssevent.AttachStreams(h, "bench", 10000)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = h.Send(ctx, "bench", benchPayload)
			if i%64 == 63 {
				bs.Drain()
			}
		}
	}()
	churn(b, h, bs.IDs())
	b.StopTimer()
	close(stop)
	<-done
}

// unicastClients are the numbers of clients of the unicast benchmarks.
var unicastClients = []int{1000, 10_000, 100_000}

// benchUnicast is the private-notification pattern: n clients, the i-th
// alone on channel user-i (on no channel when subscribed is false), and
// send to the first targets of them in turn. Before the timer, it sends
// once to every client, then as many times to the targets as a long-running
// hub would have: enough for the history to hold all it can (HistorySize
// per topic or HistoryMaxBytes in all, the defaults) and to evict from
// then on. The targets' queues are emptied outside the timer, every
// 512 events at most, within the default QueueSize.
func benchUnicast(b *testing.B, n, targets int, subscribed bool, send func(h *ssevent.Hub, channel, id string) error) {
	h := benchHub(b, ssevent.Config{})
	channels := make([]string, n)
	for i := range channels {
		channels[i] = fmt.Sprintf("user-%d", i)
	}
	attach := channels
	if !subscribed {
		attach = make([]string, n)
	}
	bs, err := ssevent.AttachEach(h, attach)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	ids := bs.IDs()
	step := func(i int) {
		if err := send(h, channels[i], ids[i]); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		step(i)
	}
	bs.Drain()
	period := targets * max(1, 512/targets)
	fill := min(targets*ssevent.DefaultHistorySize, int(ssevent.DefaultHistoryMaxBytes)/len(benchPayload))
	for i := range (fill/period + 1) * period {
		step(i % targets)
		if (i+1)%period == 0 {
			bs.DrainFirst(targets)
		}
	}
	// The collector's work grows with the heap it marks: start from a
	// collection, and report the live heap and the collector's CPU time
	// (the runtime's estimate, all cores) per Send.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gc := gcSeconds()
	b.ReportAllocs()
	// The timed loop is labelled, so that a CPU profile can keep it
	// alone: go tool pprof -tagfocus loop=timed.
	pprof.Do(ctx, pprof.Labels("loop", "timed"), func(context.Context) {
		i := 0
		for b.Loop() {
			step(i % targets)
			if i++; i == period {
				i = 0
				b.StopTimer()
				bs.DrainFirst(targets)
				b.StartTimer()
			}
		}
	})
	b.ReportMetric((gcSeconds()-gc)*1e9/float64(b.N), "gc-ns/op")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-MiB")
}

// gcSeconds is the runtime's estimate of the CPU time spent collecting
// garbage so far.
func gcSeconds() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}

// sendChannel is a Send to the client's own channel.
func sendChannel(h *ssevent.Hub, channel, _ string) error { return h.Send(ctx, channel, benchPayload) }

// sendClient is a SendTo the client.
func sendClient(h *ssevent.Hub, _, id string) error { return h.SendTo(ctx, id, benchPayload) }

// BenchmarkSendUnicast is a Send to each of n single-client channels in
// turn. Its cost and allocations must not grow with n.
func BenchmarkSendUnicast(b *testing.B) {
	for _, n := range unicastClients {
		b.Run(fmt.Sprintf("channels=%d", n), func(b *testing.B) {
			benchUnicast(b, n, n, true, sendChannel)
		})
	}
}

// BenchmarkSendUnicastHot is BenchmarkSendUnicast sending to only one or
// 64 of the n channels, whose state stays in the CPU caches: what is left
// is what a Send costs with n clients and channels held.
func BenchmarkSendUnicastHot(b *testing.B) {
	for _, n := range unicastClients {
		for _, targets := range []int{1, 64} {
			b.Run(fmt.Sprintf("channels=%d/targets=%d", n, targets), func(b *testing.B) {
				benchUnicast(b, n, targets, true, sendChannel)
			})
		}
	}
}

// BenchmarkSendToUnicast is a SendTo each of n clients (on no channel) in
// turn.
func BenchmarkSendToUnicast(b *testing.B) {
	for _, n := range unicastClients {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			benchUnicast(b, n, n, false, sendClient)
		})
	}
}

// BenchmarkSendToUnicastHot is BenchmarkSendToUnicast sending to only one
// of the n clients.
func BenchmarkSendToUnicastHot(b *testing.B) {
	for _, n := range unicastClients {
		b.Run(fmt.Sprintf("clients=%d/targets=1", n), func(b *testing.B) {
			benchUnicast(b, n, 1, false, sendClient)
		})
	}
}
