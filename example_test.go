package ssevent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ssevent/ssevent"
	"github.com/ssevent/ssevent/shared"
)

// The quick start with net/http: the hub is an http.Handler for GET (the
// stream) and POST (subscriptions) on one route, and the three ways to
// publish.
func Example() {
	hub := ssevent.New(ssevent.Config{})
	mux := http.NewServeMux()
	mux.Handle("/events", hub)

	// http.ListenAndServe("127.0.0.1:3000", mux) in an application; here
	// a test server.
	srv := httptest.NewServer(mux)
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

	ctx := context.Background()
	_ = hub.Send(ctx, "notifications", map[string]string{"message": "Hello"})
	_ = hub.SendTo(ctx, connected.ClientID, map[string]string{"private": "message"})
	_ = hub.Broadcast(ctx, map[string]string{"announcement": "Server update"})

	for range 3 {
		ev, _ := events.Next()
		fmt.Printf("%s %s\n", ev.Name, ev.Data)
	}
	// Output:
	// message {"channel":"notifications","payload":{"message":"Hello"}}
	// message {"channel":"","payload":{"private":"message"}}
	// message {"channel":"","payload":{"announcement":"Server update"}}
}

// userKey is where the example's auth middleware stores the user.
type userKey struct{}

// Hooks see the request, so they can use what the application's auth
// middleware stored in its context. Returning an *ssevent.HTTPError with a
// 4xx status refuses; Identify binds each session to its user.
func ExampleConfig_hooks() {
	hub := ssevent.New(ssevent.Config{
		Identify: func(r *http.Request) (string, error) {
			user, _ := r.Context().Value(userKey{}).(string)
			if user == "" {
				return "", &ssevent.HTTPError{Code: http.StatusUnauthorized}
			}
			return user, nil
		},
		OnSubscribe: func(clientID, channel string, r *http.Request) error {
			if strings.HasPrefix(channel, "admin-") {
				return &ssevent.HTTPError{Code: http.StatusForbidden, Message: "admins only"} // listed as rejected
			}
			return nil
		},
	})
	defer hub.Close(context.Background())

	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user, _, ok := r.BasicAuth(); ok {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, user))
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(auth(hub))
	defer srv.Close()

	resp, _ := http.Get(srv.URL + "/events")
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output: 401
}

// Publishing to a client that does not exist is an error to test with
// errors.Is.
func ExampleHub_SendTo() {
	hub := ssevent.New(ssevent.Config{})
	defer hub.Close(context.Background())
	err := hub.SendTo(context.Background(), "no-such-client", "hi", "alert")
	fmt.Println(errors.Is(err, ssevent.ErrUnknownClient))
	// Output: true
}

// Serving with the timeouts a streaming endpoint wants, and a graceful
// shutdown. Streams end with their server: Shutdown ends them, each with a
// "reconnect" event whose delay is spread out, and returns. Hub.Close then
// releases the hub (it would also end the streams on its own).
func ExampleHub_Close() {
	hub := ssevent.New(ssevent.Config{})
	mux := http.NewServeMux()
	mux.Handle("/events", hub)
	srv := &http.Server{
		Addr:              "127.0.0.1:8080",
		Handler:           mux,
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
