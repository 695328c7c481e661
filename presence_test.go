package ssevent_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
)

// The presence list is made again only when what it lists changes: while
// nothing does, the hub hands out the same slice, which a broker polling
// it every PresenceSync may compare by identity instead of entry by entry.
func TestPresenceListedAgainOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	h := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	t.Cleanup(func() { _ = h.Close(ctx) })
	bs, err := ssevent.AttachStreams(h, "a", 3)
	require.NoError(t, err)
	t.Cleanup(bs.Close) // before the hub's Close, which waits for them
	ids := bs.IDs()
	slices.Sort(ids)

	ids0 := func(ps []ssevent.SessionPresence) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.ID
		}
		return out
	}
	same := func(a, b []ssevent.SessionPresence) bool { return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0] }

	byID := func(ps []ssevent.SessionPresence) []ssevent.SessionPresence {
		ps = slices.Clone(ps)
		slices.SortFunc(ps, func(a, b ssevent.SessionPresence) int { return strings.Compare(a.ID, b.ID) })
		return ps
	}
	p1 := ssevent.Presence(h)
	require.Equal(t, ids, ids0(byID(p1)))
	for _, p := range p1 {
		require.Equal(t, []string{"a", "default"}, p.Channels)
	}
	require.True(t, same(p1, ssevent.Presence(h)), "nothing changed: the same list")
	require.NoError(t, h.Send(ctx, "a", 1))
	require.True(t, same(p1, ssevent.Presence(h)), "a message changes no stream or channel")

	// A subscription changes it.
	require.NoError(t, h.Subscribe(ctx, ids[1], "b"))
	p2 := ssevent.Presence(h)
	require.False(t, same(p1, p2))
	require.Equal(t, []string{"a", "b", "default"}, byID(p2)[1].Channels)
	require.Equal(t, []string{"a", "default"}, byID(p1)[1].Channels, "a list handed out is not changed afterwards")
	require.NoError(t, h.Unsubscribe(ctx, ids[1], "b"))
	p3 := ssevent.Presence(h)
	require.False(t, same(p2, p3))
	require.Equal(t, []string{"a", "default"}, byID(p3)[1].Channels)
	require.Equal(t, &byID(p1)[0].Channels[0], &byID(p3)[0].Channels[0], "an unchanged session's channel list is shared")

	// So does a stream opening, and streams ending.
	more, err := ssevent.AttachStreams(h, "c", 1)
	require.NoError(t, err)
	t.Cleanup(more.Close)
	p4 := ssevent.Presence(h)
	require.Len(t, p4, 4)
	require.Contains(t, ids0(p4), more.IDs()[0])
	bs.Close()
	more.Close()
	require.Empty(t, ssevent.Presence(h))
}

// BenchmarkPresence is the presence list a ClusterBroker asks for every
// PresenceSync (100 ms by default), with nothing changed since the last
// call, and after one stream opened.
func BenchmarkPresence(b *testing.B) {
	for _, n := range []int{1000, 20_000} {
		h := benchHub(b, ssevent.Config{})
		bs, err := ssevent.AttachStreams(h, "a", n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("streams=%d/unchanged", n), func(b *testing.B) {
			ssevent.Presence(h)
			b.ReportAllocs()
			for b.Loop() {
				ssevent.Presence(h)
			}
		})
		b.Run(fmt.Sprintf("streams=%d/changed", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				one, err := ssevent.AttachStreams(h, "a", 1)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				ssevent.Presence(h)
				b.StopTimer()
				one.Close()
				b.StartTimer()
			}
		})
		bs.Close()
	}
}
