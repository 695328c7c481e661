// Command ssevent-bench measures how fast an ssevent hub fans events out.
//
// It starts the server as a child process (so that its memory and CPU are
// measured alone), opens N SSE connections to it over 127.0.0.1 with a
// cheap client (raw HTTP/1.1, one goroutine and two 8 KiB buffers per
// connection), publishes M events of a given wire size at a given rate, and
// reports connect time, deliveries per second, latency, lost, duplicated and
// out-of-order events, server RSS per idle connection and server CPU per
// delivery, as a table and as one JSON line. Its clients do not reconnect:
// when streams end during a run it says how (as the clients saw it, and
// the hub's count of disconnects by reason), how long before publishing
// they had connected, and which of the missing events were on them.
//
//	ssevent-bench -n 2000 -m 1000 -size 256            # burst to 2,000 clients
//	ssevent-bench -n 2000 -m 100 -rate 10              # a steady 10 events/s
//	ssevent-bench -n 2000 -m 100 -rate 10 -impl bare   # the bare write loop
//
// -impl bare serves a minimal net/http SSE loop instead of the hub (encode
// once, queue by reference, one write per wake-up, no features), the
// baseline to compare latency with. -impl hub-std wraps the response
// writer as middleware would, so that the hub serves each stream from its
// request goroutine, its path for HTTP/2, TLS and wrapped writers.
// -impl hub-release sets Config.ReleaseHandler.
//
// -proto tls, h2 and h2c serve HTTP/1.1 over TLS, HTTP/2 over TLS (with a
// self-signed certificate made at start, which the client trusts) and
// HTTP/2 without TLS; the HTTP/2 clients share connections, as browsers
// do. -sources spreads the connections over several loopback source
// addresses (127.0.0.2 and on), which past about 28,000 connections one
// address cannot hold; it is automatic past 20,000. -unicast puts every
// client on a channel of its own. -pause makes each client pause between
// two reads.
//
//	ssevent-bench -n 10000 -m 500 -proto h2           # HTTP/2 over TLS
//	ssevent-bench -n 100000 -m 20 -impl hub-release   # 100,000 streams
//	ssevent-bench -n 10000 -m 50 -rate 10 -unicast    # 10 events/s to each of 10,000 channels
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

type options struct {
	n, m, size, queue, conc int
	rate                    float64
	impl, channel, proto    string
	timeout, settle, idle   time.Duration
	pause                   time.Duration
	sources                 int
	unicast                 bool
	cpuprofile              string
	gomaxprocs              int
}

// result is the JSON line; the table shows the same fields.
type result struct {
	Impl            string  `json:"impl"`
	Proto           string  `json:"proto"`
	Unicast         bool    `json:"unicast,omitempty"`
	PauseMs         float64 `json:"readPauseMs,omitempty"`
	Sources         int     `json:"sourceAddresses"`
	Conns           int     `json:"conns"`
	ConnectFailed   int     `json:"connectFailed"`
	Events          int     `json:"events"`
	EventBytes      int     `json:"eventBytes"`
	Rate            float64 `json:"rate"`
	ConnectSeconds  float64 `json:"connectSeconds"`
	Expected        int64   `json:"expected"`
	Delivered       int64   `json:"delivered"`
	Lost            int64   `json:"lost"`
	Duplicated      int64   `json:"duplicated"`
	OutOfOrder      int64   `json:"outOfOrder"`
	StreamsEnded    int64   `json:"streamsEnded"`
	PublishSeconds  float64 `json:"publishSeconds"`
	DeliverSeconds  float64 `json:"deliverSeconds"`
	DeliveriesPerS  float64 `json:"deliveriesPerSecond"`
	LatencyP50Us    uint32  `json:"latencyP50us"`
	LatencyP99Us    uint32  `json:"latencyP99us"`
	LatencyMaxUs    uint32  `json:"latencyMaxUs"`
	RSSBaseKiB      int64   `json:"serverRSSBaseKiB"`
	RSSIdleKiB      int64   `json:"serverRSSIdleKiB"`
	RSSPerConnBytes int64   `json:"serverRSSPerConnBytes"`
	ServerCPUUs     int64   `json:"serverCPUus"`
	CPUPerDelivUs   float64 `json:"serverCPUusPerDelivery"`
	ClientCPUUs     int64   `json:"clientCPUus"`
	Load            string  `json:"load"`
	GOMAXPROCS      int     `json:"gomaxprocs"`

	// How the ended streams ended, as their clients saw it (endKind),
	// and the server's count of ended streams by the hub's reason,
	// read when the deliveries ended and before the driver closed any
	// stream.
	EndedAs           map[string]int64  `json:"endedAs,omitempty"`
	ServerDisconnects map[string]uint64 `json:"serverDisconnects,omitempty"`
	// LostOnEnded are the events missing on streams the server ended (a
	// client of the protocol reconnects and replays them; this one does
	// not), LostOnOpen those missing on streams still open at the end.
	LostOnEnded int64 `json:"lostOnEnded"`
	LostOnOpen  int64 `json:"lostOnOpen"`
	// EndedAgeS and KeptAgeS are the least and the most time, in
	// seconds, from a stream's connected event to the start of
	// publishing, over the streams that ended and over the others;
	// EndedAfterS, from the start of publishing to the end of a stream.
	EndedAgeS   *span `json:"endedAgeSeconds,omitempty"`
	KeptAgeS    *span `json:"keptAgeSeconds,omitempty"`
	EndedAfterS *span `json:"endedAfterPublishSeconds,omitempty"`
}

func main() {
	var o options
	serveMode := flag.Bool("serve", false, "run as the server (started by the tool itself)")
	flag.IntVar(&o.n, "n", 2000, "connections")
	flag.IntVar(&o.m, "m", 1000, "events to publish")
	flag.IntVar(&o.size, "size", 256, "bytes of one event on the wire")
	flag.Float64Var(&o.rate, "rate", 0, "events per second; 0 publishes as fast as Send returns")
	flag.StringVar(&o.impl, "impl", "hub", "server: hub (ssevent), hub-release (the hub with Config.ReleaseHandler), hub-std (the hub's path for HTTP/2, TLS and wrapped writers) or bare (a minimal write loop)")
	flag.StringVar(&o.proto, "proto", "http1", "protocol: http1 (HTTP/1.1), tls (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS) or h2c (HTTP/2 without TLS); TLS uses a self-signed certificate made at start")
	flag.IntVar(&o.sources, "sources", 0, "loopback addresses to connect from, 127.0.0.2 and on (0: one per 20,000 connections past the first 20,000, else the system's choice)")
	flag.DurationVar(&o.pause, "pause", 0, "the client's pause between two reads of a stream (0: read at once)")
	flag.BoolVar(&o.unicast, "unicast", false, "every client on a channel of its own; each event goes to every channel in turn (-rate is per channel)")
	flag.IntVar(&o.queue, "queue", 1024, "per-stream queue size of the server")
	flag.IntVar(&o.conc, "conc", 128, "connections opened at once")
	flag.StringVar(&o.channel, "channel", "bench", "channel the clients join")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "hard limit on the whole run")
	flag.DurationVar(&o.settle, "settle", time.Second, "pause before measuring idle memory")
	flag.DurationVar(&o.idle, "idle", 5*time.Second, "end the run when no event arrived for this long")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write the server's CPU profile of the publish phase to this file")
	flag.IntVar(&o.gomaxprocs, "server-procs", 0, "GOMAXPROCS of the server (0: Go's default)")
	jsonOnly := flag.Bool("json", false, "print only the JSON line")
	flag.Parse()

	if *serveMode {
		if err := serve(o.impl, o.queue, o.cpuprofile, o.proto); err != nil {
			fmt.Fprintln(os.Stderr, "ssevent-bench -serve:", err)
			os.Exit(1)
		}
		return
	}
	// The client keeps 4 bytes of latency per delivery: bound the total.
	if o.n < 1 || o.m < 1 || o.size < 64 || o.conc < 1 || o.n > 100_000 || o.m > 1_000_000 || o.n*o.m > 100_000_000 ||
		o.sources < 0 || o.sources > 250 || o.pause < 0 {
		fmt.Fprintln(os.Stderr, "ssevent-bench: need 1 ≤ -n ≤ 100000, 1 ≤ -m ≤ 1000000, -n × -m ≤ 100000000, -size ≥ 64, -conc ≥ 1, 0 ≤ -sources ≤ 250, -pause ≥ 0")
		os.Exit(2)
	}
	switch o.proto {
	case "http1", "tls", "h2", "h2c":
	default:
		fmt.Fprintf(os.Stderr, "ssevent-bench: unknown -proto %q: http1, tls, h2 or h2c\n", o.proto)
		os.Exit(2)
	}
	if o.sources == 0 && o.n > 20_000 {
		o.sources = (o.n + 19_999) / 20_000
	}
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssevent-bench:", err)
		os.Exit(1)
	}
	if !*jsonOnly {
		printTable(os.Stdout, res)
	}
	line, _ := json.Marshal(res)
	fmt.Println(string(line))
	if res.Lost > 0 || res.Duplicated > 0 || res.OutOfOrder > 0 || res.ConnectFailed > 0 {
		os.Exit(3)
	}
}

func run(o options) (*result, error) {
	limit := raiseFileLimit()
	if limit < uint64(o.n)+64 {
		return nil, fmt.Errorf("open-file limit %d is too low for %d connections (each process holds one descriptor per connection; raising the hard limit takes root with CAP_SYS_RESOURCE, or ulimit -Hn before the run)", limit, o.n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-serve", "-impl", o.impl, "-queue", fmt.Sprint(o.queue), "-proto", o.proto}
	if o.cpuprofile != "" {
		args = append(args, "-cpuprofile", o.cpuprofile)
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stderr = os.Stderr
	cmd.Env = os.Environ()
	if o.gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", o.gomaxprocs))
	}
	var roots *x509.CertPool
	if o.proto == "tls" || o.proto == "h2" {
		certPEM, keyPEM, err := selfSigned()
		if err != nil {
			return nil, err
		}
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(certPEM)
		cmd.Env = append(cmd.Env, certEnv+"="+string(certPEM), keyEnv+"="+string(keyPEM))
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		stdin.Close() // the server ends when its stdin closes
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	var addr string
	if _, err := fmt.Fscanf(stdout, "LISTEN %s\n", &addr); err != nil {
		return nil, fmt.Errorf("server did not start: %w", err)
	}
	d := newDialer(addr, o.proto, roots, o.sources, o.pause)
	base := d.scheme() + "://" + addr
	hc := &http.Client{Timeout: o.timeout}
	if roots != nil {
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
	}

	res := &result{Impl: o.impl, Proto: o.proto, Unicast: o.unicast, PauseMs: float64(o.pause) / 1e6, Sources: o.sources,
		Conns: o.n, Events: o.m, EventBytes: o.size, Rate: o.rate, GOMAXPROCS: o.gomaxprocs}
	before, err := stats(ctx, hc, base, true)
	if err != nil {
		return nil, err
	}
	res.RSSBaseKiB = before.RSSKiB

	cnt := &counters{}
	start := time.Now()
	clients, failed, err := connectAll(d, o.channel, o.unicast, o.n, o.m, o.conc, cnt)
	res.ConnectSeconds = time.Since(start).Seconds()
	res.ConnectFailed = failed
	defer func() {
		cnt.stopping.Store(true)
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	if failed > 0 {
		return nil, fmt.Errorf("%d of %d connections failed, first: %w", failed, o.n, err)
	}
	if err := sleep(ctx, o.settle); err != nil {
		return nil, err
	}
	idle, err := stats(ctx, hc, base, true)
	if err != nil {
		return nil, err
	}
	if idle.Streams != o.n {
		return nil, fmt.Errorf("server holds %d streams, want %d (connected in %.1f s; streams the server ended: %s)",
			idle.Streams, o.n, res.ConnectSeconds, kinds(idle.Disconnects))
	}
	res.RSSIdleKiB = idle.RSSKiB
	res.RSSPerConnBytes = (idle.RSSKiB - before.RSSKiB) * 1024 / int64(o.n)

	// Publish, and wait for every delivery or for the stream to go quiet.
	cpu0, err := stats(ctx, hc, base, false)
	if err != nil {
		return nil, err
	}
	client0 := selfStats(0).CPUMicros
	pubStart := time.Now().UnixNano()
	pubDone := make(chan publishResult, 1)
	pubErr := make(chan error, 1)
	go func() {
		u := fmt.Sprintf("%s/publish?n=%d&size=%d&rate=%g&channel=%s", base, o.m, o.size, o.rate, o.channel)
		if o.unicast {
			u += fmt.Sprintf("&unicast=%d", o.n)
		}
		resp, err := hc.Post(u, "text/plain", nil)
		if err != nil {
			pubErr <- err
			return
		}
		defer resp.Body.Close()
		var pr publishResult
		if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
			pubErr <- err
			return
		}
		pubDone <- pr
	}()
	want := int64(o.n) * int64(o.m)
	res.Expected = want
	var pr publishResult
	published := false
	last, lastChange := int64(-1), time.Now()
	for {
		select {
		case pr = <-pubDone:
			published = true
		case err := <-pubErr:
			return nil, fmt.Errorf("publishing: %w", err)
		case <-ctx.Done():
			return nil, fmt.Errorf("run deadline passed with %d of %d deliveries", cnt.delivered.Load(), want)
		case <-time.After(2 * time.Millisecond):
		}
		d := cnt.delivered.Load()
		if d != last {
			last, lastChange = d, time.Now()
		}
		if published && (d >= want || time.Since(lastChange) > o.idle ||
			int64(len(clients)) == cnt.ended.Load()) {
			break
		}
	}
	cpu1, err := stats(ctx, hc, base, false)
	if err != nil {
		return nil, err
	}
	if pr.Errors > 0 {
		return nil, fmt.Errorf("%d publish errors, first: %s", pr.Errors, pr.FirstErr)
	}
	res.PublishSeconds = float64(pr.Nanos) / 1e9
	res.ServerCPUUs = cpu1.CPUMicros - cpu0.CPUMicros
	res.ServerDisconnects = cpu1.Disconnects
	res.ClientCPUUs = selfStats(0).CPUMicros - client0

	// Wait for readers to settle their counters, then aggregate.
	cnt.stopping.Store(true)
	var (
		lats            []uint32
		minSent, maxRcv int64 = 1<<63 - 1, 0
		bytes           int64
	)
	for _, c := range clients {
		c.stop() // counters below are read after the reader returns
	}
	for _, c := range clients {
		<-c.done
	}
	for _, c := range clients {
		res.Delivered += int64(c.got)
		res.Duplicated += int64(c.dup)
		res.OutOfOrder += int64(c.ooo)
		missing := int64(c.m - c.got)
		if c.err != nil && !errors.Is(c.err, os.ErrDeadlineExceeded) {
			res.StreamsEnded++
			if res.EndedAs == nil {
				res.EndedAs = make(map[string]int64)
			}
			res.EndedAs[endKind(c.err)]++
			res.LostOnEnded += missing
			if c.connectedAt > 0 {
				res.EndedAgeS = res.EndedAgeS.add(pubStart - c.connectedAt)
			}
			res.EndedAfterS = res.EndedAfterS.add(c.endedAt - pubStart)
		} else {
			res.LostOnOpen += missing
			if c.connectedAt > 0 {
				res.KeptAgeS = res.KeptAgeS.add(pubStart - c.connectedAt)
			}
		}
		lats = append(lats, c.lats...)
		minSent = min(minSent, c.minSent)
		maxRcv = max(maxRcv, c.lastRcv)
		bytes += c.bytes
	}
	res.Lost = want - res.Delivered
	if res.Delivered > 0 {
		res.DeliverSeconds = float64(maxRcv-minSent) / 1e9
		res.DeliveriesPerS = float64(res.Delivered) / res.DeliverSeconds
		res.CPUPerDelivUs = float64(res.ServerCPUUs) / float64(res.Delivered)
	}
	if len(lats) > 0 {
		slices.Sort(lats)
		res.LatencyP50Us = lats[len(lats)/2]
		res.LatencyP99Us = lats[min(len(lats)*99/100, len(lats)-1)]
		res.LatencyMaxUs = lats[len(lats)-1]
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.Load = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if res.GOMAXPROCS == 0 {
		res.GOMAXPROCS = runtime.NumCPU()
	}
	return res, nil
}

// span is the least and the most of a set of durations, in seconds.
type span struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// add widens s to hold d nanoseconds, making s if it is nil.
func (s *span) add(d int64) *span {
	v := float64(d) / 1e9
	if s == nil {
		return &span{Min: v, Max: v}
	}
	s.Min, s.Max = min(s.Min, v), max(s.Max, v)
	return s
}

func (s *span) String() string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f–%.1f", s.Min, s.Max)
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func stats(ctx context.Context, hc *http.Client, base string, gc bool) (serverStats, error) {
	u := base + "/stats"
	if gc {
		u += "?gc=1"
	}
	var st serverStats
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// kinds formats counts by name, the names sorted.
func kinds[N int64 | uint64](m map[string]N) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}

func printTable(w io.Writer, r *result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any, unit string) { fmt.Fprintf(tw, "%s\t%v\t %s\t\n", k, v, unit) }
	row("server", r.Impl, "")
	row("protocol", r.Proto, "")
	if r.Unicast {
		row("channels", "one per client", "")
	}
	if r.PauseMs > 0 {
		row("client's pause between reads", r.PauseMs, "ms")
	}
	if r.Sources > 0 {
		row("client source addresses", r.Sources, "")
	}
	row("connections", r.Conns, "")
	row("events × bytes", fmt.Sprintf("%d × %d", r.Events, r.EventBytes), "")
	rate := "burst"
	if r.Rate > 0 {
		rate = fmt.Sprint(r.Rate)
	}
	row("rate", rate, "events/s")
	row("connect time", fmt.Sprintf("%.2f", r.ConnectSeconds), "s")
	row("delivered", fmt.Sprintf("%d / %d", r.Delivered, r.Expected), "")
	row("lost / dup / out of order", fmt.Sprintf("%d / %d / %d", r.Lost, r.Duplicated, r.OutOfOrder), "")
	row("streams ended by server", r.StreamsEnded, "")
	if r.StreamsEnded > 0 {
		row("  as the clients saw it", kinds(r.EndedAs), "")
		row("  events missing on them / on open streams", fmt.Sprintf("%d / %d", r.LostOnEnded, r.LostOnOpen), "")
		row("  connected before publishing, ended / kept", r.EndedAgeS.String()+" / "+r.KeptAgeS.String(), "s")
		row("  ended after publishing began", r.EndedAfterS.String(), "s")
	}
	if len(r.ServerDisconnects) > 0 {
		row("server's disconnects by reason", kinds(r.ServerDisconnects), "")
	}
	row("publish time", fmt.Sprintf("%.3f", r.PublishSeconds), "s")
	row("delivery time", fmt.Sprintf("%.3f", r.DeliverSeconds), "s")
	row("deliveries", fmt.Sprintf("%.0f", r.DeliveriesPerS), "/s")
	row("latency p50 / p99 / max", fmt.Sprintf("%d / %d / %d", r.LatencyP50Us, r.LatencyP99Us, r.LatencyMaxUs), "µs")
	row("server RSS base → idle", fmt.Sprintf("%d → %d", r.RSSBaseKiB, r.RSSIdleKiB), "KiB")
	row("server RSS per idle conn", r.RSSPerConnBytes, "bytes")
	row("server CPU", r.ServerCPUUs, "µs")
	row("server CPU per delivery", fmt.Sprintf("%.3f", r.CPUPerDelivUs), "µs")
	row("client CPU (this process)", r.ClientCPUUs, "µs")
	row("load average", r.Load, "")
	tw.Flush()
}
