package main

// This file holds the client side of a run: what a set of clients saw
// (summary, and its merge), the clients of the driver's own process
// (localFleet), and client processes of their own (childFleet, and
// runClients, the child's side), which -procs starts so that no process
// holds more connections than its open-file limit allows.

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// summary is what a set of clients saw during a run: the counts of one
// process's clients, or the merge of several processes' summaries. Merged
// summaries give the same figures as one summary of all their clients:
// counts add up, spans widen, and latencies are kept one by one.
type summary struct {
	Clients      int              `json:"clients"`
	Delivered    int64            `json:"delivered"`
	Duplicated   int64            `json:"duplicated"`
	OutOfOrder   int64            `json:"outOfOrder"`
	StreamsEnded int64            `json:"streamsEnded"`
	EndedAs      map[string]int64 `json:"endedAs,omitempty"`
	LostOnEnded  int64            `json:"lostOnEnded"`
	LostOnOpen   int64            `json:"lostOnOpen"`
	EndedAgeS    *span            `json:"endedAgeSeconds,omitempty"`
	KeptAgeS     *span            `json:"keptAgeSeconds,omitempty"`
	EndedAfterS  *span            `json:"endedAfterPublishSeconds,omitempty"`
	// Lats are the latencies of the deliveries, in microseconds, in no
	// particular order.
	Lats []uint32 `json:"lats"`
	// MinSent is the earliest send time seen, MaxRcv the latest receive
	// time, Unix ns.
	MinSent int64 `json:"minSent"`
	MaxRcv  int64 `json:"maxRcv"`
	Bytes   int64 `json:"bytes"`
	// CPUus is the CPU time the clients' process used while events were
	// published and delivered.
	CPUus int64 `json:"cpuUs"`
}

func newSummary() summary { return summary{MinSent: 1<<63 - 1} }

// summarize sums what clients saw; pubStart is when publishing began,
// Unix ns. The readers must have returned.
func summarize(clients []*client, pubStart int64) summary {
	s := newSummary()
	for _, c := range clients {
		if c == nil {
			continue
		}
		s.Clients++
		s.Delivered += int64(c.got)
		s.Duplicated += int64(c.dup)
		s.OutOfOrder += int64(c.ooo)
		missing := int64(c.m - c.got)
		if c.err != nil && !errors.Is(c.err, os.ErrDeadlineExceeded) {
			s.StreamsEnded++
			if s.EndedAs == nil {
				s.EndedAs = make(map[string]int64)
			}
			s.EndedAs[endKind(c.err)]++
			s.LostOnEnded += missing
			if c.connectedAt > 0 {
				s.EndedAgeS = s.EndedAgeS.add(pubStart - c.connectedAt)
			}
			s.EndedAfterS = s.EndedAfterS.add(c.endedAt - pubStart)
		} else {
			s.LostOnOpen += missing
			if c.connectedAt > 0 {
				s.KeptAgeS = s.KeptAgeS.add(pubStart - c.connectedAt)
			}
		}
		s.Lats = append(s.Lats, c.lats...)
		s.MinSent = min(s.MinSent, c.minSent)
		s.MaxRcv = max(s.MaxRcv, c.lastRcv)
		s.Bytes += c.bytes
	}
	return s
}

// merge adds o to s.
func (s *summary) merge(o summary) {
	s.Clients += o.Clients
	s.Delivered += o.Delivered
	s.Duplicated += o.Duplicated
	s.OutOfOrder += o.OutOfOrder
	s.StreamsEnded += o.StreamsEnded
	for k, n := range o.EndedAs {
		if s.EndedAs == nil {
			s.EndedAs = make(map[string]int64)
		}
		s.EndedAs[k] += n
	}
	s.LostOnEnded += o.LostOnEnded
	s.LostOnOpen += o.LostOnOpen
	s.EndedAgeS = s.EndedAgeS.merge(o.EndedAgeS)
	s.KeptAgeS = s.KeptAgeS.merge(o.KeptAgeS)
	s.EndedAfterS = s.EndedAfterS.merge(o.EndedAfterS)
	s.Lats = append(s.Lats, o.Lats...)
	s.MinSent = min(s.MinSent, o.MinSent)
	s.MaxRcv = max(s.MaxRcv, o.MaxRcv)
	s.Bytes += o.Bytes
	s.CPUus += o.CPUus
}

// percentiles returns the median, the 99th percentile and the most of the
// latencies, sorting them.
func (s *summary) percentiles() (p50, p99, most uint32) {
	if len(s.Lats) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s.Lats)
	n := len(s.Lats)
	return s.Lats[n/2], s.Lats[min(n*99/100, n-1)], s.Lats[n-1]
}

// fleet is the run's clients, in the driver's process or in processes of
// their own.
type fleet interface {
	// progress returns the deliveries so far and the number of streams
	// the server ended.
	progress() (delivered, ended int64)
	// mark starts measuring the clients' CPU time, as publishing begins.
	mark()
	// finish stops the readers and returns what the clients saw.
	finish(ctx context.Context, pubStart int64) (summary, error)
	// close closes the streams.
	close()
}

// localFleet is the clients of the driver's own process.
type localFleet struct {
	clients []*client
	cnt     *counters
	cpu0    int64
}

func (f *localFleet) progress() (int64, int64) { return f.cnt.delivered.Load(), f.cnt.ended.Load() }

func (f *localFleet) mark() { f.cpu0 = cpuMicros() }

// endedKinds counts the streams that have ended so far by how their
// clients saw them end (endKind).
func (f *localFleet) endedKinds() map[string]int64 {
	m := make(map[string]int64)
	for _, c := range f.clients {
		if c == nil {
			continue
		}
		select {
		case <-c.done:
			if c.err != nil {
				m[endKind(c.err)]++
			}
		default:
		}
	}
	return m
}

func (f *localFleet) finish(_ context.Context, pubStart int64) (summary, error) {
	cpu := cpuMicros() - f.cpu0
	f.cnt.stopping.Store(true)
	for _, c := range f.clients {
		if c != nil {
			c.stop() // counters below are read after the reader returns
		}
	}
	for _, c := range f.clients {
		if c != nil {
			<-c.done
		}
	}
	s := summarize(f.clients, pubStart)
	s.CPUus = cpu
	return s, nil
}

func (f *localFleet) close() {
	f.cnt.stopping.Store(true)
	for _, c := range f.clients {
		if c != nil {
			c.close()
		}
	}
}

// The lines a client process and the driver exchange, one per line. The
// child writes "CONNECTED <connectReport JSON>" once its streams are open,
// "P <delivered> <ended>" when these change, and "RESULT <summary JSON>"
// after "STOP"; the driver writes "MARK" as it starts publishing and
// "STOP <Unix ns when publishing began>" when the deliveries are over,
// then closes the child's stdin, which closes its streams and ends it.
const (
	lineConnected = "CONNECTED "
	lineProgress  = "P "
	lineResult    = "RESULT "
)

// connectReport is a client process's report on opening its streams.
type connectReport struct {
	Failed int    `json:"failed"`
	Err    string `json:"err,omitempty"`
}

// child is a client process, seen from the driver.
type child struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	delivered int64 // under mu
	ended     int64
	mu        sync.Mutex
	connected chan connectReport
	result    chan summary
	gone      chan struct{} // closed when its stdout ends
	err       error         // why its stdout ended early, set before gone closes
}

// childFleet is the clients of several client processes.
type childFleet []*child

// startChildren starts one client process per entry of shares, the
// number of streams each opens, and waits until every process has opened
// its streams. args are the flags common to all; each child also gets
// its share and the number of its first stream.
func startChildren(ctx context.Context, self string, env, args []string, shares []int) (childFleet, int, error) {
	f := make(childFleet, 0, len(shares))
	first := 0
	for _, n := range shares {
		a := append(slices.Clone(args), "-n", strconv.Itoa(n), "-first", strconv.Itoa(first))
		first += n
		ch, err := startChild(ctx, self, env, a)
		if err != nil {
			f.close()
			return nil, 0, err
		}
		f = append(f, ch)
	}
	failed := 0
	var firstErr error
	for _, ch := range f {
		select {
		case r := <-ch.connected:
			failed += r.Failed
			if r.Err != "" && firstErr == nil {
				firstErr = errors.New(r.Err)
			}
		case <-ch.gone:
			return f, failed, fmt.Errorf("a client process ended while connecting: %w", ch.err)
		case <-ctx.Done():
			return f, failed, fmt.Errorf("connecting: %w", ctx.Err())
		}
	}
	return f, failed, firstErr
}

func startChild(ctx context.Context, self string, env, args []string) (*child, error) {
	cmd, stdin, stdout, err := startSelf(ctx, self, "-client", args, env)
	if err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, stdin: stdin, connected: make(chan connectReport, 1), result: make(chan summary, 1), gone: make(chan struct{})}
	go ch.readLines(bufio.NewReaderSize(stdout, 64<<10))
	return ch, nil
}

// readLines reads the child's reports until its stdout ends.
func (ch *child) readLines(r *bufio.Reader) {
	defer close(ch.gone)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			ch.err = err
			if errors.Is(err, io.EOF) {
				ch.err = errors.New("its output ended")
			}
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, lineProgress):
			var d, e int64
			if _, err := fmt.Sscanf(line[len(lineProgress):], "%d %d", &d, &e); err == nil {
				ch.mu.Lock()
				ch.delivered, ch.ended = d, e
				ch.mu.Unlock()
			}
		case strings.HasPrefix(line, lineConnected):
			var r connectReport
			if err := json.Unmarshal([]byte(line[len(lineConnected):]), &r); err != nil {
				r = connectReport{Err: "reading a client process's report: " + err.Error()}
			}
			ch.connected <- r
		case strings.HasPrefix(line, lineResult):
			var s summary
			if err := json.Unmarshal([]byte(line[len(lineResult):]), &s); err != nil {
				ch.err = fmt.Errorf("reading a client process's result: %w", err)
				return
			}
			ch.result <- s
		}
	}
}

func (f childFleet) progress() (delivered, ended int64) {
	for _, ch := range f {
		ch.mu.Lock()
		delivered += ch.delivered
		ended += ch.ended
		ch.mu.Unlock()
	}
	return delivered, ended
}

func (f childFleet) mark() {
	for _, ch := range f {
		_, _ = io.WriteString(ch.stdin, "MARK\n")
	}
}

func (f childFleet) finish(ctx context.Context, pubStart int64) (summary, error) {
	for _, ch := range f {
		_, _ = fmt.Fprintf(ch.stdin, "STOP %d\n", pubStart)
	}
	s := newSummary()
	for _, ch := range f {
		select {
		case r := <-ch.result:
			s.merge(r)
		case <-ch.gone:
			return s, fmt.Errorf("a client process ended before its result: %w", ch.err)
		case <-ctx.Done():
			return s, fmt.Errorf("waiting for the client processes' results: %w", ctx.Err())
		}
	}
	return s, nil
}

// close ends the client processes: closing its stdin closes a child's
// streams and ends it.
func (f childFleet) close() {
	for _, ch := range f {
		_ = ch.stdin.Close()
	}
	for _, ch := range f {
		done := make(chan struct{})
		go func() { _ = ch.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = ch.cmd.Process.Kill()
			<-done
		}
	}
}

// shares splits n streams over p processes, the first ones taking one
// more when p does not divide n.
func shares(n, p int) []int {
	s := make([]int, p)
	for i := range s {
		s[i] = n / p
		if i < n%p {
			s[i]++
		}
	}
	return s
}

// runClients is a client process: it opens o.n streams, the run's
// streams first to first+o.n-1, to the servers at addrs, reports to the
// driver on stdout and follows its orders on stdin (see lineConnected).
func runClients(o options, addrs string, first int) error {
	if limit := raiseFileLimit(); limit < uint64(o.n)+64 {
		return fmt.Errorf("open-file limit %d is too low for %d connections: use more -procs", limit, o.n)
	}
	roots, err := rootsFromEnv(o.proto)
	if err != nil {
		return err
	}
	d := newDialer(strings.Split(addrs, ","), o.proto, roots, o.sources, o.pause, o.size)
	d.next.Store(uint64(first))
	cnt := &counters{}
	clients, failed, cerr := connectAll(d, o.channel, o.unicast, first, o.n, o.m, o.conc, cnt)
	f := &localFleet{clients: clients, cnt: cnt}
	defer f.close()

	var outMu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	emit := func(prefix string, v any) {
		outMu.Lock()
		defer outMu.Unlock()
		out.WriteString(prefix)
		switch v := v.(type) {
		case string:
			out.WriteString(v)
		default:
			b, _ := json.Marshal(v)
			out.Write(b)
		}
		out.WriteByte('\n')
		_ = out.Flush()
	}
	rep := connectReport{Failed: failed}
	if cerr != nil {
		rep.Err = cerr.Error()
	}
	emit(lineConnected, rep)

	stopProgress, progressDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(progressDone)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var last [2]int64
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
			}
			d, e := f.progress()
			if [2]int64{d, e} != last {
				last = [2]int64{d, e}
				emit(lineProgress, fmt.Sprintf("%d %d", d, e))
			}
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	stopped := false
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "MARK":
			f.mark()
		case "STOP":
			if stopped {
				continue
			}
			stopped = true
			pubStart, _ := strconv.ParseInt(arg, 10, 64)
			close(stopProgress)
			<-progressDone
			s, _ := f.finish(context.Background(), pubStart)
			emit(lineResult, s)
		}
	}
	if !stopped {
		close(stopProgress)
		<-progressDone
	}
	return nil
}

// rootsFromEnv returns the pool that trusts the certificate the driver
// made for the servers, for the protocols over TLS; nil otherwise.
func rootsFromEnv(proto string) (*x509.CertPool, error) {
	if proto != "tls" && proto != "h2" {
		return nil, nil
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(os.Getenv(certEnv))) {
		return nil, errors.New("no server certificate in " + certEnv)
	}
	return roots, nil
}
