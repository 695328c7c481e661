// Package server is the ssevent hub: Server-Sent Events for Echo with
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
// # Delivery
//
// Every event for the application carries an id that grows across the hub.
// Publishing never waits for a client: each stream has a bounded queue of
// pre-encoded events, drained into as few writes as possible. A stream on
// net/http's own HTTP/1.1 response writer is detached from its request
// after the headers: its request goroutine returns, and a small pool of
// writers drains the streams that have events queued (a write that would
// block finishes on a goroutine of its own, under Config.WriteTimeout). Such
// a stream is no longer tracked by the http.Server: Hub.Close ends it.
// HTTP/2, TLS and response writers wrapped by middleware keep the request
// goroutine as the stream's writer. A client whose queue fills is disconnected;
// when it reconnects with Last-Event-ID it gets everything it missed from the
// hub's bounded history, in order, with no duplicate. A client that
// reconnects with its clientId within Config.ResumeWindow keeps its id, its
// channels and its private messages.
//
// # Concurrency
//
// All Hub methods are safe for concurrent use. Send, SendTo and Broadcast
// return once the event is queued for every recipient; they never block on
// the network with the default in-memory broker. The hooks in Config run on
// the request's goroutine and may block that request only.
//
// # Serving
//
// Set ReadHeaderTimeout and IdleTimeout on the http.Server, but not
// WriteTimeout (it would end every stream) nor Echo's Timeout middleware
// (it breaks streaming). Call Close from http.Server.RegisterOnShutdown,
// because Shutdown otherwise waits for open streams forever.
package server
