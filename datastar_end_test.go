package ssevent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// streamBody GETs url and reads its body to the end in the background. It
// returns once the head is in, with a channel that yields what the body
// held and how it ended.
func streamBody(t *testing.T, client *http.Client, url string, header http.Header) (*http.Response, <-chan bodyEnd) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	t.Cleanup(func() { resp.Body.Close() })
	done := make(chan bodyEnd, 1)
	go func() {
		b, err := io.ReadAll(resp.Body)
		done <- bodyEnd{string(b), err}
	}()
	return resp, done
}

type bodyEnd struct {
	body string
	err  error
}

func waitEnd(t *testing.T, ch <-chan bodyEnd) bodyEnd {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("the stream did not end")
		return bodyEnd{}
	}
}

// TestDatastarStreamsEndAbruptly: Datastar's client reconnects after a
// network error only, so a Datastar stream the server ends (Close, its
// Timeout) ends without the end of its body, after what it drains, on
// every path: taken over and standard HTTP/1.1, and HTTP/2. A stream whose
// session the server ended (Unsubscribe with no channel) ends cleanly, and
// so does every stream of the other dialects.
func TestDatastarStreamsEndAbruptly(t *testing.T) {
	type path struct {
		name string
		cfg  ssevent.Config
		h2   bool
	}
	for _, p := range []path{
		{"taken over", ssevent.Config{}, false},
		{"taken over, handler released", ssevent.Config{ReleaseHandler: true}, false},
		{"standard HTTP/1.1", ssevent.Config{DisableTakeover: true}, false},
		{"HTTP/2", ssevent.Config{}, true},
	} {
		t.Run(p.name, func(t *testing.T) {
			open := func(t *testing.T, cfg ssevent.Config) (*ssevent.Hub, *http.Client, string) {
				cfg.HeartbeatInterval = -1
				hub := ssevent.New(cfg)
				srv := httptest.NewUnstartedServer(hub)
				client := http.DefaultClient
				if p.h2 {
					srv.EnableHTTP2 = true
					srv.StartTLS()
					client = srv.Client()
				} else {
					srv.Start()
				}
				t.Cleanup(func() {
					_ = hub.Close(context.Background())
					srv.Close()
				})
				return hub, client, srv.URL + "/events?channels=a"
			}
			proto := func(t *testing.T, resp *http.Response) {
				if p.h2 {
					require.Equal(t, 2, resp.ProtoMajor)
				}
			}
			datastar := http.Header{ssevent.HeaderDatastarRequest: {"true"}}

			t.Run("Close", func(t *testing.T) {
				hub, client, url := open(t, p.cfg)
				resp, ds := streamBody(t, client, url, datastar)
				proto(t, resp)
				_, js := streamBody(t, client, url, nil)
				require.Eventually(t, func() bool { return hub.ClientCount(context.Background()) == 2 }, 10*time.Second, 5*time.Millisecond)
				require.NoError(t, hub.PatchElements(context.Background(), "a", `<p id="x">last</p>`))
				require.NoError(t, hub.Close(context.Background()))

				e := waitEnd(t, ds)
				assert.Error(t, e.err, "a Datastar stream the server closed must end without the end of its body")
				assert.Contains(t, e.body, "event: datastar-patch-elements\n", "what was queued is written first")
				assert.Contains(t, e.body, `data: elements <p id="x">last</p>`)
				j := waitEnd(t, js)
				assert.NoError(t, j.err, "a JSON-envelope stream ends cleanly")
				assert.Contains(t, j.body, "event: "+shared.EventReconnect+"\n")
			})

			t.Run("Timeout", func(t *testing.T) {
				cfg := p.cfg
				cfg.Timeout = time.Second
				_, client, url := open(t, cfg)
				_, ds := streamBody(t, client, url, datastar)
				_, js := streamBody(t, client, url+"&format=htmx2", nil)
				assert.Error(t, waitEnd(t, ds).err, "a Datastar stream past Timeout ends without the end of its body")
				assert.NoError(t, waitEnd(t, js).err, "an htmx stream past Timeout ends cleanly")
			})

			t.Run("session ended", func(t *testing.T) {
				hub, client, url := open(t, p.cfg)
				_, ds := streamBody(t, client, url, datastar)
				var id string
				require.Eventually(t, func() bool {
					ids := hub.ClientsByChannel(context.Background(), "a")
					if len(ids) != 1 {
						return false
					}
					id = ids[0]
					return true
				}, 10*time.Second, 5*time.Millisecond)
				require.NoError(t, hub.Unsubscribe(context.Background(), id))
				e := waitEnd(t, ds)
				assert.NoError(t, e.err, "a stream whose session the server ended ends cleanly: its client must not come back")
			})
		})
	}
}

// The error an abruptly ended body gives names no cause the client could
// take for a clean end.
func TestDatastarAbruptEndIsAnError(t *testing.T) {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	srv := httptest.NewServer(hub)
	defer srv.Close()
	_, ds := streamBody(t, http.DefaultClient, srv.URL+"/events?format=datastar", nil)
	require.Eventually(t, func() bool { return hub.ClientCount(context.Background()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, hub.Close(context.Background()))
	e := waitEnd(t, ds)
	require.Error(t, e.err)
	assert.True(t, errors.Is(e.err, io.ErrUnexpectedEOF) || strings.Contains(e.err.Error(), "unexpected EOF"), fmt.Sprint(e.err))
}
