package redisbroker

import (
	"fmt"
	"testing"
	"time"
)

// TestRefreshBuckets: over any buckets consecutive slots, every bucket is
// due once, however the stores fall on them; and a store after as many
// slots, or more, refreshes every bucket.
func TestRefreshBuckets(t *testing.T) {
	const buckets = 7
	for _, steps := range [][]int64{{1}, {2}, {1, 3}, {3, 2, 2}, {6}, {7}, {20}} {
		t.Run(fmt.Sprint(steps), func(t *testing.T) {
			p := &presence{buckets: buckets, slot: 1000}
			count := make([]int, buckets)
			start := p.slot
			for i := 0; p.slot < start+buckets; i++ {
				next := p.slot + steps[i%len(steps)]
				due := p.due(next)
				for b := range uint64(buckets) {
					if due(b) {
						count[b]++
					}
				}
				if p.due(p.slot)(0) {
					t.Fatal("a bucket is due in the slot already refreshed")
				}
				p.slot = next
			}
			for b, n := range count {
				if n == 0 || (p.slot == start+buckets && n != 1) {
					t.Errorf("bucket %d due %d times over %d slots", b, n, p.slot-start)
				}
			}
		})
	}
	p := &presence{buckets: 1, slot: 5}
	if !p.due(6)(0) {
		t.Error("one bucket: not due in the next slot")
	}
}

// TestRecordTiming: the records' expiry is PresenceTTL + ResumeWindow and
// the spread of the refreshes, a quarter of that in whole PresenceIntervals,
// at least one.
func TestRecordTiming(t *testing.T) {
	for _, c := range []struct {
		interval, ttl, resume, want time.Duration
		buckets                     uint64
	}{
		{time.Second, 3 * time.Second, 2 * time.Minute, 153 * time.Second, 30},
		{time.Second, 3 * time.Second, 0, 4 * time.Second, 1},
		{time.Second, 3 * time.Second, -time.Second, 4 * time.Second, 1},
		{200 * time.Millisecond, 600 * time.Millisecond, 1800 * time.Millisecond, 3 * time.Second, 3},
	} {
		ttl, buckets := recordTiming(Options{PresenceInterval: c.interval, PresenceTTL: c.ttl}, c.resume)
		if ttl != c.want || buckets != c.buckets {
			t.Errorf("%+v: got %v, %d buckets", c, ttl, buckets)
		}
	}
}

func TestFramedEqual(t *testing.T) {
	for _, chs := range [][]string{nil, {}, {"a"}, {"a", "b"}, {"default", "news", "sport"}, {""}} {
		framed := frameChannels(chs)
		if !framedEqual(framed, chs) {
			t.Errorf("%q against %q: not equal", framed, chs)
		}
		for _, other := range [][]string{nil, {"a"}, {"ab"}, {"a", "b"}, {"a", "b", "c"}, {"b"}} {
			if want := frameChannels(other) == framed; framedEqual(framed, other) != want {
				t.Errorf("%q against %q: want %v", framed, other, want)
			}
		}
	}
	if framedEqual("", []string{"a"}) || framedEqual("a\n", []string{"a"}) {
		t.Error("a string not framed is equal")
	}
}
