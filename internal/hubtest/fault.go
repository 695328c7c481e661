package hubtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/netcut"
	"github.com/ssevent/ssevent/shared"
)

// TestNothingLostUnderFaults: 200 clients on several channels, a publisher
// sending 5,000 messages, connections cut at random from both sides. Every
// client must end with every message of its channels exactly once, in
// order.
func TestNothingLostUnderFaults(t *testing.T, m Mount) {
	if testing.Short() {
		t.Skip("fault injection run skipped in -short mode")
	}
	const (
		clients  = 200
		channels = 4
		messages = 5000
		perChan  = messages / channels
	)
	var cl *netcut.Listener
	ts := newTestServerWith(t, m, ssevent.Config{HistorySize: messages, QueueSize: 4096, Logger: discardLogger()}, func(srv *httptest.Server) {
		cl = netcut.Wrap(srv.Listener)
		srv.Listener = cl
	})
	hub, endpoint := ts.hub, ts.url

	// Bounded, with room for a loaded machine: on the standard path under
	// -race at load 15 on two cores the run took over 90 s, losing
	// nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var (
		reconnects atomic.Int64
		wg         sync.WaitGroup
		problems   = make(chan string, clients)
		ready      sync.WaitGroup
	)
	ready.Add(clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := []string{fmt.Sprintf("c%d", i%channels), fmt.Sprintf("c%d", (i+1)%channels)}
			if err := faultyClient(ctx, endpoint, mine, perChan, uint64(i), &ready, &reconnects); err != nil {
				problems <- fmt.Sprintf("client %d: %v", i, err)
			}
		}()
	}
	ready.Wait() // everyone is subscribed before the first message

	// Server-side cuts while publishing.
	stopCutting := make(chan struct{})
	var serverCuts atomic.Int64
	go func() {
		r := rand.New(rand.NewPCG(1, 2))
		for {
			select {
			case <-stopCutting:
				return
			case <-time.After(time.Millisecond):
				if cl.CutOne(r) {
					serverCuts.Add(1)
				}
			}
		}
	}()
	counts := make([]int, channels)
	for n := range messages {
		ch := n % channels
		require.NoError(t, hub.Send(fmt.Sprintf("c%d", ch), map[string]int{"seq": counts[ch]}))
		counts[ch]++
	}
	close(stopCutting)
	wg.Wait()
	close(problems)
	for p := range problems {
		t.Error(p)
	}
	require.NoError(t, ctx.Err(), "the run finished in time")
	t.Logf("%d clients, %d messages, %d server-side cuts, %d reconnects in all", clients, messages, serverCuts.Load(), reconnects.Load())
	require.Positive(t, serverCuts.Load()+reconnects.Load(), "faults were injected")
}

// faultyClient reads its channels until it has want messages of each,
// reconnecting with its id and last event id whenever its stream breaks,
// and cutting the stream itself now and then. It checks that each
// channel's sequence numbers arrive exactly once, in order.
func faultyClient(ctx context.Context, endpoint string, chans []string, want int, seed uint64, ready *sync.WaitGroup, reconnects *atomic.Int64) error {
	r := rand.New(rand.NewPCG(seed, 99))
	next := map[string]int{}
	for _, ch := range chans {
		next[ch] = 0
	}
	done := func() bool {
		for _, n := range next {
			if n < want {
				return false
			}
		}
		return true
	}
	var id, key, last string
	first := true
	for !done() {
		if ctx.Err() != nil {
			return fmt.Errorf("timed out at %v", next)
		}
		q := url.Values{"channels": {chans[0] + "," + chans[1]}}
		if id != "" {
			q.Set("clientId", id)
		}
		sctx, cut := context.WithCancel(ctx)
		defer cut()
		req, _ := http.NewRequestWithContext(sctx, http.MethodGet, endpoint+"?"+q.Encode(), nil)
		if last != "" {
			req.Header.Set("Last-Event-ID", last)
		}
		if key != "" {
			req.Header.Set(shared.HeaderSessionKey, key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cut()
			reconnects.Add(1)
			continue // cut before the headers arrived
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			cut()
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		cutAfter := 20 + r.IntN(400)
		d := shared.NewDecoder(resp.Body, 0)
		for !done() {
			ev, err := d.Next()
			if err != nil {
				break
			}
			last = d.LastEventID()
			switch ev.Name {
			case shared.EventConnected:
				var c shared.Connected
				if err := json.Unmarshal(ev.Data, &c); err != nil {
					return err
				}
				if id != "" && c.ClientID != id {
					return errors.New("session not resumed")
				}
				id = c.ClientID
				if c.SessionKey != "" {
					key = c.SessionKey
				}
				if first {
					first = false
					ready.Done()
				}
			case shared.EventGap:
				return fmt.Errorf("gap after %s", last)
			case shared.EventMessage:
				var env struct {
					Channel string
					Payload struct{ Seq int }
				}
				if err := json.Unmarshal(ev.Data, &env); err != nil {
					return err
				}
				if env.Payload.Seq != next[env.Channel] {
					return fmt.Errorf("channel %s: got seq %d, want %d (last id %s)", env.Channel, env.Payload.Seq, next[env.Channel], last)
				}
				next[env.Channel]++
				if cutAfter--; cutAfter == 0 {
					cut() // the client drops its own stream
				}
			}
		}
		resp.Body.Close()
		cut()
		if !done() {
			reconnects.Add(1)
		}
	}
	return nil
}
