package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/metrics"
	"github.com/ssevent/ssevent/server"
)

// The hub's metrics next to its events route, with Echo v4. With Echo v5
// (echov5.New) it is the same: CollectorFor takes its hub too, and
// e.GET("/metrics", echo.WrapHandler(...)) mounts the registry.
func ExampleCollectorFor() {
	hub := server.New(server.Config{})
	defer hub.Close(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.CollectorFor(hub))

	e := echo.New()
	e.Any("/events", hub.Handler)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	// e.Start(":8080") in a program; here, a test server.
	srv := httptest.NewServer(e)
	defer srv.Close()

	printMetrics(srv.URL+"/metrics", "ssevent_streams")
	// Output:
	// ssevent_streams{path="standard",protocol="http1"} 0
	// ssevent_streams{path="standard",protocol="http2"} 0
	// ssevent_streams{path="takeover",protocol="http1"} 0
}

// The core hub and its metrics on a net/http ServeMux, the hub named by a
// constant label. A PUT is refused, and counted.
func ExampleNewCollector() {
	hub := ssevent.New(ssevent.Config{})
	defer hub.Close(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(hub, metrics.WithConstLabels(prometheus.Labels{"hub": "public"})))

	mux := http.NewServeMux()
	mux.Handle("/events", hub)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/events", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	printMetrics(srv.URL+"/metrics", `ssevent_refusals_total{code="method_not_allowed"`)
	// Output:
	// ssevent_refusals_total{code="method_not_allowed",hub="public"} 1
}

// printMetrics prints the samples of a scrape of url that start with
// prefix.
func printMetrics(url, prefix string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			fmt.Println(sc.Text())
		}
	}
}
