package ssevent_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
)

// TestDialectEncodedOnce: a message fanned out to many streams of each
// dialect is encoded once per dialect: every stream of a dialect queues
// the same frame, with that dialect's exact bytes.
func TestDialectEncodedOnce(t *testing.T) {
	h := ssevent.New(ssevent.Config{HeartbeatInterval: -1, MaxTotalConnections: -1})
	t.Cleanup(func() { _ = h.Close(t.Context()) })
	formats := []string{ssevent.FormatJSON, ssevent.FormatHTMX2, ssevent.FormatHTMX4, ssevent.FormatDatastar}
	groups := make([]*ssevent.BenchStreams, len(formats))
	for i, f := range formats {
		bs, err := ssevent.AttachStreams(h, "news", 50)
		require.NoError(t, err)
		t.Cleanup(bs.Close)
		bs.SetDialect(f)
		groups[i] = bs
	}
	// Publishers race on the first encodings of their own messages.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			assert.NoError(t, h.SendHTML(t.Context(), "news", "<li>"+strconv.Itoa(i)+"</li>"))
		})
	}
	wg.Wait()
	require.NoError(t, h.SendHTML(t.Context(), "news", "<li>a</li>\n<li>b</li>"))
	id := h.LastEventID()
	want := map[string]string{
		ssevent.FormatJSON:     "id: " + id + "\nevent: message\ndata: {\"channel\":\"news\",\"payload\":\"<li>a</li>\\n<li>b</li>\"}\n\n",
		ssevent.FormatHTMX2:    "event: news\nid: " + id + "\ndata: <li>a</li>\ndata: <li>b</li>\n\n",
		ssevent.FormatHTMX4:    "id: " + id + "\ndata: <li>a</li>\ndata: <li>b</li>\n\n",
		ssevent.FormatDatastar: "event: datastar-patch-elements\nid: " + id + "\ndata: elements <li>a</li>\ndata: elements <li>b</li>\n\n\n",
	}
	frames := map[any]string{}
	for i, bs := range groups {
		first, b := bs.Last(0)
		require.NotNil(t, first)
		if formats[i] == ssevent.FormatJSON {
			assert.Contains(t, string(b), "\"payload\":\"<li>a</li>\\n<li>b</li>\"")
		} else {
			assert.Equal(t, want[formats[i]], string(b), formats[i])
		}
		for j := range 50 {
			f, _ := bs.Last(j)
			assert.True(t, f == first, "%s stream %d queued its own copy", formats[i], j)
		}
		frames[first] = formats[i]
	}
	assert.Len(t, frames, len(formats), "one frame per dialect")
}

// BenchmarkSendDialects is one SendHTML fanned out to n streams of one
// dialect: the dialect's encoding is made once, whatever n.
func BenchmarkSendDialects(b *testing.B) { benchSendDialects(b, false) }

// BenchmarkSendDialectsFed is BenchmarkSendDialects to fed streams
// (feed.go): the frame in the streams' form made once, one append.
func BenchmarkSendDialectsFed(b *testing.B) { benchSendDialects(b, true) }

func benchSendDialects(b *testing.B, fed bool) {
	html := "<li>" + strings.Repeat("x", 180) + "</li>"
	for _, format := range []string{ssevent.FormatJSON, ssevent.FormatHTMX2, ssevent.FormatDatastar} {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("format=%s/streams=%d", format, n), func(b *testing.B) {
				h := benchHub(b, ssevent.Config{QueueSize: 1 << 20, QueueMaxBytes: 1 << 30})
				bs, err := ssevent.AttachStreams(h, "bench", n)
				if err != nil {
					b.Fatal(err)
				}
				defer bs.Close()
				bs.SetDialect(format)
				if fed {
					bs.Feed()
				}
				for range 256 {
					_ = h.SendHTML(ctx, "bench", html)
				}
				bs.Drain()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := h.SendHTML(ctx, "bench", html); err != nil {
						b.Fatal(err)
					}
					if i++; i%256 == 0 {
						b.StopTimer()
						bs.Drain()
						b.StartTimer()
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
			})
		}
	}
}
