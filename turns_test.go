package ssevent

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openRaw opens an event stream on channel over a raw connection and reads
// the response head and the connected event.
func openRaw(t *testing.T, addr, channel string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096) // a client that stops reading fills up soon
	}
	if _, err := io.WriteString(conn, "GET /events?channels="+channel+" HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the %s stream's start: %v", channel, err)
		}
		if strings.HasPrefix(line, "event: connected") {
			return conn, br
		}
	}
}

// TestTurnsStalledClients: on the standard path, more clients than there
// are turns stop reading in the middle of a burst, so that their writes
// block; a client that reads still gets its events, from the next turn,
// instead of waiting for the stalled writes' deadline.
func TestTurnsStalledClients(t *testing.T) {
	h := New(Config{
		DisableTakeover:     true, // the standard path for every stream
		WriteTimeout:        2 * time.Minute,
		QueueSize:           1 << 16,
		QueueMaxBytes:       64 << 20,
		HeartbeatInterval:   -1,
		MaxTotalConnections: -1,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	srv := httptest.NewServer(h)
	addr := srv.Listener.Addr().String()

	stalled := runtime.GOMAXPROCS(0) + 1
	var conns []net.Conn
	for range stalled {
		c, _ := openRaw(t, addr, "stall")
		conns = append(conns, c)
	}
	live, br := openRaw(t, addr, "live")
	defer func() {
		// The stalled clients leave first, so that their writes fail
		// at once and the hub and the server close without waiting.
		for _, c := range conns {
			c.Close()
		}
		live.Close()
		_ = h.Close(context.Background())
		srv.Close()
	}()

	// 16 MiB to each stalled client: more than loopback's socket
	// buffers take, so each of their writes blocks in the end.
	big := json.RawMessage(`"` + strings.Repeat("x", 32<<10) + `"`)
	for range 512 {
		if err := h.Send(context.Background(), "stall", big); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until every stalled stream has had a write pending for a
	// while: their writes are blocked, holding (or having held) turns.
	deadline := time.Now().Add(30 * time.Second)
	for {
		blocked := 0
		h.mu.RLock()
		for st := range h.attached {
			if st.stalled(time.Now(), 50*time.Millisecond) {
				blocked++
			}
		}
		h.mu.RUnlock()
		if blocked >= stalled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d streams blocked in a write after 30 s", blocked, stalled)
		}
		time.Sleep(10 * time.Millisecond)
	}

	if err := h.Send(context.Background(), "live", map[string]string{"hello": "live"}); err != nil {
		t.Fatal(err)
	}
	// The stalled writes hold their turns for up to WriteTimeout (2
	// minutes); the event must not wait for that.
	_ = live.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("the reading client got no event while %d others were stalled: %v", stalled, err)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"hello":"live"`) {
			return
		}
	}
}
