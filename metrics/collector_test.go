package metrics_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/internal/ssetest"
	"github.com/ssevent/ssevent/metrics"
	"github.com/ssevent/ssevent/shared"
)

// testServer is a hub and its metrics behind one real HTTP server: the
// hub on /events, the registry on /metrics.
type testServer struct {
	hub   *ssevent.Hub
	srv   *httptest.Server
	ended chan ssevent.DisconnectReason // what OnDisconnect is told
}

// newTestServer starts a hub with cfg (its OnDisconnect is the server's)
// and a registry holding the hub's Collector made with opts. TLS serves
// HTTP/2 over TLS instead of plain HTTP/1.1.
func newTestServer(t *testing.T, cfg ssevent.Config, tls bool, opts ...metrics.Option) *testServer {
	t.Helper()
	ts := &testServer{ended: make(chan ssevent.DisconnectReason, 1024)}
	cfg.OnDisconnect = func(_ string, r ssevent.DisconnectReason) { ts.ended <- r }
	ts.hub = ssevent.New(cfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(ts.hub, opts...))
	mux := http.NewServeMux()
	mux.Handle("/events", ts.hub)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	ts.srv = httptest.NewUnstartedServer(mux)
	if tls {
		ts.srv.EnableHTTP2 = true
		ts.srv.StartTLS()
	} else {
		ts.srv.Start()
	}
	t.Cleanup(ts.srv.Close)
	t.Cleanup(func() { _ = ts.hub.Close(context.Background()) })
	return ts
}

// waitEnded waits until OnDisconnect has been told n more stream ends and
// returns their reasons, failing t after ssetest.Timeout.
func (ts *testServer) waitEnded(t *testing.T, n int) map[ssevent.DisconnectReason]int {
	t.Helper()
	got := map[ssevent.DisconnectReason]int{}
	deadline := time.NewTimer(ssetest.Timeout)
	defer deadline.Stop()
	for range n {
		select {
		case r := <-ts.ended:
			got[r]++
		case <-deadline.C:
			t.Fatalf("%d streams of %d ended within %v: %v", len(got), n, ssetest.Timeout, got)
		}
	}
	return got
}

// statsUntil polls the hub's Stats until ok accepts them, failing t after
// ssetest.Timeout: streams count as taken over a moment after their first
// event goes out, and nothing signals it.
func (ts *testServer) statsUntil(t *testing.T, what string, ok func(ssevent.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(ssetest.Timeout)
	for s := ts.hub.Stats(); !ok(s); s = ts.hub.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scrape GETs /metrics and parses the text exposition format.
func (ts *testServer) scrape(t *testing.T) scraped {
	t.Helper()
	resp, err := ts.srv.Client().Get(ts.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// scraped is a parsed scrape.
type scraped map[string]*dto.MetricFamily

// get returns the value of the sample of name whose labels include the
// pairs in labels (name, value, name, value...), failing t unless exactly
// one sample has them.
func (s scraped) get(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	f, ok := s[name]
	require.True(t, ok, "no metric %s", name)
	var found []float64
	for _, m := range f.GetMetric() {
		if hasLabels(m, labels) {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				found = append(found, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				found = append(found, m.GetGauge().GetValue())
			default:
				t.Fatalf("%s has type %v", name, f.GetType())
			}
		}
	}
	require.Len(t, found, 1, "samples of %s with labels %v", name, labels)
	return found[0]
}

// labelValues returns the values that the samples of name have for label.
func (s scraped) labelValues(t *testing.T, name, label string) []string {
	t.Helper()
	f, ok := s[name]
	require.True(t, ok, "no metric %s", name)
	var vals []string
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				vals = append(vals, l.GetValue())
			}
		}
	}
	slices.Sort(vals)
	return vals
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
			return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
		}) {
			return false
		}
	}
	return true
}

// countingReader counts the bytes a client reads.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// What the load test does, on the hub's two stream paths: clients streams
// read every event of publishers racing each other; refused requests of
// five kinds; streams ended by their client, by Unsubscribe and by
// Hub.Close. A scrape of /metrics over HTTP must count exactly that.
func TestMetricsCountWhatHappened(t *testing.T) {
	const (
		clients    = 20
		publishers = 4
		events     = 500 // in all, split among the publishers
		closed     = 3   // clients that close their stream
		ended      = 2   // clients whose session Unsubscribe ends
	)
	for _, takeover := range []bool{true, false} {
		t.Run(fmt.Sprintf("takeover=%v", takeover), func(t *testing.T) {
			ts := newTestServer(t, ssevent.Config{
				HeartbeatInterval:   -1,
				MaxTotalConnections: clients,
				DisableTakeover:     !takeover,
			}, false)
			ctx := context.Background()
			url := ts.srv.URL + "/events"

			streams := make([]*ssetest.Stream, clients)
			ids := make([]string, clients)
			// The bytes each client reads, its first event included:
			// BytesWritten counts at least as many.
			read := make([]atomic.Int64, clients)
			for i := range streams {
				streams[i] = ssetest.Open(t, url+"?channels=load", nil, func(r io.Reader) io.Reader {
					return countingReader{r, &read[i]}
				})
				c, _ := streams[i].Connected(t)
				ids[i] = c.ClientID
			}
			var wg sync.WaitGroup
			errs := make(chan error, events)
			for p := range publishers {
				wg.Go(func() {
					for i := range events / publishers {
						if err := ts.hub.Send(ctx, "load", map[string]int{"publisher": p, "i": i}); err != nil {
							errs <- err
						}
					}
				})
			}
			require.NoError(t, ts.hub.Send(ctx, "nobody", "lost")) // published, delivered to no one
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for _, s := range streams {
				for range events {
					require.Equal(t, shared.EventMessage, s.Next(t, nil).Name)
				}
			}

			// Refusals: one of each kind below.
			do := func(method, path, contentType, body string) int {
				req, err := http.NewRequest(method, ts.srv.URL+path, strings.NewReader(body))
				require.NoError(t, err)
				if contentType != "" {
					req.Header.Set("Content-Type", contentType)
				}
				resp, err := ts.srv.Client().Do(req)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			require.Equal(t, http.StatusServiceUnavailable, do(http.MethodGet, "/events", "", ""), "past MaxTotalConnections")
			require.Equal(t, http.StatusBadRequest, do(http.MethodPost, "/events", "application/json", "{"))
			require.Equal(t, http.StatusNotFound, do(http.MethodPost, "/events", "application/json",
				`{"action":"subscribe","clientId":"00000000-0000-4000-8000-000000000000","channels":["z"]}`))
			require.Equal(t, http.StatusUnprocessableEntity, do(http.MethodGet, "/events?channels=a%01b", "", ""))
			require.Equal(t, http.StatusMethodNotAllowed, do(http.MethodPut, "/events", "", ""))

			// Disconnects: closed clients leave, ended sessions are
			// ended by the application.
			for i := range closed {
				streams[i].Close()
			}
			for i := closed; i < closed+ended; i++ {
				require.NoError(t, ts.hub.Unsubscribe(ctx, ids[i]))
				streams[i].Ended(t)
			}
			require.Equal(t, map[ssevent.DisconnectReason]int{
				ssevent.DisconnectClientGone:   closed,
				ssevent.DisconnectUnsubscribed: ended,
			}, ts.waitEnded(t, closed+ended))
			open := clients - closed - ended
			ts.statsUntil(t, "open streams counted, their queues written", func(s ssevent.Stats) bool {
				return s.Streams == open && (!takeover || s.StreamsTakenOver == open) && s.QueuedBytes == 0
			})

			m := ts.scrape(t)
			wantPath := map[bool]string{true: "takeover", false: "standard"}[takeover]
			otherPath := map[bool]string{true: "standard", false: "takeover"}[takeover]
			require.Equal(t, float64(open), m.get(t, "ssevent_streams", "path", wantPath, "protocol", "http1"))
			require.Zero(t, m.get(t, "ssevent_streams", "path", otherPath, "protocol", "http1"))
			require.Zero(t, m.get(t, "ssevent_streams", "path", "standard", "protocol", "http2"))
			require.Equal(t, float64(closed), m.get(t, "ssevent_sessions_waiting"))
			require.Equal(t, 2.0, m.get(t, "ssevent_channels")) // default, load
			require.Equal(t, float64(2*(open+closed)), m.get(t, "ssevent_subscriptions"))
			require.Zero(t, m.get(t, "ssevent_queued_bytes"))
			require.Zero(t, m.get(t, "ssevent_queued_bytes_max"))

			require.Equal(t, float64(clients), m.get(t, "ssevent_connects_total"))
			require.Equal(t, float64(events+1), m.get(t, "ssevent_events_published_total"))
			require.Zero(t, m.get(t, "ssevent_publish_errors_total"))
			require.Positive(t, m.get(t, "ssevent_publish_seconds_total"))
			require.Equal(t, float64(events*clients), m.get(t, "ssevent_events_delivered_total"))
			var total int64
			for i := range read {
				total += read[i].Load()
			}
			require.GreaterOrEqual(t, m.get(t, "ssevent_bytes_written_total"), float64(total))
			require.Zero(t, m.get(t, "ssevent_replays_total"))
			require.Zero(t, m.get(t, "ssevent_gaps_total"))
			require.Zero(t, m.get(t, "ssevent_broker_errors_total"))

			wantDisconnects := map[string]float64{
				string(ssevent.DisconnectClientGone):   closed,
				string(ssevent.DisconnectUnsubscribed): ended,
			}
			requireByLabel(t, m, "ssevent_disconnects_total", "reason", wantDisconnects)
			wantRefusals := map[string]float64{
				shared.CodeTooManyClients:   1,
				shared.CodeInvalidJSON:      1,
				shared.CodeUnknownClient:    1,
				shared.CodeInvalidChannel:   1,
				shared.CodeMethodNotAllowed: 1,
			}
			requireByLabel(t, m, "ssevent_refusals_total", "code", wantRefusals)

			// Closing the hub ends the open streams; a stream asked for
			// afterwards is refused.
			require.NoError(t, ts.hub.Close(ctx))
			require.Equal(t, map[ssevent.DisconnectReason]int{ssevent.DisconnectHubClosed: open}, ts.waitEnded(t, open))
			require.Equal(t, http.StatusServiceUnavailable, do(http.MethodGet, "/events", "", ""))
			m = ts.scrape(t)
			for _, path := range []string{"takeover", "standard"} {
				require.Zero(t, m.get(t, "ssevent_streams", "path", path, "protocol", "http1"))
			}
			wantDisconnects[string(ssevent.DisconnectHubClosed)] = float64(open)
			requireByLabel(t, m, "ssevent_disconnects_total", "reason", wantDisconnects)
			wantRefusals[shared.CodeHubClosed] = 1
			requireByLabel(t, m, "ssevent_refusals_total", "code", wantRefusals)
		})
	}
}

// requireByLabel checks every sample of name: those whose label has a
// value in want have that value, the others are 0.
func requireByLabel(t *testing.T, m scraped, name, label string, want map[string]float64) {
	t.Helper()
	got := map[string]float64{}
	for _, v := range m.labelValues(t, name, label) {
		if n := m.get(t, name, label, v); n != 0 {
			got[v] = n
		}
	}
	require.Equal(t, want, got, "%s by %s", name, label)
}

// A stream over HTTP/2 is counted as such, on the standard path.
func TestMetricsStreamOverHTTP2(t *testing.T) {
	ts := newTestServer(t, ssevent.Config{HeartbeatInterval: -1}, true)
	resp, err := ts.srv.Client().Get(ts.srv.URL + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 2, resp.ProtoMajor)
	ev, err := shared.NewDecoder(resp.Body, 0).Next()
	require.NoError(t, err)
	require.Equal(t, shared.EventConnected, ev.Name)

	m := ts.scrape(t)
	require.Equal(t, 1.0, m.get(t, "ssevent_streams", "path", "standard", "protocol", "http2"))
	require.Zero(t, m.get(t, "ssevent_streams", "path", "standard", "protocol", "http1"))
	require.Zero(t, m.get(t, "ssevent_streams", "path", "takeover", "protocol", "http1"))
	require.Equal(t, 1.0, m.get(t, "ssevent_connects_total"))
}

// Before anything happens, every metric is there: every reason and code
// at 0, the constant labels on each sample.
func TestMetricsExportEverythingFromTheStart(t *testing.T) {
	ts := newTestServer(t, ssevent.Config{HeartbeatInterval: -1}, false,
		metrics.WithConstLabels(prometheus.Labels{"hub": "public"}))
	m := ts.scrape(t)
	names := make([]string, 0, len(m))
	for name, f := range m {
		names = append(names, name)
		for _, s := range f.GetMetric() {
			require.True(t, hasLabels(s, []string{"hub", "public"}), "%s without the hub label", name)
		}
	}
	slices.Sort(names)
	require.Equal(t, []string{
		"ssevent_broker_errors_total", "ssevent_bytes_written_total", "ssevent_channels",
		"ssevent_connects_total", "ssevent_disconnects_total", "ssevent_events_delivered_total",
		"ssevent_events_published_total", "ssevent_gaps_total", "ssevent_publish_errors_total",
		"ssevent_publish_seconds_total", "ssevent_queued_bytes", "ssevent_queued_bytes_max",
		"ssevent_refusals_total", "ssevent_replays_total", "ssevent_sessions_waiting",
		"ssevent_streams", "ssevent_subscriptions",
	}, names)
	require.Equal(t, constStrings(t, "..", "DisconnectReason"), m.labelValues(t, "ssevent_disconnects_total", "reason"))
	require.Equal(t, constStrings(t, "../shared", "Code"), m.labelValues(t, "ssevent_refusals_total", "code"))
	requireByLabel(t, m, "ssevent_disconnects_total", "reason", map[string]float64{})
	requireByLabel(t, m, "ssevent_refusals_total", "code", map[string]float64{})
	require.Len(t, m["ssevent_streams"].GetMetric(), 3)
}

// constStrings returns, sorted, the string values of the constants that
// the non-test Go files of dir declare with type typ, or, when typ is
// not a type of dir, whose names start with typ: the reasons and codes
// the hub can report, read from its source so that a new one is not
// missed here.
func constStrings(t *testing.T, dir, typ string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	require.NoError(t, err)
	var vals []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				typed := false
				if id, ok := vs.Type.(*ast.Ident); ok && id.Name == typ {
					typed = true
				}
				for i, n := range vs.Names {
					if !typed && (!n.IsExported() || !strings.HasPrefix(n.Name, typ) || vs.Type != nil) {
						continue
					}
					if i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					v, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					vals = append(vals, v)
				}
			}
		}
	}
	require.NotEmpty(t, vals, "no %s constants in %s", typ, dir)
	slices.Sort(vals)
	return vals
}

// The Collector passes promlint, with and without constant labels.
func TestCollectorLint(t *testing.T) {
	hub := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	t.Cleanup(func() { _ = hub.Close(context.Background()) })
	for _, c := range []*metrics.Collector{
		metrics.NewCollector(hub),
		metrics.NewCollector(hub, metrics.WithConstLabels(prometheus.Labels{"hub": "admin"})),
	} {
		problems, err := testutil.CollectAndLint(c)
		require.NoError(t, err)
		require.Empty(t, problems)
		require.Equal(t, 17+2+10+15, testutil.CollectAndCount(c)) // 17 names; 3 streams, 11 reasons, 16 codes
	}
}

// Hubs with distinct constant labels share a registry; the same hub
// registered twice, or an invalid label name, is refused.
func TestCollectorRegistration(t *testing.T) {
	a := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	b := ssevent.New(ssevent.Config{HeartbeatInterval: -1})
	t.Cleanup(func() { _ = a.Close(context.Background()); _ = b.Close(context.Background()) })
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(metrics.NewCollector(a, metrics.WithConstLabels(prometheus.Labels{"hub": "a"}))))
	require.NoError(t, reg.Register(metrics.NewCollector(b, metrics.WithConstLabels(prometheus.Labels{"hub": "b"}))))
	var already prometheus.AlreadyRegisteredError
	require.ErrorAs(t, reg.Register(metrics.NewCollector(b, metrics.WithConstLabels(prometheus.Labels{"hub": "b"}))), &already)
	require.Error(t, reg.Register(metrics.NewCollector(a, metrics.WithConstLabels(prometheus.Labels{"not-a-name": "x"}))))

	fams, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if f.GetName() == "ssevent_connects_total" {
			require.Len(t, f.GetMetric(), 2)
		}
	}
	require.Panics(t, func() { metrics.NewCollector(nil) })
}
