package ssevent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// The writers' hot paths, measured inside the package: the standard path's
// coalesced write, the detached path's chunk, taking a turn, and a replay
// from a position in the history. None of these figures is asserted; see
// docs/PERFORMANCE.md.

// benchFrame is an encoded event of about 256 bytes.
var benchFrame = encodeMessage(Message{ID: 1, Topic: Topic{Kind: TopicChannel, Name: "bench"}, Data: benchData}, "k3x9ab")

// benchData is about 200 bytes of JSON.
var benchData = json.RawMessage(`{"t":1767225600000000000,"s":12345,"p":"` + strings.Repeat("x", 150) + `"}`)

func newBenchHub(b *testing.B, cfg Config) *Hub {
	b.Helper()
	cfg.MaxTotalConnections = -1
	cfg.HeartbeatInterval = -1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h := New(cfg)
	b.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

// openBenchStream opens a stream on channel that nothing writes; it ends
// with the benchmark.
func openBenchStream(b *testing.B, h *Hub, channel string) *stream {
	b.Helper()
	st, _, _, _, err := h.open(openRequest{channels: []string{channel}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		st.kick(reasonEnded)
		h.closeStream(st)
	})
	return st
}

// discardWriter is a response writer that drops what it is given and can
// flush: the standard path's writer with the network taken out.
type discardWriter struct {
	h http.Header
	n int64
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) FlushError() error           { return nil }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }

// BenchmarkCoalescedWrite is one wake-up of a standard-path stream that
// finds k frames queued: take the queue, gather it into one write, flush
// once.
func BenchmarkCoalescedWrite(b *testing.B) {
	for _, k := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("frames=%d", k), func(b *testing.B) {
			h := newBenchHub(b, Config{})
			st := openBenchStream(b, h, "bench")
			w := &discardWriter{h: http.Header{}}
			rc := http.NewResponseController(w)
			b.ReportAllocs()
			b.SetBytes(int64(k * len(benchFrame.b)))
			for b.Loop() {
				st.mu.Lock()
				for range k {
					st.pushLocked(benchFrame)
				}
				st.mu.Unlock()
				if err := st.flush(w, rc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k), "ns/frame")
		})
	}
}

// BenchmarkFrameChunk gathers k frames into one chunk of a detached
// stream's body, what a pool writer hands to one write(2).
func BenchmarkFrameChunk(b *testing.B) {
	for _, k := range []int{1, 16, 256} {
		b.Run(fmt.Sprintf("frames=%d", k), func(b *testing.B) {
			fs := make([]*frame, k)
			for i := range fs {
				fs[i] = benchFrame
			}
			buf := make([]byte, 0, maxBatch)
			b.ReportAllocs()
			b.SetBytes(int64(k * len(benchFrame.b)))
			for i := 0; b.Loop(); i++ {
				for j := 0; j < k; {
					end, _ := batchEnd(fs, j)
					buf = frameChunk(buf[:0], fs[j:end])[:0]
					j = end
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k), "ns/frame")
		})
	}
}

// BenchmarkTurn takes a standard-path stream's turn to write and gives it
// back, with turns free: the cost at a steady low rate.
func BenchmarkTurn(b *testing.B) {
	h := newBenchHub(b, Config{})
	st := openBenchStream(b, h, "bench")
	t := &h.pool.turns
	b.ReportAllocs()
	for b.Loop() {
		if !t.acquire(st, nil, nil) {
			b.Fatal("no turn")
		}
		t.release(st)
	}
}

// BenchmarkReplay opens a stream that resumes k events back in a history
// of 10,000 and replays them: the history read a page at a time, each
// event's frame queued once.
func BenchmarkReplay(b *testing.B) {
	for _, k := range []int{100, 1000, 9000} {
		b.Run(fmt.Sprintf("events=%d", k), func(b *testing.B) {
			h := newBenchHub(b, Config{HistorySize: 10_000, QueueSize: 1 << 16, QueueMaxBytes: 1 << 30})
			live := openBenchStream(b, h, "bench") // a channel nobody holds keeps no history
			for range 10_000 {
				if err := h.Send(context.Background(), "bench", benchData); err != nil {
					b.Fatal(err)
				}
			}
			q := live.take() // the ids of the events, as they were queued
			if len(q) != 10_000 {
				b.Fatalf("%d events queued, want 10000", len(q))
			}
			from := q[len(q)-k-1].id
			b.ReportAllocs()
			for b.Loop() {
				st, _, _, after, err := h.open(openRequest{channels: []string{"bench"}, after: from})
				if err != nil || after != from {
					b.Fatalf("open: after %d, %v", after, err)
				}
				h.replays.Add(1)
				h.replay(st, after, "")
				st.mu.Lock()
				n := len(st.queue)
				st.mu.Unlock()
				if n != k {
					b.Fatalf("replayed %d events, want %d", n, k)
				}
				st.kick(reasonEnded)
				h.closeStream(st)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k), "ns/event")
		})
	}
}
