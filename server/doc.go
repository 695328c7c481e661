// Package server is the ssevent hub for Echo v4: Server-Sent Events with
// channels, dynamic subscriptions, lossless reconnects and bounded memory.
//
// An application creates one Hub and mounts its handler on one route:
//
//	hub := server.New(server.Config{})
//	e.Any("/events", hub.Handler)
//
// GET on that route opens an event stream, POST subscribes and unsubscribes
// channels. The application publishes with Send (to a channel), SendTo (to
// one client) and Broadcast (to all). docs/PROTOCOL.md in the repository
// describes the wire contract.
//
// It is a thin adapter: the hub itself, its wire protocol and its
// guarantees are those of package github.com/ssevent/ssevent, the
// framework-free core, whose documentation tells how delivery, memory
// bounds and shutdown work. Hooks in Config see the request's
// echo.Context, so they can read what Echo middleware (echo-jwt, sessions)
// stored. Hub.Core gives the core hub, whose methods take a context.
//
// Do not register Echo's Timeout middleware on the events route, nor set
// http.Server.WriteTimeout: both end every stream.
package server
