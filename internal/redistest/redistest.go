// Package redistest runs a real redis-server for tests: on a free
// 127.0.0.1 port, with its data in the test's temporary directory.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds the wait for redis-server to accept connections.
const readyTimeout = 15 * time.Second

// Server is a redis-server of the test's own. Its append-only file is
// synced on every write, so that a restart keeps what it accepted.
type Server struct {
	t    testing.TB
	dir  string
	port int
	cmd  *exec.Cmd
}

// URL returns REDIS_URL when it is set, or else starts a Server and returns
// its URL.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return Start(t).URL()
}

// Start starts a Server, stopped when the test ends. It fails the test,
// saying how to install it, when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New(t)
	s.Restart()
	return s
}

// New returns a Server that is not running yet: its port is chosen and
// nothing listens on it until Restart. It is stopped when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found; install it: apt-get install redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, dir: t.TempDir(), port: port}
	t.Cleanup(s.Kill)
	return s
}

// URL is the server's address as a redis:// URL.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Restart starts the server (again, after Kill), on the same port and
// data, and waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--protected-mode", "no", "--loglevel", "notice")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(readyTimeout):
		s.t.Fatalf("redis-server on port %d not ready within %v", s.port, readyTimeout)
	}
}

// Kill ends the server at once, as a crash would.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	s.cmd = nil
}

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatalf("redis-server on port %d is not running", s.port)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
}

// Wipe deletes the data of a killed server, so that Restart starts it
// empty, as a Redis without persistence would come back.
func (s *Server) Wipe() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("redistest: Wipe while the server runs")
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		s.t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
			s.t.Fatal(err)
		}
	}
}
