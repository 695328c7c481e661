// Package ssevent is a Server-Sent Events hub for Go web servers: channels,
// dynamic subscriptions, lossless reconnects, several instances as one over
// a shared broker, and bounded memory.
//
// This package is the framework-free core, on net/http. An application
// creates one Hub and mounts it, an http.Handler, on one route:
//
//	hub := ssevent.New(ssevent.Config{})
//	mux.Handle("/events", hub)
//
// Echo applications use the adapters instead, which give the hooks the
// framework's context: package server for Echo v4 (e.Any("/events",
// hub.Handler)) and module github.com/ssevent/ssevent/echov5 for Echo v5.
//
// GET on that route opens an event stream, POST subscribes and unsubscribes
// channels. The application publishes with Send (to a channel), SendTo (to
// one client) and Broadcast (to all). docs/PROTOCOL.md in the repository
// describes the wire contract.
//
// # Delivery
//
// Every event for the application carries an id, "<epoch>-<seq>", whose
// sequence number grows across the hub and whose epoch names the hub's
// sequence, so that an id from another hub or from before a restart is
// never mistaken for a position. Publishing never waits for a client: each
// stream has a queue of pre-encoded events shared with the other streams,
// bounded by Config.QueueSize and Config.QueueMaxBytes, drained into as few
// writes as possible.
//
// A stream on net/http's own HTTP/1.1 response writer (directly, or under
// a framework adapter's writer, a BypassCounter) is taken over from
// net/http after the headers: a small pool of writers drains the streams
// that have events queued, one write per wake-up (a write that would block
// finishes on a goroutine of its own, under Config.WriteTimeout). Its
// request goroutine waits in ServeHTTP, watching the connection, until the
// stream ends, so that middleware (access logs, Recover, tracing) sees the
// stream's whole life; Config.ReleaseHandler lets it return at the
// takeover instead, for a third of the memory. HTTP/2, TLS, and response
// writers wrapped by other middleware keep the request goroutine as the
// stream's writer (Config.DisableTakeover forces this everywhere).
//
// A client whose queue passes its bounds is disconnected; when it
// reconnects with Last-Event-ID it gets everything it missed from the
// hub's bounded history, in order, with no duplicate. A replay reads the
// history a page at a time as the client takes it, so it is never cut for
// the size of its backlog. A client that reconnects with its clientId
// within Config.ResumeWindow keeps its id, its channels and its private
// messages.
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
// (it breaks streaming). Streams end with the http.Server they came
// through: the hub watches it, and on Shutdown or Close ends its streams
// with a "reconnect" event (shutdown.go), so Shutdown does not wait for
// them and nothing needs registering.
package ssevent
