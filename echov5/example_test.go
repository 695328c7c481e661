package echov5_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/ssevent/ssevent/echov5"
	"github.com/ssevent/ssevent/shared"
)

// The quick start: one hub, one route for GET (the stream) and POST
// (subscriptions), and the three ways to publish.
func Example() {
	e := echo.New()
	hub := echov5.New(echov5.Config{})
	e.Any("/events", hub.Handler)

	// echo.StartConfig{Address: ":3000"}.Start(ctx, e) in an application;
	// here a test server.
	srv := httptest.NewServer(e)
	defer srv.Close()
	defer hub.Close(context.Background())

	resp, err := http.Get(srv.URL + "/events?channels=notifications")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	events := shared.NewDecoder(resp.Body, 0)
	first, _ := events.Next() // the connected event: the client's id and channels
	var connected shared.Connected
	_ = json.Unmarshal(first.Data, &connected)

	_ = hub.Send("notifications", map[string]string{"message": "Hello"})
	_ = hub.SendTo(connected.ClientID, map[string]string{"private": "message"})
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

// Hooks see the request's *echo.Context, so they can use what the
// application's auth middleware stored. Returning echo.ErrUnauthorized,
// echo.ErrForbidden or an *echo.HTTPError with a 4xx status refuses;
// Identify binds each session to its user.
func ExampleConfig_hooks() {
	hub := echov5.New(echov5.Config{
		Identify: func(c *echo.Context) (string, error) {
			user, _ := c.Get("user").(string)
			if user == "" {
				return "", echo.ErrUnauthorized // 401 {"error":"unauthorized",...}
			}
			return user, nil
		},
		OnSubscribe: func(clientID, channel string, c *echo.Context) error {
			if strings.HasPrefix(channel, "admin-") {
				return echo.NewHTTPError(http.StatusForbidden, "admins only") // listed as rejected
			}
			return nil
		},
	})
	defer hub.Close(context.Background())

	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc { // stands for echo-jwt
		return func(c *echo.Context) error {
			if token := c.Request().Header.Get("Authorization"); token == "Bearer ann" {
				c.Set("user", "ann")
			}
			return next(c)
		}
	})
	e.Any("/events", hub.Handler)
	srv := httptest.NewServer(e)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/events?channels=news,admin-log", nil)
	req.Header.Set("Authorization", "Bearer ann")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	first, _ := shared.NewDecoder(resp.Body, 0).Next()
	var connected shared.Connected
	_ = json.Unmarshal(first.Data, &connected)
	fmt.Println(resp.StatusCode, connected.Channels, connected.Rejected)
	// Output:
	// 401
	// 200 [default news] [{admin-log admins only}]
}

// A custom event name reaches the client as that event, with the payload
// as its data.
func ExampleHub_SendTo() {
	hub := echov5.New(echov5.Config{})
	defer hub.Close(context.Background())
	err := hub.SendTo("no-such-client", "hi", "alert")
	fmt.Println(err)
	// Output: ssevent: unknown client
}

// Serving with echo.StartConfig and a graceful shutdown on SIGTERM. When
// the context is done, Start's graceful shutdown (GracefulTimeout) calls
// http.Server.Shutdown: the hub ends its streams at once, each with a
// "reconnect" event whose delay is spread out, and Start returns. Hub.Close
// then releases the hub. Keep the ContextTimeout middleware off the events
// route: it would cancel every stream.
func ExampleHub_Close() {
	e := echo.New()
	hub := echov5.New(echov5.Config{})
	e.Any("/events", hub.Handler)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sc := echo.StartConfig{
		Address:         "127.0.0.1:8080",
		GracefulTimeout: 10 * time.Second,
		BeforeServeFunc: func(s *http.Server) error {
			s.ReadHeaderTimeout = 5 * time.Second
			s.IdleTimeout = 2 * time.Minute
			// ReadTimeout (30s by default here) bounds POST bodies; a
			// GET sends none. No WriteTimeout: it would end every stream.
			return nil
		},
	}
	if err := sc.Start(ctx, e); err != nil {
		e.Logger.Error("server", "err", err)
	}

	closing, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hub.Close(closing)
}
