package wasmclient_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssevent/ssevent/wasmclient"
)

// A Go-WASM application connects, follows its channels and subscribes to
// more once connected.
func Example() {
	c := wasmclient.Connect("/events", wasmclient.Options{Channels: []string{"news"}})
	defer c.Close()

	c.On(wasmclient.EventConnected, func(ev wasmclient.Event) {
		if err := c.Subscribe("updates"); errors.Is(err, wasmclient.ErrRejected) {
			println("refused:", err.Error())
		}
	})
	c.On(wasmclient.EventMessage, func(ev wasmclient.Event) {
		println(ev.Channel, string(ev.Payload))
	})
	c.On("alert", func(ev wasmclient.Event) { // a custom event from SendTo or Broadcast
		println("alert", string(ev.Payload))
	})

	// Outside a browser the client stops at once with ErrUnsupported.
	if errors.Is(c.Err(), wasmclient.ErrUnsupported) {
		return
	}
	<-c.Done()
}

// Credentials that expire: HeaderFunc is called before every request, so
// each reconnection and each Subscribe carries the token of the moment, and
// after a 401 or 403 it is asked once more before the client gives up.
func Example_headerFunc() {
	token := func(ctx context.Context) (string, error) { return "t0k3n", nil } // the application's, refreshed as needed
	c := wasmclient.Connect("/events", wasmclient.Options{
		HeaderFunc: func(ctx context.Context) (map[string]string, error) {
			tok, err := token(ctx)
			if err != nil {
				return nil, err // the attempt fails and is tried again later
			}
			return map[string]string{"Authorization": "Bearer " + tok}, nil
		},
	})
	defer c.Close()

	c.On(wasmclient.EventChannels, func(ev wasmclient.Event) {
		println("the server set my channels:", len(ev.Channels)) // c.Channels() agrees
	})
	c.On(wasmclient.EventClosed, func(ev wasmclient.Event) {
		println("session ended:", ev.Closed.Reason) // the client stops with ErrSessionEnded
	})
	<-c.Done()
	if errors.Is(c.Err(), wasmclient.ErrSessionEnded) {
		println("signed out by the server")
	}
}

// The reconnection delay grows exponentially up to a cap; the wait is drawn
// between a tenth of the base and that ceiling.
func ExampleBackoff() {
	b := wasmclient.Backoff{Base: time.Second, Max: 10 * time.Second}
	for attempt := 1; attempt <= 5; attempt++ {
		fmt.Println(attempt, b.Ceiling(attempt), b.Delay(attempt, 0), b.Delay(attempt, 0.5))
	}
	// Output:
	// 1 1s 100ms 550ms
	// 2 2s 100ms 1.05s
	// 3 4s 100ms 2.05s
	// 4 8s 100ms 4.05s
	// 5 10s 100ms 5.05s
}

// Nothing waits for ever: a stream request unanswered within
// ConnectTimeout is abandoned and retried, and each Subscribe is bounded
// by RequestTimeout, or by the deadline of its ctx, and ends when its ctx
// is canceled.
func ExampleClient_SubscribeContext() {
	c := wasmclient.Connect("/events", wasmclient.Options{
		ConnectTimeout: 5 * time.Second,
		RequestTimeout: 5 * time.Second,
	})
	defer c.Close()
	c.On(wasmclient.EventError, func(ev wasmclient.Event) {
		if errors.Is(ev.Err, wasmclient.ErrConnectTimeout) {
			println("no answer yet; trying again")
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // replaces RequestTimeout
	defer cancel()
	switch err := c.SubscribeContext(ctx, "reports"); {
	case errors.Is(err, wasmclient.ErrTimeout):
		println("no answer within 30 s; the hub may still have applied it")
	case errors.Is(err, wasmclient.ErrAborted):
		println("canceled")
	case err != nil:
		println(err.Error())
	}
}
