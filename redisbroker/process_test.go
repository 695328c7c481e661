package redisbroker_test

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// process is a testnode process.
type process struct {
	cmd  *exec.Cmd
	base string // http://host:port
}

func buildTestNode(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "testnode")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "build", "-o", bin, "./internal/testnode").CombinedOutput()
	require.NoError(t, err, "building testnode: %s", out)
	return bin
}

func startProcess(t *testing.T, bin, redisURL, prefix string) *process {
	t.Helper()
	cmd := exec.Command(bin, "-redis", redisURL, "-prefix", prefix, "-presence", "200ms")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		base, ok := strings.CutPrefix(l, "listening ")
		require.True(t, ok, "testnode said %q", l)
		p.base = base
	case <-time.After(waitTimeout):
		t.Fatal("testnode did not start")
	}
	return p
}

func (p *process) send(t *testing.T, channel, data string) {
	t.Helper()
	resp, err := http.Post(p.base+"/send?"+url.Values{"channel": {channel}, "data": {data}}.Encode(), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func (p *process) count(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(p.base + "/count")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n, err := strconv.Atoi(string(b))
	require.NoError(t, err, "count: %s", b)
	return n
}

// TestTwoProcesses runs two application processes on one Redis: they act
// as one hub, and one that dies drops out of the count.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	bin := buildTestNode(t)
	u, prefix := redisURL(t), testPrefix(t)
	p1 := startProcess(t, bin, u, prefix)
	p2 := startProcess(t, bin, u, prefix)

	c1 := connect(t, p1.base+"/events", url.Values{"channels": {"news"}})
	c2 := connect(t, p2.base+"/events", url.Values{"channels": {"news"}})
	eventually(t, func() bool { return p1.count(t) == 2 && p2.count(t) == 2 }, "both processes count both clients")

	p2.send(t, "news", `"from p2"`)
	p1.send(t, "news", `"from p1"`)
	for _, c := range []*client{c1, c2} {
		env, _ := c.message()
		require.JSONEq(t, `"from p2"`, string(env.Payload))
		env, _ = c.message()
		require.JSONEq(t, `"from p1"`, string(env.Payload))
	}

	// A subscription posted to the other process than the stream's.
	code, resp := post(t, p2.base+"/events", "subscribe", c1.id(), "sport")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []string{"default", "news", "sport"}, resp.Channels)
	p2.send(t, "sport", `"goal"`)
	env, _ := c1.message()
	require.Equal(t, "sport", env.Channel)

	// p2 dies without a word: its client drops out of p1's count once its
	// presence expires.
	require.NoError(t, p2.cmd.Process.Signal(syscall.SIGKILL))
	_ = p2.cmd.Wait()
	c2.ended()
	eventually(t, func() bool { return p1.count(t) == 1 }, "the dead process drops out")
}
