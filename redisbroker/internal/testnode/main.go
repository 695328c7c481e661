// Command testnode is a minimal application on a Redis-backed hub, for the
// tests that run several processes sharing one hub. It serves the events
// endpoint on /events, publishes with POST /send?channel=&data= (data is
// JSON), and answers GET /count with the cluster's ClientCount. It prints
// "listening http://host:port" once it serves.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/redisbroker"
	"github.com/ssevent/ssevent/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	redisURL := flag.String("redis", os.Getenv("REDIS_URL"), "Redis URL (default $REDIS_URL)")
	prefix := flag.String("prefix", "", "Redis key prefix (default ssevent:)")
	presence := flag.Duration("presence", 0, "presence interval (default 1s)")
	flag.Parse()
	if *redisURL == "" {
		log.Fatal("testnode: -redis or REDIS_URL is required")
	}

	b, err := redisbroker.FromURL(*redisURL, redisbroker.Options{Prefix: *prefix, PresenceInterval: *presence})
	if err != nil {
		log.Fatal(err)
	}
	hub, err := server.NewHub(server.Config{Broker: b})
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Any("/events", hub.Handler)
	e.POST("/send", func(c echo.Context) error {
		var data any
		if err := json.Unmarshal([]byte(c.QueryParam("data")), &data); err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		if err := hub.Send(c.QueryParam("channel"), data); err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
		}
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/count", func(c echo.Context) error {
		return c.String(http.StatusOK, strconv.Itoa(hub.ClientCount()))
	})

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hub.Close(ctx)
	})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	fmt.Printf("listening http://%s\n", l.Addr())
	if err := srv.Serve(l); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
