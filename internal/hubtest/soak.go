package hubtest

// The soak test: package ssevent's TestSoak, which runs with `make soak`
// (go test -tags soak), without the race detector: its goroutines exceed
// the race detector's limit.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
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

const (
	soakClients   = 2000
	soakChannels  = 16
	soakRounds    = 20 // messages per channel, and broadcasts, per wave
	soakDialers   = 64 // clients connecting at once
	soakDuration  = 2 * time.Minute
	soakMinWaves  = 3
	soakResume    = time.Second
	soakHeapSlack = 16 << 20
)

// soakClient is one client of a wave: a raw connection, one reader
// goroutine, and what it received.
type soakClient struct {
	i    int
	conn net.Conn
	id   string
	key  string   // the session key, for the POST and the resume
	chs  []string // channels it was sent messages on

	// Filled by the reader.
	perChannel map[string][]int
	broadcasts []int
	private    int
	done       chan error
}

// expected is how many events c must receive in a wave.
func (c *soakClient) expected() int { return len(c.chs)*soakRounds + soakRounds + 1 }

func (c *soakClient) received() int {
	n := len(c.broadcasts) + c.private
	for _, s := range c.perChannel {
		n += len(s)
	}
	return n
}

// soakOpen opens a stream over a raw connection and reads its connected
// event.
func soakOpen(addr, query, key string) (net.Conn, *shared.Decoder, shared.Connected, error) {
	var conn shared.Connected
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, conn, err
	}
	fail := func(err error) (net.Conn, *shared.Decoder, shared.Connected, error) {
		c.Close()
		return nil, nil, conn, err
	}
	_ = c.SetDeadline(time.Now().Add(waitTimeout))
	head := "GET /events?" + query + " HTTP/1.1\r\nHost: soak\r\nAccept: text/event-stream\r\n"
	if key != "" {
		head += shared.HeaderSessionKey + ": " + key + "\r\n"
	}
	if _, err := io.WriteString(c, head+"\r\n"); err != nil {
		return fail(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return fail(fmt.Errorf("status %d: %s", resp.StatusCode, body))
	}
	d := shared.NewDecoder(resp.Body, 0)
	ev, err := d.Next()
	if err != nil {
		return fail(err)
	}
	if ev.Name != shared.EventConnected {
		return fail(fmt.Errorf("first event %q", ev.Name))
	}
	if err := json.Unmarshal(ev.Data, &conn); err != nil {
		return fail(err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, d, conn, nil
}

// read counts c's events until the wave's "done" broadcast.
func (c *soakClient) read(d *shared.Decoder) {
	for {
		ev, err := d.Next()
		if err != nil {
			c.done <- fmt.Errorf("client %d: %w", c.i, err)
			return
		}
		switch ev.Name {
		case shared.EventHeartbeat:
		case shared.EventMessage:
			var env shared.Envelope
			var seq int
			if err := json.Unmarshal(ev.Data, &env); err != nil {
				c.done <- err
				return
			}
			if err := json.Unmarshal(env.Payload, &seq); err != nil {
				c.done <- err
				return
			}
			c.perChannel[env.Channel] = append(c.perChannel[env.Channel], seq)
		case "all":
			seq, _ := strconv.Atoi(string(ev.Data))
			c.broadcasts = append(c.broadcasts, seq)
		case "private":
			if string(ev.Data) != strconv.Quote(c.id) {
				c.done <- fmt.Errorf("client %d got another's private message %s", c.i, ev.Data)
				return
			}
			c.private++
		case "done":
			c.done <- nil
			return
		default:
			c.done <- fmt.Errorf("client %d: unexpected event %q", c.i, ev.Name)
			return
		}
	}
}

// Soak: waves of 2,000 clients connect, subscribe, receive and leave,
// for soakDuration (SSEVENT_SOAK_DURATION overrides it). Every message must
// arrive where it should, exactly once and in order; at the end no stream,
// session or goroutine is left, and the heap is back near where it started.
func Soak(t *testing.T, m Mount) {
	duration := soakDuration
	if s := os.Getenv("SSEVENT_SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		require.NoError(t, err)
		duration = d
	}
	raiseFileLimit(t, 3*soakClients+1024)

	ts := newSecServerWith(t, m, ssevent.Config{
		// Sessions waiting to resume are capped at MaxTotalConnections;
		// waves come faster than they expire.
		MaxTotalConnections: 10 * soakClients,
		HeartbeatInterval:   time.Second,
		ResumeWindow:        soakResume,
		HistorySize:         64,
		Logger:              slog.New(slog.DiscardHandler),
	}, recommendedTimeouts)
	poster := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: soakDialers}}

	// One stream first: the hub starts watching the http.Server for its
	// shutdown (a goroutine for the server's life), which is no leak.
	warm, _, _, err := soakOpen(ts.addr, "", "")
	require.NoError(t, err)
	warm.Close()
	eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "the first stream to end")

	goroutines0 := runtime.NumGoroutine()
	heap0 := heapInUse()
	var peakGoroutines int
	var peakHeap uint64
	sample := func() {
		peakGoroutines = max(peakGoroutines, runtime.NumGoroutine())
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapAlloc)
	}

	var (
		allIDs             []string
		sent, got, resumed int
		start              = time.Now()
		waves              int
	)
	for waves < soakMinWaves || time.Since(start) < duration {
		clients := make([]*soakClient, soakClients)
		var wg sync.WaitGroup
		var failed atomic.Value
		sem := make(chan struct{}, soakDialers)
		for i := range clients {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c := &soakClient{i: i, perChannel: map[string][]int{}, done: make(chan error, 1)}
				first := "ch-" + strconv.Itoa(i%soakChannels)
				conn, d, cn, err := soakOpen(ts.addr, "channels="+first, "")
				if err != nil {
					failed.Store(fmt.Errorf("client %d: %w", i, err))
					return
				}
				c.conn, c.id, c.key, c.chs = conn, cn.ClientID, cn.SessionKey, []string{first}
				if i%2 == 0 { // half join a second channel by POST
					second := "ch-" + strconv.Itoa((i+5)%soakChannels)
					body := `{"action":"subscribe","clientId":"` + c.id + `","channels":["` + second + `"]}`
					req, err := http.NewRequest(http.MethodPost, ts.url, strings.NewReader(body))
					if err != nil {
						failed.Store(err)
						return
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(shared.HeaderSessionKey, c.key)
					resp, err := poster.Do(req)
					if err != nil {
						failed.Store(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						failed.Store(fmt.Errorf("POST: %s", resp.Status))
						return
					}
					c.chs = append(c.chs, second)
				}
				clients[i] = c
				go c.read(d)
			}()
		}
		wg.Wait()
		if err, _ := failed.Load().(error); err != nil {
			for _, c := range clients {
				if c != nil {
					c.conn.Close()
				}
			}
			t.Fatalf("wave %d: %v", waves, err)
		}
		require.Equal(t, soakClients, ts.hub.ClientCount())
		sample()

		// Publish: every channel and a broadcast per round, then one
		// private message per client, then "done".
		for round := range soakRounds {
			for ch := range soakChannels {
				require.NoError(t, ts.hub.Send("ch-"+strconv.Itoa(ch), round))
			}
			require.NoError(t, ts.hub.Broadcast(round, "all"))
		}
		for _, c := range clients {
			require.NoError(t, ts.hub.SendTo(c.id, c.id, "private"))
		}
		require.NoError(t, ts.hub.Broadcast(waves, "done"))
		sent += soakChannels*soakRounds + soakRounds + soakClients

		for _, c := range clients {
			select {
			case err := <-c.done:
				require.NoError(t, err)
			case <-time.After(waitTimeout):
				t.Fatalf("wave %d: client %d did not get everything (%d of %d events)", waves, c.i, c.received(), c.expected())
			}
			require.Equal(t, c.expected(), c.received(), "wave %d client %d", waves, c.i)
			for _, ch := range c.chs {
				require.Len(t, c.perChannel[ch], soakRounds, "wave %d client %d channel %s", waves, c.i, ch)
				for k, seq := range c.perChannel[ch] {
					require.Equal(t, k, seq, "wave %d client %d channel %s: out of order", waves, c.i, ch)
				}
			}
			for k, seq := range c.broadcasts {
				require.Equal(t, k, seq, "wave %d client %d: broadcasts out of order", waves, c.i)
			}
			got += c.received()
			allIDs = append(allIDs, c.id)
		}
		sample()

		// Leave: most close their connection (their session waits out the
		// resume window), every tenth resumes first and then leaves, every
		// fourth is ended by the server.
		// A client resumes right after it left, well within the resume
		// window however loaded the machine (a second of window once
		// passed while the other 1,999 clients were leaving).
		for _, c := range clients {
			switch {
			case c.i%10 == 1:
				c.conn.Close()
				conn, _, cn, err := soakOpen(ts.addr, "clientId="+c.id, c.key)
				require.NoError(t, err)
				conn.Close()
				require.True(t, cn.Resumed, "wave %d client %d did not resume", waves, c.i)
				require.Equal(t, c.id, cn.ClientID)
				resumed++
			case c.i%4 == 0:
				require.NoError(t, ts.hub.Unsubscribe(c.id))
				c.conn.Close()
			default:
				c.conn.Close()
			}
		}
		eventually(t, func() bool { return ts.hub.ClientCount() == 0 }, "every stream of the wave to end")
		waves++
	}

	// Sessions expire after the resume window; then nothing is left.
	poster.CloseIdleConnections()
	eventually(t, func() bool {
		for _, id := range allIDs {
			if !errors.Is(ts.hub.SendTo(id, "late"), ssevent.ErrUnknownClient) {
				return false
			}
		}
		return true
	}, "every session to expire")
	require.Zero(t, ts.hub.ClientCount())
	eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines0 }, "goroutines back to the baseline")
	ids := len(allIDs)
	allIDs = nil // the test's own memory
	heap1 := heapInUse()
	elapsed := time.Since(start)
	t.Logf("soak: %d waves of %d clients in %v (%d streams, %d resumed, %d sessions expired); %d messages published, %d events delivered and checked",
		waves, soakClients, elapsed.Round(time.Millisecond), waves*soakClients+resumed, resumed, ids, sent, got)
	t.Logf("soak: goroutines %d at start, peak %d, %d at end; heap %d KiB at start, peak %d KiB, %d KiB at end",
		goroutines0, peakGoroutines, runtime.NumGoroutine(), heap0>>10, peakHeap>>10, heap1>>10)
	require.Less(t, heap1, heap0+soakHeapSlack, "the heap did not come back near its start")
}
