// Package echov5 is the ssevent hub for Echo v5: Server-Sent Events with
// channels, dynamic subscriptions, lossless reconnects and bounded memory.
// It is a module of its own, github.com/ssevent/ssevent/echov5, so that
// the core's users do not depend on Echo v5; package server is the same
// adapter for Echo v4.
//
// An application creates one Hub and mounts its handler on one route:
//
//	e := echo.New()
//	hub := echov5.New(echov5.Config{})
//	e.Any("/events", hub.Handler)
//
// GET on that route opens an event stream, POST subscribes and unsubscribes
// channels. The application publishes with Send (to a channel), SendTo (to
// one client) and Broadcast (to all):
//
//	hub.Send("notifications", map[string]string{"message": "Hello"})
//	hub.SendTo(clientID, map[string]string{"private": "message"})
//	hub.Broadcast(map[string]string{"announcement": "Server update"})
//
// docs/PROTOCOL.md in the repository describes the wire contract.
//
// It is a thin adapter: the hub itself, its wire protocol and its
// guarantees are those of package github.com/ssevent/ssevent, the
// framework-free core, whose documentation tells how delivery, memory
// bounds and shutdown work. Hooks in Config see the request's
// *echo.Context, so they can read what Echo middleware (echo-jwt,
// sessions) stored, and refuse with echo.ErrUnauthorized,
// echo.ErrForbidden or an *echo.HTTPError. Hub.Core gives the core hub,
// whose methods take a context.
//
// # Concurrency
//
// All Hub methods are safe for concurrent use. Send, SendTo and Broadcast
// return once the event is queued for every recipient; they never block on
// the network with the default in-memory broker. The hooks run on the
// request's goroutine and may block that request only.
//
// # Serving and shutting down
//
// Handler returns when its stream ends, so Echo's RequestLogger records a
// stream with its whole duration and bytes. Streams end with the
// http.Server they came through: the hub watches it, and on Shutdown ends
// its streams, each with a "reconnect" event asking its client to come
// back after a spread-out delay. echo.StartConfig's graceful shutdown
// (GracefulTimeout, 10s by default) calls Shutdown when its context is
// done, so
//
//	sc := echo.StartConfig{Address: ":8080", GracefulTimeout: 10 * time.Second}
//	err := sc.Start(ctx, e) // ctx from signal.NotifyContext
//
// ends the streams at once and returns; Hub.Close then releases the hub.
// Do not apply the ContextTimeout middleware to the events route (it
// cancels the request's context, which ends the stream), nor set
// http.Server.WriteTimeout (echo.StartConfig leaves it at zero).
package echov5
