package main

import "testing"

func TestField(t *testing.T) {
	line := []byte(`data: {"channel":"bench","payload":{"t":1767225600000000000,"s":42,"p":"x"}}`)
	tests := []struct {
		name string
		key  string
		want int64
	}{
		{"time", `"t":`, 1767225600000000000},
		{"sequence", `"s":`, 42},
		{"missing", `"q":`, -1},
		{"not a number", `"p":`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := field(line, []byte(tt.key)); got != tt.want {
				t.Fatalf("field(%s) = %d, want %d", tt.key, got, tt.want)
			}
		})
	}
}

func TestRecord(t *testing.T) {
	c := &client{m: 100, seen: make([]uint64, 2), maxSeq: -1, minSent: 1<<63 - 1}
	for _, ev := range []struct {
		id  uint64
		seq int
	}{
		{10, 0}, {11, 1}, {11, 1}, // a duplicate
		{13, 3}, {12, 2}, // out of order
		{14, 4},
	} {
		c.record(ev.id, ev.seq, 1000, 5000)
	}
	if c.got != 5 || c.dup != 1 || c.ooo != 1 {
		t.Fatalf("got %d, dup %d, ooo %d; want 5, 1, 1", c.got, c.dup, c.ooo)
	}
	if len(c.lats) != 5 || c.lats[0] != 4 {
		t.Fatalf("latencies %v, want five of 4 µs", c.lats)
	}
}
