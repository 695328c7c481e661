package main

// This file holds the server side of a run: the serving processes
// (instance), the Redis that joins several of them into one hub, and the
// broker a serving process makes from it.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ssevent/ssevent/redisbroker"
)

// instance is one serving process (ssevent-bench -serve).
type instance struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string // host:port it listens on
	base  string // its URL
}

// startInstance starts a serving process with args and env and waits for
// the address it listens on.
func startInstance(ctx context.Context, self string, args, env []string) (*instance, error) {
	cmd, stdin, stdout, err := startSelf(ctx, self, "-serve", args, env)
	if err != nil {
		return nil, err
	}
	in := &instance{cmd: cmd, stdin: stdin}
	if _, err := fmt.Fscanf(stdout, "LISTEN %s\n", &in.addr); err != nil {
		in.stop()
		return nil, fmt.Errorf("server did not start: %w", err)
	}
	return in, nil
}

// startSelf starts this program again in mode ("-serve" or "-client")
// with args and env, and returns its stdin and stdout. Its stderr is ours.
func startSelf(ctx context.Context, self, mode string, args, env []string) (*exec.Cmd, io.WriteCloser, io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, self, append([]string{mode}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdin, stdout, nil
}

// stop ends the serving process: it ends when its stdin closes, or is
// killed 10 s later.
func (in *instance) stop() {
	in.stdin.Close()
	done := make(chan struct{})
	go func() { _ = in.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = in.cmd.Process.Kill()
		<-done
	}
}

// redisServer is a redis-server of the run's own, on 127.0.0.1, keeping
// nothing on disk.
type redisServer struct {
	cmd *exec.Cmd
	url string
}

// errNoRedis says how to get redis-server.
var errNoRedis = errors.New("-instances needs Redis: install redis-server (apt-get install redis-server) or give -redis URL")

// startRedis starts a redis-server on a free port of 127.0.0.1 and waits
// until it accepts connections.
func startRedis(ctx context.Context) (*redisServer, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "notice")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &redisServer{cmd: cmd, url: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}
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
		return r, nil
	case <-time.After(15 * time.Second):
		r.stop()
		return nil, fmt.Errorf("redis-server on port %d not ready within 15 s", port)
	case <-ctx.Done():
		r.stop()
		return nil, ctx.Err()
	}
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// pid is the process id of the redis-server.
func (r *redisServer) pid() int { return r.cmd.Process.Pid }

// redisOptions are a serving process's Redis: its URL, the prefix of the
// keys, which the run's instances share and no other run uses, and the
// presence's timing (0: redisbroker's defaults).
type redisOptions struct {
	url, prefix                    string
	presenceSync, presenceInterval time.Duration
}

// newBroker returns the broker of a serving process.
func newBroker(o redisOptions, log *slog.Logger) (*redisbroker.Broker, error) {
	return redisbroker.FromURL(o.url, redisbroker.Options{Prefix: o.prefix, Logger: log,
		PresenceSync: o.presenceSync, PresenceInterval: o.presenceInterval})
}

// procCPUMicros is the CPU time, user and system, of process pid, from
// /proc/<pid>/stat (Linux), in microseconds; -1 when it cannot be read.
func procCPUMicros(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after it. utime and stime are fields 14 and 15 of the line.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	const ticks = 100 // USER_HZ, 100 on Linux
	return (u + st) * 1e6 / ticks
}
