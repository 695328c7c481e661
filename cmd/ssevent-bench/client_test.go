package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"strings"
	"syscall"
	"testing"
)

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

func TestDialerSources(t *testing.T) {
	d := newDialer([]string{"127.0.0.1:1"}, "http1", nil, 3, 0, 256)
	want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	if len(d.sources) != len(want) {
		t.Fatalf("%d sources, want %d", len(d.sources), len(want))
	}
	for i, ip := range d.sources {
		if ip.String() != want[i] {
			t.Fatalf("source %d is %s, want %s", i, ip, want[i])
		}
	}
}

func TestProtocols(t *testing.T) {
	for _, tt := range []struct {
		proto      string
		http1, h2c bool
	}{{"http1", true, false}, {"h2c", true, true}} {
		srv := &http.Server{}
		conf, err := protocols(srv, tt.proto)
		if err != nil || conf != nil {
			t.Fatalf("%s: TLS config %v, error %v", tt.proto, conf, err)
		}
		if srv.Protocols.HTTP1() != tt.http1 || srv.Protocols.UnencryptedHTTP2() != tt.h2c {
			t.Fatalf("%s: protocols %v", tt.proto, srv.Protocols)
		}
	}
	if _, err := protocols(&http.Server{}, "spdy"); err == nil {
		t.Fatal("an unknown protocol was accepted")
	}
	certPEM, keyPEM, err := selfSigned()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(certEnv, string(certPEM))
	t.Setenv(keyEnv, string(keyPEM))
	srv := &http.Server{}
	conf, err := protocols(srv, "h2")
	if err != nil || conf == nil || len(conf.Certificates) != 1 || !srv.Protocols.HTTP2() || conf.NextProtos[0] != "h2" {
		t.Fatalf("h2: %v, %v", conf, err)
	}
}

func TestEndKind(t *testing.T) {
	cut := func() error { // a chunked body whose connection closed mid-chunk
		_, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader("5\r\nab")))
		return err
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"body ended", io.EOF, "eof"},
		{"cut mid-chunk", cut(), "unexpected_eof"},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "reset"},
		{"deadline", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, "timeout"},
		{"other", errors.New("malformed chunked encoding"), "malformed chunked encoding"},
		{"HTTP/2 reset", errors.New("stream error: stream ID 1001; INTERNAL_ERROR; received from peer"), "h2 stream reset: INTERNAL_ERROR; received from peer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := endKind(tt.err); got != tt.want {
				t.Fatalf("endKind(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestSpanAndKinds(t *testing.T) {
	var s *span
	if s.String() != "-" {
		t.Fatalf("empty span %q", s.String())
	}
	for _, ns := range []int64{3e9, 1e9, 2.5e9} {
		s = s.add(ns)
	}
	if s.Min != 1 || s.Max != 3 || s.String() != "1.0–3.0" {
		t.Fatalf("span %+v %q, want 1–3", *s, s.String())
	}
	if got := kinds(map[string]uint64{"write_failed": 7, "client_gone": 2}); got != "client_gone 2, write_failed 7" {
		t.Fatalf("kinds = %q", got)
	}
}
