//go:build !wasm

// Command ssevent-demo is a live demo of ssevent: an Echo server with the hub
// at /events, a go-app progressive web app (Go compiled to WebAssembly, using
// package wasmclient) at /, a plain HTML page using only the script-tag
// client (SSEvent.connect) at /plain.html, and server-rendered htmx and
// Datastar pages at /htmx.html and /datastar.html that run no script of
// ours. The first two pages subscribe and
// unsubscribe channels, publish, send a private message and a broadcast, and
// show the live client counts, a clock channel the server feeds every second,
// and the connection state.
//
//	make run                       # builds the wasm and bin/ssevent-demo, and runs it from the repository's root
//	ssevent-demo -addr 127.0.0.1:8081 -redis redis://127.0.0.1:6379/0
//
// Flags (and environment variables):
//
//	-addr   listen address, default 127.0.0.1:8080 ($SSEVENT_ADDR)
//	-redis  Redis URL; demos given the same one share one hub ($REDIS_URL)
//	-wasm   the go-app program, default cmd/ssevent-demo/web/app.wasm from the repository's root ($SSEVENT_WASM)
//	-htmx      node_modules holding htmx.org and htmx-ext-sse, default internal/e2e/testdata/hypermedia/node_modules
//	           (npm ci there installs them) ($SSEVENT_HTMX)
//	-datastar  the directory holding Datastar's client datastar.js, default bin/datastar, where make run copies
//	           bundles/datastar.js of the Go module github.com/starfederation/datastar@v1.0.2 ($SSEVENT_DATASTAR)
//
// The pages load their clients from the demo itself, never from a CDN; a
// page whose client is missing says so, and the demo logs how to get it.
//
// The same main package is built twice: for the browser (main_wasm.go, the
// go-app components) and for the server (this file and server.go, kept out
// of the wasm build so that it stays small).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("addr", envOr("SSEVENT_ADDR", "127.0.0.1:8080"), "listen address ($SSEVENT_ADDR)")
	redisURL := flag.String("redis", os.Getenv("REDIS_URL"), "Redis URL, e.g. redis://127.0.0.1:6379/0: demos on the same Redis share one hub ($REDIS_URL)")
	wasm := flag.String("wasm", envOr("SSEVENT_WASM", "cmd/ssevent-demo/web/app.wasm"), "the go-app program built by make demo-wasm ($SSEVENT_WASM)")
	htmx := flag.String("htmx", envOr("SSEVENT_HTMX", "internal/e2e/testdata/hypermedia/node_modules"), "node_modules holding htmx.org and htmx-ext-sse for the htmx page ($SSEVENT_HTMX)")
	datastar := flag.String("datastar", envOr("SSEVENT_DATASTAR", "bin/datastar"), "directory holding Datastar's client datastar.js for the Datastar page ($SSEVENT_DATASTAR)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	d, err := newDemo(config{RedisURL: *redisURL, WasmPath: *wasm, Logger: log, HTMXDir: *htmx, DatastarDir: *datastar})
	if err != nil {
		log.Error("ssevent-demo", "err", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("ssevent-demo", "err", err)
		os.Exit(1)
	}
	hub := "in memory"
	if *redisURL != "" {
		hub = "on Redis"
		if u, err := url.Parse(*redisURL); err == nil {
			hub += " " + u.Redacted()
		}
	}
	fmt.Printf("ssevent demo: http://%[1]s/ (go-app)  http://%[1]s/plain.html (script tag)  http://%[1]s/htmx.html (htmx)  http://%[1]s/datastar.html (Datastar)  hub %[2]s\n", l.Addr(), hub)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := d.serve(ctx, l); err != nil {
		log.Error("ssevent-demo", "err", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
