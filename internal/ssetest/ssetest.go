// Package ssetest reads event streams in tests: a real GET, decoded with
// the protocol's own shared.Decoder, with every wait bounded.
package ssetest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ssevent/ssevent/shared"
)

// Timeout bounds every wait for an event.
const Timeout = 15 * time.Second

// Stream is an open event stream.
type Stream struct {
	// Resp is the GET's response; its body is being read.
	Resp *http.Response
	// Events receives every event, heartbeats included, and is closed
	// when the stream ends.
	Events <-chan shared.Event
	cancel context.CancelFunc
}

// Open GETs url with header and decodes the answer's body, passed through
// wrap when wrap is not nil. It fails t unless the answer is 200. The
// stream is closed when the test ends.
func Open(t testing.TB, url string, header http.Header, wrap func(io.Reader) io.Reader) *Stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, body)
	}
	var body io.Reader = resp.Body
	if wrap != nil {
		body = wrap(body)
	}
	events := make(chan shared.Event, 1<<16)
	go func() {
		defer close(events)
		d := shared.NewDecoder(body, 0)
		for {
			ev, err := d.Next()
			if err != nil {
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return // closed with events nobody read
			}
		}
	}()
	s := &Stream{Resp: resp, Events: events, cancel: cancel}
	t.Cleanup(s.Close)
	return s
}

// Close ends the stream from the client's side.
func (s *Stream) Close() {
	s.cancel()
	s.Resp.Body.Close()
}

// Connected reads the first event, which must be "connected", and returns
// its data and its id (the stream's starting position).
func (s *Stream) Connected(t testing.TB) (shared.Connected, string) {
	t.Helper()
	ev := s.Next(t, nil)
	if ev.Name != shared.EventConnected {
		t.Fatalf("first event %q, want %q", ev.Name, shared.EventConnected)
	}
	var c shared.Connected
	if err := json.Unmarshal(ev.Data, &c); err != nil {
		t.Fatalf("connected data %s: %v", ev.Data, err)
	}
	return c, ev.ID
}

// Next returns the next event that is not a heartbeat and that skip (when
// not nil) does not pass over. It fails t when the stream ends or nothing
// comes within Timeout.
func (s *Stream) Next(t testing.TB, skip func(shared.Event) bool) shared.Event {
	t.Helper()
	timeout := time.NewTimer(Timeout)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-s.Events:
			if !ok {
				t.Fatal("stream ended while waiting for an event")
			}
			if ev.Name == shared.EventHeartbeat || (skip != nil && skip(ev)) {
				continue
			}
			return ev
		case <-timeout.C:
			t.Fatalf("no event within %v", Timeout)
		}
	}
}

// Ended waits for the server to end the stream, failing t after Timeout.
func (s *Stream) Ended(t testing.TB) {
	t.Helper()
	timeout := time.NewTimer(Timeout)
	defer timeout.Stop()
	for {
		select {
		case _, ok := <-s.Events:
			if !ok {
				return
			}
		case <-timeout.C:
			t.Fatalf("stream still open after %v", Timeout)
		}
	}
}
