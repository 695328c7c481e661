package hubtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// TestExhaustionConnectionStorm: far more clients than MaxTotalConnections
// arrive at once. Exactly the limit get streams, the rest 503 with
// Retry-After, the hub never holds more, and when they leave the count goes
// back to zero and the slots are free again.
func TestExhaustionConnectionStorm(t *testing.T, m Mount) {
	const limit, storm = 40, 200
	// Production timeouts: this tests the limit, and 200 connections at
	// once on a loaded machine may take longer than the short test
	// timeouts to have their headers read.
	ts := newSecServerWith(t, m, ssevent.Config{MaxTotalConnections: limit, Retry: 2 * time.Second, ResumeWindow: -1}, recommendedTimeouts)

	// Watch the count while the storm lasts.
	var peak atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			if n := int64(ts.hub.ClientCount()); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()

	for round := range 2 {
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			open     []*http.Response
			cancels  []func()
			refused  int
			problems []string
		)
		start := make(chan struct{})
		for range storm {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				resp, cancel := ts.dial(t, nil, nil)
				mu.Lock()
				defer mu.Unlock()
				switch resp.StatusCode {
				case http.StatusOK:
					open = append(open, resp)
					cancels = append(cancels, cancel)
					return
				case http.StatusServiceUnavailable:
					refused++
					if ra := resp.Header.Get("Retry-After"); ra != "2" {
						problems = append(problems, "Retry-After "+strconv.Quote(ra))
					}
					body, _ := io.ReadAll(resp.Body)
					var e shared.ErrorResponse
					if err := json.Unmarshal(body, &e); err != nil || e.Error != shared.CodeTooManyClients {
						problems = append(problems, "body "+string(body))
					}
				default:
					problems = append(problems, resp.Status)
				}
				resp.Body.Close()
				cancel()
			}()
		}
		close(start)
		wg.Wait()
		require.Empty(t, problems, "round %d", round)
		require.Len(t, open, limit, "round %d: streams opened", round)
		require.Equal(t, storm-limit, refused, "round %d: refusals", round)
		require.Equal(t, limit, ts.hub.ClientCount())

		// Every open stream is live.
		for _, resp := range open {
			ev, err := shared.NewDecoder(resp.Body, 0).Next()
			require.NoError(t, err)
			require.Equal(t, shared.EventConnected, ev.Name)
		}
		for i, resp := range open {
			resp.Body.Close()
			cancels[i]()
		}
		eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "streams to end")
	}
	close(stop)
	<-watched
	require.LessOrEqual(t, peak.Load(), int64(limit), "the hub held more streams than its limit")
	t.Logf("storm of %d against a limit of %d: peak %d streams", storm, limit, peak.Load())
}

// TestExhaustionSlowHeaders: a client that never finishes its headers is
// cut by ReadHeaderTimeout.
func TestExhaustionSlowHeaders(t *testing.T, m Mount) {
	ts := newSecServer(t, m, ssevent.Config{})
	conn, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer conn.Close()
	// The failure deadline: without a ReadHeaderTimeout on the server the
	// read below would block until then.
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitTimeout)))
	_, err = io.WriteString(conn, "GET /events HTTP/1.1\r\nHost: x\r\n")
	require.NoError(t, err)

	stop := make(chan struct{})
	trickled := make(chan int)
	go func() { // one header byte at a time, never the blank line
		n := 0
		defer func() { trickled <- n }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte{"X-Slow: a\r\n"[n%11]}); err != nil {
				return
			}
			n++
		}
	}()
	buf := make([]byte, 512)
	var got []byte
	for {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept a connection whose headers never ended")
			break
		}
	}
	close(stop)
	n := <-trickled
	t.Logf("slow headers: cut after %d trickled bytes; server said %q", n, got)
	require.NotContains(t, string(got), "200 OK")
	require.Equal(t, 0, ts.hub.ClientCount())
}

// TestExhaustionTrickledBody: a POST whose body trickles in is cut by
// ReadTimeout and changes nothing.
func TestExhaustionTrickledBody(t *testing.T, m Mount) {
	ts := newSecServer(t, m, ssevent.Config{})
	c := ts.connect(t, nil)
	body := `{"action":"subscribe","clientId":"` + c.id() + `","channels":["trickle"]}`

	conn, err := net.Dial("tcp", ts.addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitTimeout)))
	_, err = io.WriteString(conn, "POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n")
	require.NoError(t, err)

	stop := make(chan struct{})
	trickled := make(chan int)
	go func() {
		n := 0
		defer func() { trickled <- n }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n < len(body)-1 { // never the last byte
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := conn.Write([]byte{body[n]}); err != nil {
				return
			}
			n++
		}
		<-stop
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	var got []byte
	if err == nil { // the server may answer before it closes
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	} else {
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept a connection whose body trickled")
	}
	close(stop)
	n := <-trickled
	t.Logf("trickled body: cut after %d of %d bytes; server said %v %s", n, len(body), statusOf(resp), got)
	require.Less(t, n, len(body)-1, "the whole body trickled in before the server gave up")
	if resp != nil {
		require.GreaterOrEqual(t, resp.StatusCode, 400)
		require.NotContains(t, string(got), "127.0.0.1", "the error reveals addresses")
	}
	require.Empty(t, ts.hub.ClientsByChannel("trickle"))
	secMarker(t, ts.testServer, c)
}

func statusOf(resp *http.Response) string {
	if resp == nil {
		return "nothing"
	}
	return resp.Status
}

// TestExhaustionStreamOutlivesReadTimeout: the ReadTimeout that cuts slow
// requests does not end event streams, which last far longer.
func TestExhaustionStreamOutlivesReadTimeout(t *testing.T, m Mount) {
	const beats = 8
	every := secReadTimeout / 3
	ts := newSecServer(t, m, ssevent.Config{HeartbeatInterval: every})
	c, wire := ts.openChecked(t, nil)
	start := time.Now()
	for range beats {
		ev := c.nextAny()
		require.Equal(t, shared.EventHeartbeat, ev.Name)
	}
	require.Greater(t, time.Since(start), 2*secReadTimeout, "the heartbeats spanned the read timeout")
	require.NoError(t, ts.hub.Send(shared.DefaultChannel, "still here"))
	env, _ := c.message()
	require.Equal(t, `"still here"`, string(env.Payload))
	require.NoError(t, wire.err())
}

// TestExhaustionServerWriteTimeout: an http.Server WriteTimeout does not
// end streams while the hub's own per-write deadline (Config.WriteTimeout)
// is on. docs/SECURITY.md still recommends leaving it at zero.
func TestExhaustionServerWriteTimeout(t *testing.T, m Mount) {
	const serverWrite = 300 * time.Millisecond
	to := testTimeouts
	to.write = serverWrite
	ts := newSecServerWith(t, m, ssevent.Config{HeartbeatInterval: serverWrite / 3}, to)
	c, wire := ts.openChecked(t, nil)
	start := time.Now()
	for time.Since(start) < 3*serverWrite {
		ev, ok := <-c.events
		require.True(t, ok, "the stream ended after %v", time.Since(start))
		require.Equal(t, shared.EventHeartbeat, ev.Name)
	}
	require.NoError(t, ts.hub.Send(shared.DefaultChannel, 1))
	env, _ := c.message()
	require.Equal(t, "1", string(env.Payload))
	require.NoError(t, wire.err())
}

// TestExhaustionSubscribeChurnMemory: thousands of subscribe/unsubscribe
// requests for one client, each on fresh channel names, leave the heap
// where it was.
func TestExhaustionSubscribeChurnMemory(t *testing.T, m Mount) {
	ts := newSecServer(t, m, ssevent.Config{MaxChannelsPerClient: 8})
	c := ts.connect(t, url.Values{"channels": {"keep"}})
	client := &http.Client{}
	defer client.CloseIdleConnections()

	seq := 0
	churnPOST := func(n int) {
		for range n {
			chs := make([]string, 4)
			for j := range chs {
				seq++
				chs[j] = "churn-" + strconv.Itoa(seq)
			}
			for _, action := range []string{shared.ActionSubscribe, shared.ActionUnsubscribe} {
				body := `{"action":"` + action + `","clientId":"` + c.id() + `","channels":["` + strings.Join(chs, `","`) + `"]}`
				req, err := http.NewRequest(http.MethodPost, ts.url, strings.NewReader(body))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(shared.HeaderSessionKey, c.connected.SessionKey)
				resp, err := client.Do(req)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
		}
	}
	churnAPI := func(n int) {
		for range n {
			seq++
			ch := "api-" + strconv.Itoa(seq)
			require.NoError(t, ts.hub.Subscribe(c.id(), ch))
			require.NoError(t, ts.hub.Unsubscribe(c.id(), ch))
		}
	}
	churnPOST(200)
	churnAPI(5000)
	before := heapInUse()
	churnPOST(2000) // 4,000 requests, 8,000 channel names
	churnAPI(100000)
	after := heapInUse()
	t.Logf("heap after warm-up %d KiB, after 4,000 POSTs and 200,000 API calls %d KiB", before>>10, after>>10)
	require.Less(t, after, before*3/2+(1<<20), "the heap grew with subscription churn")
	chs := ts.subscribe(t, shared.ActionSubscribe, c.id(), "keep").Channels
	require.Equal(t, []string{"default", "keep"}, chs)
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
