// Command ssevent-bench measures how fast an ssevent hub fans events out.
//
// It starts the server as a child process (so that its memory and CPU are
// measured alone), opens N SSE connections to it over 127.0.0.1 with a
// cheap client (raw HTTP/1.1, one goroutine and a 32 KiB read buffer per
// connection; 4 KiB per HTTP/2 stream), publishes M events of a given wire size at a given rate, and
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
// -impl hub-release sets Config.ReleaseHandler. -impl ceiling is the
// upper bound for the hub's fast path: connections taken over from
// net/http, one shared log of encoded events per channel, and a pool of
// writers that write what each connection has not had in one
// non-blocking write (no history, sessions, queues or bounds).
//
// -proto tls, h2 and h2c serve HTTP/1.1 over TLS, HTTP/2 over TLS (with a
// self-signed certificate made at start, which the client trusts) and
// HTTP/2 without TLS; the HTTP/2 clients share connections, as browsers
// do. -sources spreads the connections over several loopback source
// addresses (127.0.0.2 and on), which past about 28,000 connections one
// address cannot hold; it is automatic past 20,000 over HTTP/1.1. The
// HTTP/2 server takes up to 1,000 streams per connection. -unicast puts
// every client on a channel of its own. -pause makes each client pause
// between two reads.
//
// -instances k starts k server processes whose hubs act as one over
// Redis (redisbroker), as several instances of an app do: the clients are
// spread over them in turn, and each event is published once, to the
// first, which Redis carries to the others. The run starts a redis-server
// of its own on 127.0.0.1 (keeping nothing on disk), or uses -redis.
// -procs p spreads the clients over p processes of their own, which
// report to the driver; it sums what they saw as if one process had. With
// both, no process holds more than its share of the connections: past
// the per-process limit on open files (ulimit -n), this is how one
// machine holds 100,000 streams over HTTP/1.1. The RSS per stream is then
// each instance's growth over its own streams, the server CPU the sum of
// the instances' (redis-server's is given apart).
//
//	ssevent-bench -n 10000 -m 500 -proto h2           # HTTP/2 over TLS
//	ssevent-bench -n 10000 -m 50 -rate 10 -unicast    # 10 events/s to each of 10,000 channels
//	ssevent-bench -n 100000 -m 20 -proto h2c          # 100,000 streams in one hub, over HTTP/2
//	ssevent-bench -n 100000 -m 20 -impl hub-release -instances 6 -procs 6   # 100,000 streams, six hubs on Redis
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
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
	// instances are the serving processes, procs the client processes;
	// redis is the URL of the Redis that joins the instances.
	instances, procs int
	redis            string
	// presenceSync and presenceInterval are the instances' redisbroker
	// Options.PresenceSync and PresenceInterval (0: its defaults).
	presenceSync, presenceInterval time.Duration
}

// result is the JSON line; the table shows the same fields.
type result struct {
	Impl           string  `json:"impl"`
	Proto          string  `json:"proto"`
	Unicast        bool    `json:"unicast,omitempty"`
	PauseMs        float64 `json:"readPauseMs,omitempty"`
	Sources        int     `json:"sourceAddresses"`
	Conns          int     `json:"conns"`
	ConnectFailed  int     `json:"connectFailed"`
	Events         int     `json:"events"`
	EventBytes     int     `json:"eventBytes"`
	Rate           float64 `json:"rate"`
	ConnectSeconds float64 `json:"connectSeconds"`
	Expected       int64   `json:"expected"`
	Delivered      int64   `json:"delivered"`
	Lost           int64   `json:"lost"`
	Duplicated     int64   `json:"duplicated"`
	OutOfOrder     int64   `json:"outOfOrder"`
	StreamsEnded   int64   `json:"streamsEnded"`
	PublishSeconds float64 `json:"publishSeconds"`
	// PublishErrors counts the Sends that failed, PublishFirstErr says
	// why the first did.
	PublishErrors   int     `json:"publishErrors,omitempty"`
	PublishFirstErr string  `json:"publishFirstErr,omitempty"`
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

	// InstanceCount is the number of serving processes, joined by
	// Redis when Redis is set; Procs the number of client processes.
	// With several instances, the RSS figures above are their sums and
	// RSSPerConnBytes their total growth over all the streams;
	// RSSPerConnMin and Max are the least and the most of one
	// instance's growth over its own streams, and Instances has each.
	InstanceCount int              `json:"instances"`
	Procs         int              `json:"clientProcs"`
	Redis         bool             `json:"redis,omitempty"`
	RSSPerConnMin int64            `json:"serverRSSPerConnMinBytes"`
	RSSPerConnMax int64            `json:"serverRSSPerConnMaxBytes"`
	Instances     []instanceResult `json:"perInstance,omitempty"`
	// RedisCPUUs is the CPU the run's own redis-server used while the
	// events were published and delivered; RedisRSS its RSS before the
	// streams connected and once they were idle.
	RedisCPUUs      int64 `json:"redisCPUus,omitempty"`
	RedisRSSBaseKiB int64 `json:"redisRSSBaseKiB,omitempty"`
	RedisRSSIdleKiB int64 `json:"redisRSSIdleKiB,omitempty"`

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

// instanceResult is what one serving process of several measured.
type instanceResult struct {
	Streams         int   `json:"streams"`
	RSSBaseKiB      int64 `json:"rssBaseKiB"`
	RSSIdleKiB      int64 `json:"rssIdleKiB"`
	RSSPerConnBytes int64 `json:"rssPerConnBytes"`
	CPUUs           int64 `json:"cpuUs"`
}

func main() {
	var o options
	serveMode := flag.Bool("serve", false, "run as the server (started by the tool itself)")
	clientMode := flag.Bool("client", false, "run as a client process (started by the tool itself)")
	addrs := flag.String("addrs", "", "with -client: the servers' host:port, comma-separated")
	first := flag.Int("first", 0, "with -client: the number of the first stream among the run's")
	redisPrefix := flag.String("redis-prefix", "", "with -serve: the prefix of the run's Redis keys")
	flag.IntVar(&o.n, "n", 2000, "connections")
	flag.IntVar(&o.m, "m", 1000, "events to publish")
	flag.IntVar(&o.size, "size", 256, "bytes of one event on the wire")
	flag.Float64Var(&o.rate, "rate", 0, "events per second; 0 publishes as fast as Send returns")
	flag.StringVar(&o.impl, "impl", "hub", "server: hub (ssevent), hub-release (the hub with Config.ReleaseHandler), hub-std (the hub's path for HTTP/2, TLS and wrapped writers), bare (a minimal write loop) or ceiling (taken-over connections sharing one log per channel, written by a pool: the upper bound for the fast path, HTTP/1.1 only)")
	flag.StringVar(&o.proto, "proto", "http1", "protocol: http1 (HTTP/1.1), tls (HTTP/1.1 over TLS), h2 (HTTP/2 over TLS) or h2c (HTTP/2 without TLS); TLS uses a self-signed certificate made at start")
	flag.IntVar(&o.sources, "sources", 0, "loopback addresses to connect from, 127.0.0.2 and on (0: one per 20,000 connections past the first 20,000, else the system's choice)")
	flag.DurationVar(&o.pause, "pause", 0, "the client's pause between two reads of a stream (0: read at once)")
	flag.BoolVar(&o.unicast, "unicast", false, "every client on a channel of its own; each event goes to every channel in turn (-rate is per channel)")
	flag.IntVar(&o.queue, "queue", 1024, "per-stream queue size of the server")
	flag.IntVar(&o.conc, "conc", 128, "connections opened at once (shared by the client processes)")
	flag.StringVar(&o.channel, "channel", "bench", "channel the clients join")
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "hard limit on the whole run")
	flag.DurationVar(&o.settle, "settle", time.Second, "pause before measuring idle memory")
	flag.DurationVar(&o.idle, "idle", 5*time.Second, "end the run when no event arrived for this long")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write the server's CPU profile of the publish phase to this file")
	flag.IntVar(&o.gomaxprocs, "server-procs", 0, "GOMAXPROCS of the server (0: Go's default)")
	flag.IntVar(&o.instances, "instances", 1, "server processes; past one, their hubs act as one over Redis, the clients are spread over them in turn and each event is published once, to the first")
	flag.IntVar(&o.procs, "procs", 1, "client processes the connections are spread over (each holds one descriptor per connection over HTTP/1.1)")
	flag.StringVar(&o.redis, "redis", "", "Redis URL joining the instances (even one); default with -instances > 1: a redis-server of the run's own on 127.0.0.1")
	flag.DurationVar(&o.presenceSync, "presence-sync", 0, "with Redis: how often each hub looks for changes of its streams to store its presence (redisbroker Options.PresenceSync; 0: its default, 100ms)")
	flag.DurationVar(&o.presenceInterval, "presence-interval", 0, "with Redis: how often each hub stores its presence anyway (redisbroker Options.PresenceInterval; 0: its default, 1s)")
	jsonOnly := flag.Bool("json", false, "print only the JSON line")
	flag.Parse()

	if *serveMode {
		rb := redisOptions{url: o.redis, prefix: *redisPrefix, presenceSync: o.presenceSync, presenceInterval: o.presenceInterval}
		if err := serve(o.impl, o.queue, o.cpuprofile, o.proto, rb); err != nil {
			fmt.Fprintln(os.Stderr, "ssevent-bench -serve:", err)
			os.Exit(1)
		}
		return
	}
	if *clientMode {
		if err := runClients(o, *addrs, *first); err != nil {
			fmt.Fprintln(os.Stderr, "ssevent-bench -client:", err)
			os.Exit(1)
		}
		return
	}
	// The client keeps 4 bytes of latency per delivery: bound the total.
	if o.n < 1 || o.m < 1 || o.size < 64 || o.conc < 1 || o.n > 100_000 || o.m > 1_000_000 || o.n*o.m > 100_000_000 ||
		o.sources < 0 || o.sources > 250 || o.pause < 0 || o.instances < 1 || o.instances > 64 || o.procs < 1 || o.procs > 64 ||
		o.instances > o.n || o.procs > o.n {
		fmt.Fprintln(os.Stderr, "ssevent-bench: need 1 ≤ -n ≤ 100000, 1 ≤ -m ≤ 1000000, -n × -m ≤ 100000000, -size ≥ 64, -conc ≥ 1, 0 ≤ -sources ≤ 250, -pause ≥ 0, 1 ≤ -instances ≤ 64, 1 ≤ -procs ≤ 64, -instances and -procs ≤ -n")
		os.Exit(2)
	}
	if (o.instances > 1 || o.redis != "") && !strings.HasPrefix(o.impl, "hub") {
		fmt.Fprintf(os.Stderr, "ssevent-bench: -instances and -redis join hubs: -impl %s is not one (hub, hub-release or hub-std)\n", o.impl)
		os.Exit(2)
	}
	switch o.proto {
	case "http1", "tls", "h2", "h2c":
	default:
		fmt.Fprintf(os.Stderr, "ssevent-bench: unknown -proto %q: http1, tls, h2 or h2c\n", o.proto)
		os.Exit(2)
	}
	if o.sources == 0 && o.n > 20_000 && o.proto != "h2" && o.proto != "h2c" {
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
	if res.Lost > 0 || res.Duplicated > 0 || res.OutOfOrder > 0 || res.ConnectFailed > 0 || res.PublishErrors > 0 {
		os.Exit(3)
	}
}

// fdsNeeded is the most descriptors one serving process and one client
// process of the run hold: a connection per stream over HTTP/1.1, a
// connection per h2MaxStreams streams (and one more per server) over
// HTTP/2.
func fdsNeeded(o options) (server, client uint64) {
	perServer := (o.n + o.instances - 1) / o.instances
	perClient := (o.n + o.procs - 1) / o.procs
	if o.proto == "h2" || o.proto == "h2c" {
		perServer = perServer/h2MaxStreams + o.procs
		perClient = perClient/h2MaxStreams + o.instances
	}
	return uint64(perServer) + 64, uint64(perClient) + 64
}

func run(o options) (*result, error) {
	limit := raiseFileLimit()
	if srv, cl := fdsNeeded(o); limit < max(srv, cl) {
		return nil, fmt.Errorf("open-file limit %d is too low for %d connections in %d server and %d client processes: "+
			"spread them over more processes (-instances, -procs), or raise the limit (raising the hard limit takes root "+
			"with CAP_SYS_RESOURCE, or ulimit -Hn before the run)", limit, o.n, o.instances, o.procs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	env := os.Environ()
	var roots *x509.CertPool
	if o.proto == "tls" || o.proto == "h2" {
		certPEM, keyPEM, err := selfSigned()
		if err != nil {
			return nil, err
		}
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(certPEM)
		env = append(env, certEnv+"="+string(certPEM), keyEnv+"="+string(keyPEM))
	}

	res := &result{Impl: o.impl, Proto: o.proto, Unicast: o.unicast, PauseMs: float64(o.pause) / 1e6, Sources: o.sources,
		Conns: o.n, Events: o.m, EventBytes: o.size, Rate: o.rate, GOMAXPROCS: o.gomaxprocs,
		InstanceCount: o.instances, Procs: o.procs}

	// The servers: one, or several joined by Redis.
	redisURL := o.redis
	var rs *redisServer
	if o.instances > 1 && redisURL == "" {
		if rs, err = startRedis(ctx); err != nil {
			return nil, err
		}
		defer rs.stop()
		redisURL = rs.url
	}
	res.Redis = redisURL != ""
	serverEnv := env
	if o.gomaxprocs > 0 {
		serverEnv = append(slices.Clone(env), fmt.Sprintf("GOMAXPROCS=%d", o.gomaxprocs))
	}
	insts := make([]*instance, 0, o.instances)
	defer func() {
		for _, in := range insts {
			in.stop()
		}
	}()
	prefix := fmt.Sprintf("ssevent-bench:%d:", time.Now().UnixNano())
	addrs := make([]string, 0, o.instances)
	for i := range o.instances {
		args := []string{"-impl", o.impl, "-queue", fmt.Sprint(o.queue), "-proto", o.proto}
		if o.cpuprofile != "" && i == 0 {
			args = append(args, "-cpuprofile", o.cpuprofile)
		}
		if redisURL != "" {
			args = append(args, "-redis", redisURL, "-redis-prefix", prefix,
				"-presence-sync", o.presenceSync.String(), "-presence-interval", o.presenceInterval.String())
		}
		in, err := startInstance(ctx, self, args, serverEnv)
		if err != nil {
			return nil, err
		}
		insts = append(insts, in)
		addrs = append(addrs, in.addr)
	}
	d := newDialer(addrs, o.proto, roots, o.sources, o.pause, o.size)
	for _, in := range insts {
		in.base = d.scheme() + "://" + in.addr
	}
	hc := &http.Client{Timeout: o.timeout}
	if roots != nil {
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}
	}
	// statsAll reads the stats of every instance.
	statsAll := func(gc bool) ([]serverStats, error) {
		all := make([]serverStats, len(insts))
		for i, in := range insts {
			st, err := stats(ctx, hc, in.base, gc)
			if err != nil {
				return nil, err
			}
			all[i] = st
		}
		return all, nil
	}
	redisCPU := func() int64 {
		if rs == nil {
			return 0
		}
		return procCPUMicros(rs.pid())
	}
	before, err := statsAll(true)
	if err != nil {
		return nil, err
	}
	var redisBase int64
	if rs != nil {
		redisBase = procStatusKiB(fmt.Sprintf("/proc/%d/status", rs.pid()), "VmRSS:")
	}

	// The clients: in this process, or in -procs processes of their own.
	var fl fleet
	start := time.Now()
	if o.procs == 1 {
		cnt := &counters{}
		clients, failed, cerr := connectAll(d, o.channel, o.unicast, 0, o.n, o.m, o.conc, cnt)
		fl, res.ConnectFailed, err = &localFleet{clients: clients, cnt: cnt}, failed, cerr
	} else {
		args := []string{"-addrs", strings.Join(addrs, ","), "-proto", o.proto, "-sources", fmt.Sprint(o.sources),
			"-pause", o.pause.String(), "-channel", o.channel, fmt.Sprintf("-unicast=%t", o.unicast),
			"-m", fmt.Sprint(o.m), "-size", fmt.Sprint(o.size), "-conc", fmt.Sprint(max(1, o.conc/o.procs))}
		var cf childFleet
		cf, res.ConnectFailed, err = startChildren(ctx, self, env, args, shares(o.n, o.procs))
		if cf != nil {
			fl = cf
		}
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	if fl != nil {
		defer fl.close()
	}
	if err != nil || res.ConnectFailed > 0 {
		return nil, fmt.Errorf("%d of %d connections failed, first: %w", res.ConnectFailed, o.n, err)
	}
	if err := sleep(ctx, o.settle); err != nil {
		return nil, err
	}
	idle, err := statsAll(true)
	if err != nil {
		return nil, err
	}
	want := shares(o.n, o.instances) // stream i goes to instance i % k
	var grown int64
	for i, st := range idle {
		if st.Streams != want[i] {
			_, ended := fl.progress()
			seen := ""
			if lf, ok := fl.(*localFleet); ok {
				seen = " (" + kinds(lf.endedKinds()) + ")"
			}
			return nil, fmt.Errorf("server %d holds %d streams, want %d (connected in %.1f s; streams the server ended: %s; streams the clients saw end: %d%s)",
				i, st.Streams, want[i], res.ConnectSeconds, kinds(st.Disconnects), ended, seen)
		}
		in := instanceResult{Streams: st.Streams, RSSBaseKiB: before[i].RSSKiB, RSSIdleKiB: st.RSSKiB,
			RSSPerConnBytes: (st.RSSKiB - before[i].RSSKiB) * 1024 / int64(max(st.Streams, 1))}
		res.Instances = append(res.Instances, in)
		res.RSSBaseKiB += in.RSSBaseKiB
		res.RSSIdleKiB += in.RSSIdleKiB
		grown += st.RSSKiB - before[i].RSSKiB
		if i == 0 {
			res.RSSPerConnMin, res.RSSPerConnMax = in.RSSPerConnBytes, in.RSSPerConnBytes
		}
		res.RSSPerConnMin = min(res.RSSPerConnMin, in.RSSPerConnBytes)
		res.RSSPerConnMax = max(res.RSSPerConnMax, in.RSSPerConnBytes)
	}
	res.RSSPerConnBytes = grown * 1024 / int64(o.n)
	if rs != nil {
		res.RedisRSSBaseKiB = redisBase
		res.RedisRSSIdleKiB = procStatusKiB(fmt.Sprintf("/proc/%d/status", rs.pid()), "VmRSS:")
	}
	if len(insts) == 1 {
		res.Instances = nil // the totals say it all
	}

	// Publish, once, to the first instance (Redis carries each event to
	// the others), and wait for every delivery or for the streams to go
	// quiet.
	cpu0, err := statsAll(false)
	if err != nil {
		return nil, err
	}
	redis0 := redisCPU()
	fl.mark()
	pubStart := time.Now().UnixNano()
	pubDone := make(chan publishResult, 1)
	pubErr := make(chan error, 1)
	go func() {
		u := fmt.Sprintf("%s/publish?n=%d&size=%d&rate=%g&channel=%s", insts[0].base, o.m, o.size, o.rate, o.channel)
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
	res.Expected = int64(o.n) * int64(o.m)
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
			d, _ := fl.progress()
			return nil, fmt.Errorf("run deadline passed with %d of %d deliveries", d, res.Expected)
		case <-time.After(2 * time.Millisecond):
		}
		d, ended := fl.progress()
		if d != last {
			last, lastChange = d, time.Now()
		}
		if published && (d >= res.Expected || time.Since(lastChange) > o.idle || ended == int64(o.n)) {
			break
		}
	}
	cpu1, err := statsAll(false)
	if err != nil {
		return nil, err
	}
	if rs != nil {
		res.RedisCPUUs = redisCPU() - redis0
	}
	// A Send that failed (Redis did not answer in time) may still have
	// published its event (Redis ran the script after the broker gave up
	// waiting): the clients say whether it was lost, and the run goes on.
	res.PublishErrors, res.PublishFirstErr = pr.Errors, pr.FirstErr
	res.PublishSeconds = float64(pr.Nanos) / 1e9
	for i := range insts {
		cpu := cpu1[i].CPUMicros - cpu0[i].CPUMicros
		res.ServerCPUUs += cpu
		if res.Instances != nil {
			res.Instances[i].CPUUs = cpu
		}
		for k, n := range cpu1[i].Disconnects {
			if res.ServerDisconnects == nil {
				res.ServerDisconnects = make(map[string]uint64)
			}
			res.ServerDisconnects[k] += n
		}
	}

	// Stop the readers and sum what the clients saw.
	s, err := fl.finish(ctx, pubStart)
	if err != nil {
		return nil, err
	}
	res.ClientCPUUs = s.CPUus
	res.Delivered, res.Duplicated, res.OutOfOrder = s.Delivered, s.Duplicated, s.OutOfOrder
	res.StreamsEnded, res.EndedAs = s.StreamsEnded, s.EndedAs
	res.LostOnEnded, res.LostOnOpen = s.LostOnEnded, s.LostOnOpen
	res.EndedAgeS, res.KeptAgeS, res.EndedAfterS = s.EndedAgeS, s.KeptAgeS, s.EndedAfterS
	res.Lost = res.Expected - res.Delivered
	if res.Delivered > 0 {
		res.DeliverSeconds = float64(s.MaxRcv-s.MinSent) / 1e9
		res.DeliveriesPerS = float64(res.Delivered) / res.DeliverSeconds
		res.CPUPerDelivUs = float64(res.ServerCPUUs) / float64(res.Delivered)
	}
	res.LatencyP50Us, res.LatencyP99Us, res.LatencyMaxUs = s.percentiles()
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

// merge widens s to hold o, making s if it is nil.
func (s *span) merge(o *span) *span {
	if o == nil {
		return s
	}
	if s == nil {
		c := *o
		return &c
	}
	s.Min, s.Max = min(s.Min, o.Min), max(s.Max, o.Max)
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
	if r.InstanceCount > 1 || r.Redis {
		row("server instances", fmt.Sprintf("%d, over Redis", r.InstanceCount), "")
	}
	if r.Procs > 1 {
		row("client processes", r.Procs, "")
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
	if r.PublishErrors > 0 {
		row("publish errors", fmt.Sprintf("%d, first: %s", r.PublishErrors, r.PublishFirstErr), "")
	}
	row("delivery time", fmt.Sprintf("%.3f", r.DeliverSeconds), "s")
	row("deliveries", fmt.Sprintf("%.0f", r.DeliveriesPerS), "/s")
	row("latency p50 / p99 / max", fmt.Sprintf("%d / %d / %d", r.LatencyP50Us, r.LatencyP99Us, r.LatencyMaxUs), "µs")
	row("server RSS base → idle", fmt.Sprintf("%d → %d", r.RSSBaseKiB, r.RSSIdleKiB), "KiB")
	row("server RSS per idle conn", r.RSSPerConnBytes, "bytes")
	if len(r.Instances) > 1 {
		row("  one instance's, least / most", fmt.Sprintf("%d / %d", r.RSSPerConnMin, r.RSSPerConnMax), "bytes")
	}
	row("server CPU", r.ServerCPUUs, "µs")
	row("server CPU per delivery", fmt.Sprintf("%.3f", r.CPUPerDelivUs), "µs")
	if r.RedisRSSIdleKiB > 0 {
		row("redis-server CPU", r.RedisCPUUs, "µs")
		row("redis-server RSS base → idle", fmt.Sprintf("%d → %d", r.RedisRSSBaseKiB, r.RedisRSSIdleKiB), "KiB")
	}
	row("client CPU", r.ClientCPUUs, "µs")
	row("load average", r.Load, "")
	tw.Flush()
}
