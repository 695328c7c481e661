package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ssevent/ssevent/server"
	"github.com/ssevent/ssevent/shared"
)

// The quick start: one hub, one route for GET (the stream) and POST
// (subscriptions), and the three ways to publish.
func Example() {
	hub := server.New(server.Config{})
	e := echo.New()
	e.Any("/events", hub.Handler)

	// go e.Start("127.0.0.1:3000") in an application; here a test server.
	srv := httptest.NewServer(e)
	defer srv.Close()
	defer hub.Close(context.Background())

	resp, err := http.Get(srv.URL + "/events?channels=notifications")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	events := shared.NewDecoder(resp.Body, 0)
	connected, _ := events.Next() // the first event: the client's id and channels

	_ = hub.Send("notifications", map[string]string{"message": "Hello"})
	_ = hub.SendTo(clientID(connected.Data), map[string]string{"private": "message"})
	_ = hub.Broadcast(map[string]string{"announcement": "Server update"})

	for range 3 {
		ev, _ := events.Next()
		fmt.Printf("%s %s\n", ev.Name, ev.Data)
	}
	// Output:
	// message {"channel":"notifications","payload":{"message":"Hello"}}
	// message {"channel":"","payload":{"private":"message"}}
	// message {"channel":"","payload":{"announcement":"Server update"}}
}

// clientID pulls the id out of a connected event's data.
func clientID(data []byte) string {
	s := string(data)
	i := strings.Index(s, `"clientId":"`) + len(`"clientId":"`)
	return s[i : i+36]
}

// Hooks see the request's echo.Context, so they can use what the
// application's auth middleware stored. Returning an *echo.HTTPError with a
// 4xx status refuses.
func ExampleConfig_hooks() {
	hub := server.New(server.Config{
		OnConnect: func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") == "" {
				return echo.ErrUnauthorized // 401 {"error":"unauthorized",...}
			}
			return nil
		},
		OnSubscribe: func(clientID, channel string, c echo.Context) error {
			if strings.HasPrefix(channel, "admin-") {
				return echo.NewHTTPError(http.StatusForbidden, "admins only") // listed as rejected
			}
			return nil
		},
	})
	defer hub.Close(context.Background())

	e := echo.New()
	e.Any("/events", hub.Handler)
	srv := httptest.NewServer(e)
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/events")
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 401
}

// A custom event name reaches the client as that event, with the payload
// as its data.
func ExampleHub_SendTo() {
	hub := server.New(server.Config{})
	defer hub.Close(context.Background())
	err := hub.SendTo("no-such-client", "hi", "alert")
	fmt.Println(err)
	// Output: ssevent: unknown client
}

// Serving with the timeouts a streaming endpoint wants, and a graceful
// shutdown. Streams end with their server: Shutdown ends them, each with a
// "reconnect" event whose delay is spread out, and returns. Hub.Close then
// releases the hub (it would also end the streams on its own).
func ExampleHub_Close() {
	hub := server.New(server.Config{})
	e := echo.New()
	e.Any("/events", hub.Handler)
	srv := &http.Server{
		Addr:              "127.0.0.1:8080",
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second, // bounds POST bodies; a GET sends none
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: it would end every stream.
	}
	go func() { _ = srv.ListenAndServe() }()

	// On SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	_ = hub.Close(ctx)
}
