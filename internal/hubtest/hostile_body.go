package hubtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/rawclient"
	"github.com/ssevent/ssevent/shared"
)

// TestHostileGetWithBody: a GET that carries a body (a chunked one that
// never ends, or a Content-Length) is refused with 400 bad_request before
// any stream opens.
func TestHostileGetWithBody(t *testing.T, m Mount) {
	ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, Logger: discardLogger()})
	chunk := appendChunk(nil, bytes.Repeat([]byte("x"), 1024))
	for _, tc := range []struct {
		name   string
		header http.Header
		body   func(w io.Writer, stop <-chan struct{}) // sends the body
	}{
		{"endless chunked body", http.Header{"Transfer-Encoding": {"chunked"}}, func(w io.Writer, stop <-chan struct{}) {
			for range 4096 { // at most 4 MiB
				select {
				case <-stop:
					return
				default:
				}
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}},
		{"content length, body sent", http.Header{"Content-Length": {"10"}}, func(w io.Writer, _ <-chan struct{}) {
			_, _ = io.WriteString(w, "0123456789")
		}},
		{"content length, body never sent", http.Header{"Content-Length": {"1000000"}}, func(io.Writer, <-chan struct{}) {}},
		{"content length, channels asked", http.Header{"Content-Length": {"3"}}, func(w io.Writer, _ <-chan struct{}) {
			_, _ = io.WriteString(w, "abc")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rawclient.Dial(ts.addr(), rawclient.Options{})
			require.NoError(t, err)
			defer c.Close()
			require.NoError(t, c.SetDeadline(time.Now().Add(waitTimeout)))
			require.NoError(t, c.Get("/events?channels=body", tc.header))
			stop := make(chan struct{})
			sent := make(chan struct{})
			go func() {
				defer close(sent)
				tc.body(c, stop)
			}()
			resp, err := c.ReadHead()
			close(stop)
			require.NoError(t, err, "head %q", resp.Raw)
			if resp.StatusCode != http.StatusBadRequest {
				// A stream: show its start.
				_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			c.Close()
			<-sent
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "answer %q %.200q", resp.Raw, body)
			var e shared.ErrorResponse
			require.NoError(t, json.Unmarshal(body, &e), "body %q", body)
			assert.Equal(t, shared.CodeBadRequest, e.Error)
			assert.NotEmpty(t, e.Message)
			assert.Equal(t, 0, ts.hub.ClientCount())
			assert.Empty(t, ts.hub.ClientsByChannel("body"))
		})
	}
}

// appendChunk appends p as one chunk of a chunked body.
func appendChunk(b, p []byte) []byte {
	b = strconv.AppendUint(b, uint64(len(p)), 16)
	b = append(b, "\r\n"...)
	b = append(b, p...)
	return append(b, "\r\n"...)
}

// TestHostileTakeoverRaceHeadFirst: many resumptions of one session race,
// each taking over the stream the one before opened while it is still
// catching up, under live traffic. However a stream is ended (taken over
// while it writes its head, kicked before it is detached), every answer
// starts with the status line and the head: never with a body chunk.
func TestHostileTakeoverRaceHeadFirst(t *testing.T, m Mount) {
	const (
		workers = 20
		held    = 2000
	)
	// The race is narrow: it takes thousands of tries to meet it.
	attempts := 3000
	if raceEnabled {
		attempts = 1000
	}
	ts := newTestServer(t, m, ssevent.Config{HeartbeatInterval: -1, HistorySize: held, Logger: discardLogger()})
	c := ts.connect(t, url.Values{"channels": {"r"}})
	from, id, key := c.position, c.id(), c.connected.SessionKey
	c.close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the stream to end")
	for i := range held {
		require.NoError(t, ts.hub.Send("r", numbered(i, 200)))
	}
	stop := make(chan struct{})
	published := make(chan int)
	go func() {
		n := 0
		defer func() { published <- n }()
		for n < 50000 {
			select {
			case <-stop:
				return
			default:
			}
			if ts.hub.Send("r", numbered(held+n, 200)) != nil {
				return
			}
			n++
			if n%10 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()

	q := url.Values{"clientId": {id}, "channels": {"r"}}
	target := "/events?" + q.Encode()
	var (
		mu        sync.Mutex
		bad       []string
		empty     int
		statuses  = map[int]int{}
		next      = make(chan int, attempts)
		wg        sync.WaitGroup
		otherErrs []string
	)
	for i := range attempts {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				// Some replay from the start of the history,
				// the others from where the session was.
				last := ""
				if i%4 == 0 {
					last = from
				}
				outcome, err := resumeOnce(ts.addr(), target, key, last)
				mu.Lock()
				switch {
				case errors.Is(err, rawclient.ErrNotHTTP):
					bad = append(bad, fmt.Sprintf("attempt %d: %.80q", i, outcome))
				case err != nil && len(outcome) == 0:
					empty++
				case err != nil:
					otherErrs = append(otherErrs, fmt.Sprintf("attempt %d: %v after %.80q", i, err, outcome))
				default:
					code, _ := strconv.Atoi(string(outcome))
					statuses[code]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	n := <-published
	t.Logf("%d resumptions of one session by %d clients at once, %d events published meanwhile: statuses %v, %d closed before any byte, %d started with a body byte, %d other errors",
		attempts, workers, n, statuses, empty, len(bad), len(otherErrs))
	if len(bad) > 3 {
		bad = bad[:3]
	}
	assert.Empty(t, bad, "answers that did not start with a status line (the first three)")
	assert.Empty(t, otherErrs)
	assert.Equal(t, attempts, statuses[http.StatusOK]+empty, "every answer with a head is 200")
}

// resumeOnce resumes a session with its key over a raw connection (with
// lastEventID when not empty), reads the answer's head and some of the
// stream, and closes. It returns the status code (as text), or with an
// error what it read.
func resumeOnce(addr, target, key, lastEventID string) ([]byte, error) {
	c, err := rawclient.Dial(addr, rawclient.Options{RecvBuffer: 16 << 10})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	h := http.Header{shared.HeaderSessionKey: {key}}
	if lastEventID != "" {
		h = lastID(h, lastEventID)
	}
	if err := c.Get(target, h); err != nil {
		return nil, err
	}
	resp, err := c.ReadHead()
	if err != nil {
		return resp.Raw, err
	}
	// Read a little of the stream, which is taken over soon.
	_, _ = io.CopyN(io.Discard, resp.Body, 512)
	return []byte(strconv.Itoa(resp.StatusCode)), nil
}
