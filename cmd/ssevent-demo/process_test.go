//go:build !wasm

package main

// Two demo processes on one redis-server act as one hub.

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent/internal/redistest"
	"github.com/ssevent/ssevent/shared"
)

// process is a demo running as its own process.
type process struct {
	url    string
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startProcess runs the demo binary on a free 127.0.0.1 port with the
// Redis URL in the environment, and waits for the line with its address.
func startProcess(t *testing.T, bin, redis string) *process {
	t.Helper()
	p := &process{stderr: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, "-addr", "127.0.0.1:0", "-wasm", "")
	p.cmd.Env = append(os.Environ(), "REDIS_URL="+redis)
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("demo %s stderr:\n%s", p.url, p.stderr.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 2 && f[0] == "ssevent" && f[1] == "demo:" {
				addr <- strings.TrimSuffix(f[2], "/")
			}
		}
		_, _ = io.Copy(io.Discard, out)
		p.exited <- p.cmd.Wait()
	}()
	select {
	case p.url = <-addr:
	case <-time.After(waitTimeout):
		t.Fatalf("demo did not start within %v:\n%s", waitTimeout, p.stderr.String())
	}
	return p
}

// terminate sends SIGTERM and waits for a clean exit.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		require.NoError(t, err, "exit status; stderr:\n%s", p.stderr.String())
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("demo %s still running after SIGTERM", p.url)
	}
}

func TestTwoProcessesShareAHubOnRedis(t *testing.T) {
	_, bin := built(t)
	redis := redistest.URL(t)
	a := startProcess(t, bin, redis)
	b := startProcess(t, bin, redis)

	s := openStream(t, a.url, "news")

	// Published on b, received on a's stream.
	status, out := postJSON(t, b.url+"/api/publish", request{Channel: "news", Text: "from b"})
	require.Equal(t, http.StatusOK, status, out)
	ch, m := s.message(shared.EventMessage)
	assert.Equal(t, "news", ch)
	assert.Equal(t, "from b", m.Text)

	// A private message to a client of a, sent through b.
	status, out = postJSON(t, b.url+"/api/private", request{ClientID: s.id, Text: "private via b"})
	require.Equal(t, http.StatusOK, status, out)
	_, m = s.message(privateEvent)
	assert.Equal(t, "private via b", m.Text)

	// b counts a's client once presence has told it.
	require.Eventually(t, func() bool {
		st := getStats(t, b.url)
		return st.Clients == 1 && st.subscribers("news") == 1
	}, waitTimeout, 20*time.Millisecond, "stats of b: %+v", getStats(t, b.url))

	// Both shut down cleanly on SIGTERM; a's stream ends.
	b.terminate(t)
	a.terminate(t)
	s.ended()
}
